import type { Catalogue, CatalogueAction, Config, JobQueues, Logger } from '@kitsu-actions/shared';

/** Everything buildApp needs, made by main.ts (or a test); the app itself reads no environment. */
export interface AppDeps {
  config: Pick<Config, 'publicUrl' | 'kitsuOrigins' | 'requests' | 'statusRefreshSeconds'>;
  catalogue: Catalogue;
  queues: JobQueues;
  logger: Logger;
}

export function findAction(catalogue: Catalogue, id: string): CatalogueAction | undefined {
  return catalogue.actions.find((action) => action.id === id);
}
