import { CatalogueError, type Catalogue } from './catalogue.ts';
import type { Config } from './config.ts';
import { jobKinds } from './kinds/index.ts';
import { schemeOf } from './launch-url.ts';

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

/**
 * A launch action whose URL scheme is not in LAUNCH_SCHEMES stops the start-up (receiver and worker): the
 * catalogue itself refuses the schemes never allowed (javascript:, data:, file:, http(s):…).
 */
export function checkCatalogueSchemes(
  catalogue: Catalogue,
  config: Pick<Config, 'launchSchemes' | 'actionsFile'>,
): void {
  const allowed = new Set(config.launchSchemes);
  const problems = catalogue.actions.flatMap((action, index) => {
    if (action.kind !== 'launch') return [];
    const { url } = jobKinds.launch.options.parse(action.options);
    const scheme = schemeOf(url) ?? '';
    if (allowed.has(scheme)) return [];
    return [
      `actions[${index}] "${action.id}" opens ${scheme}: URLs, and LAUNCH_SCHEMES allows ${config.launchSchemes.map((name) => `${name}:`).join(', ') || 'none'}: add ${scheme} to LAUNCH_SCHEMES, or remove the action from the catalogue`,
    ];
  });
  if (problems.length > 0) throw new CatalogueError(config.actionsFile, problems);
}

/**
 * A webhook action whose secret's variable is unset (or too short to be a secret) on the worker stops the
 * worker's start-up; the receiver never signs anything and does not need it.
 */
export function checkCatalogueSecrets(
  catalogue: Catalogue,
  env: Readonly<Record<string, string | undefined>>,
  actionsFile: string,
): void {
  const problems = catalogue.actions.flatMap((action, index) => {
    if (action.kind !== 'webhook') return [];
    const { secretEnv } = jobKinds.webhook.options.parse(action.options);
    const secret = env[secretEnv] ?? '';
    if (secret.length >= 16) return [];
    return [
      `actions[${index}] "${action.id}" signs its deliveries with ${secretEnv}, which is ${secret === '' ? 'not set' : 'shorter than 16 characters'} on this worker: set it to a long random secret, the same one the receiving side checks`,
    ];
  });
  if (problems.length > 0) throw new CatalogueError(actionsFile, problems);
}
