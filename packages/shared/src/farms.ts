import { CatalogueError, type Catalogue } from './catalogue.ts';
import type { Config } from './config.ts';
import type { JobKind } from './jobs.ts';

/** The farm a kind submits to, with the setting that says where it is; undefined for other kinds. */
export function farmOfKind(kind: JobKind): { farm: 'flamenco' | 'afanasy'; setting: string } | undefined {
  switch (kind) {
    case 'render.flamenco':
      return { farm: 'flamenco', setting: 'FLAMENCO_URL' };
    case 'render.cgru':
      return { farm: 'afanasy', setting: 'AFANASY_HOST' };
    case 'debug':
      return undefined;
  }
}

/**
 * A render action whose farm is not configured stops the start-up (receiver and worker), rather than
 * accepting clicks that can never render. Loading the catalogue itself needs no farm.
 */
export function checkCatalogueFarms(
  catalogue: Catalogue,
  config: Pick<Config, 'farms' | 'actionsFile'>,
): void {
  const problems = catalogue.actions.flatMap((action, index) => {
    const needs = farmOfKind(action.kind);
    if (needs === undefined || config.farms[needs.farm] !== undefined) return [];
    return [
      `actions[${index}] "${action.id}" (kind ${action.kind}) needs ${needs.setting}, which is not set: set it, or remove the action from the catalogue`,
    ];
  });
  if (problems.length > 0) throw new CatalogueError(config.actionsFile, problems);
}
