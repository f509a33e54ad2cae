export {
  FarmError,
  FarmJobGoneError,
  FarmJobRef,
  FarmJobStatus,
  FarmRejectedError,
  FarmResponseError,
  FarmUnavailableError,
  carriesSubmissionKey,
  farmJobFields,
  legacyFarmJobFields,
  type CancelOptions,
  type FarmCallOptions,
  type FarmLogger,
  type RenderFarm,
} from './farm.ts';
export { FlamencoFarm, type FlamencoFarmOptions } from './flamenco.ts';
export { FlamencoJobInfo, FlamencoJobStatusValue, FlamencoSubmittedJob } from './flamenco-wire.ts';
export { AfanasyBlock, AfanasyFarm, AfanasyJob, type AfanasyFarmOptions } from './afanasy.ts';
export { defaultRetryPolicy, type RetryPolicy } from '@kitsu-actions/shared';
export { createFarms, type FarmRuntime } from './runtime.ts';
