import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** The query parameter that carries a job's capability (AUTH_MODE=token). */
export const capabilityParam = 'cap';

/**
 * Per-job capabilities under AUTH_MODE=token: an HMAC of the job id, keyed from ACTIONS_TOKEN. Only the
 * holder of the token can make one; it opens that job (status, result, cancel) and nothing else, and
 * dies with the job (ids are random and never reused).
 */
export interface JobCapabilities {
  of(jobId: string): string;
  check(jobId: string, given: string): boolean;
}

export function jobCapabilities(actionsToken: string): JobCapabilities {
  // A key of its own, so a capability never says anything about the token itself.
  const key = createHmac('sha256', actionsToken).update('kitsu-actions job capability v1').digest();
  const of = (jobId: string): string => createHmac('sha256', key).update(jobId).digest('base64url');
  const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
  return {
    of,
    // Hashing first gives equal lengths, so timingSafeEqual never throws and leaks no length.
    check: (jobId, given) => timingSafeEqual(digest(of(jobId)), digest(given)),
  };
}
