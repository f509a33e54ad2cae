export { AuthMode, Config, ConfigError, loadConfig, repoRoot } from './config.ts';
export { createLogger, redactedPaths, type Logger } from './logger.ts';
export { SafeHtml, escapeHtml, html, page } from './html.ts';
export {
  FarmCancelMode,
  FarmJobState,
  FarmKind,
  SubmitterPlatform,
  farmNames,
  finalFarmStates,
} from './farm-vocabulary.ts';
export {
  ActionRequest,
  EntityType,
  RequestMode,
  RequestProblem,
  knownKitsuFields,
  missingPerson,
  normalizeKitsuRequest,
  preview,
  VerifiedRequest,
  type NormalizeContext,
  type RequestProblemCode,
} from './kitsu-request.ts';
export { ActionSnapshot, JobData, JobProgress, RawRequest } from './jobs.ts';
export {
  QueueName,
  ResultBase,
  StatusResult,
  defineKind,
  queuePolicies,
  resultFileTypes,
  type FarmNeed,
  type ResultFileFormat,
  type KindManifest,
  type QueuePolicy,
  type ResultDescription,
} from './kinds/define.ts';
export { PageResult, describePage } from './kinds/results.ts';
export { DebugOptions } from './kinds/debug.ts';
export { LaunchOptions, LaunchResult, LaunchTarget } from './kinds/launch.ts';
export { WebhookOptions, WebhookResult } from './kinds/webhook.ts';
export { ScriptOptions, ScriptResult } from './kinds/script.ts';
export { forbiddenSchemes, LaunchUrl, renderLaunchUrl, schemeOf, UrlScheme } from './launch-url.ts';
export { sortableTablesElement, sortableTablesScript, sortableTablesSource } from './sortable.ts';
export {
  JobKind,
  jobKinds,
  kindManifests,
  kindSchemas,
  manifestOf,
  queuesOfKinds,
  type KindOptions,
  type KindResult,
  type ManifestOf,
} from './kinds/index.ts';
export {
  ActionMethod,
  Catalogue,
  CatalogueAction,
  CatalogueAllow,
  CatalogueEntityType,
  CatalogueError,
  KitsuRole,
  loadCatalogue,
  parseCatalogue,
} from './catalogue.ts';
export {
  JobQueues,
  jobDataOf,
  QueueUnavailableError,
  createRedis,
  queueOfJobId,
  type EnqueueResult,
  type JobFilter,
  type RedisRole,
} from './queues.ts';
export {
  JobListEntry,
  JobState,
  JobStatusView,
  JobSummary,
  Link,
  absoluteJobLinks,
  finalStates,
  listEntryOf,
  makesPages,
  projectIdsOf,
  recordOfJob,
  relativeJobLinks,
  resultSummaryOf,
  stateOf,
  statusViewOf,
  summaryOf,
  toStatusView,
  type BullState,
  type JobLinks,
  type JobRecord,
} from './status.ts';
export { bullJobKey, recordJobFields, scopeOf } from './job-index.ts';
export { capabilityParam, jobCapabilities, type JobCapabilities } from './capability.ts';
export { exitConfig, runService, type Stop } from './service.ts';
export { formatBytes, jsonBytes } from './sizes.ts';
export { ReportOutcome, ReportSettings } from './report.ts';
export {
  CancelOutcome,
  CancelRequest,
  JobCancelled,
  abortReasonOf,
  cancelChannel,
  cancelKey,
  cancelOf,
  cancelReason,
  cancelledField,
  endedCancelled,
  cancelReasonPrefix,
  outcomeOfRequest,
  parseCancelRequest,
} from './cancel.ts';
export {
  CgruRenderOptions,
  FlamencoRenderOptions,
  RenderEntityType,
  RenderResult,
  RenderShotResult,
  describeRender,
  renderJobOptions,
  Template,
  TemplateValueError,
  numericTemplateFields,
  parseTemplate,
  renderTemplate,
  renderTemplateText,
  templateFields,
  type TemplateField,
  type TemplateValues,
} from './render.ts';
export { checkCatalogueFarms, checkCatalogueSchemes, checkCatalogueSecrets } from './farms.ts';
export {
  backoffMs,
  defaultRetryPolicy,
  errorCode,
  isNotSent,
  networkReason,
  parseRetryAfter,
  RetryableAnswer,
  retrying,
  sleep,
  type HttpAnswer,
  type RetryingPolicy,
  type RetryPolicy,
  type RetryVerdict,
} from './retry.ts';
