import type { Catalogue, JobQueues, VerifiedRequest } from '@kitsu-actions/shared';

/** Queues a one-task AJAX click on the catalogue's action `actionId`, as the receiver would; its job id. */
export async function enqueueClick(
  queues: JobQueues,
  catalogue: Catalogue,
  actionId: string,
): Promise<string> {
  const action = catalogue.actions.find((item) => item.id === actionId);
  if (action === undefined) throw new Error(`no action ${actionId}`);
  const request: VerifiedRequest = {
    actionId: action.id,
    personId: 'b01bae1e-f829-458a-a1eb-131bb66628cc',
    taskIds: ['95c171e1-dfff-498f-93e3-548a739e3202'],
    entityType: 'shot',
    origin: {},
    mode: 'ajax',
    receivedAt: new Date().toISOString(),
  };
  return (await queues.enqueue(action, request)).id;
}
