import { CatalogueError, type Catalogue } from './catalogue.ts';
import type { Config } from './config.ts';
import { jobKinds } from './kinds/index.ts';

/**
 * A render action whose farm is not configured stops the start-up (receiver and worker), rather than
 * accepting clicks that can never render. Loading the catalogue itself needs no farm.
 */
export function checkCatalogueFarms(
  catalogue: Catalogue,
  config: Pick<Config, 'farms' | 'actionsFile'>,
): void {
  const problems = catalogue.actions.flatMap((action, index) => {
    const needs = jobKinds[action.kind].farm;
    if (needs === undefined || config.farms[needs.farm] !== undefined) return [];
    return [
      `actions[${index}] "${action.id}" (kind ${action.kind}) needs ${needs.setting}, which is not set: set it, or remove the action from the catalogue`,
    ];
  });
  if (problems.length > 0) throw new CatalogueError(config.actionsFile, problems);
}
