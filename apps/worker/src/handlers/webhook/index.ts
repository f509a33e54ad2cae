import { createHmac } from 'node:crypto';
import { UnrecoverableError } from 'bullmq';
import { handedOn, readSelection, refusedKinds } from '../../render/plan.ts';
import type { Handler } from '../types.ts';

/** Headers of a delivery: the receiving side checks the signature over `<timestamp>.<body>`. */
export const webhookHeaders = {
  delivery: 'X-Kitsu-Actions-Delivery',
  timestamp: 'X-Kitsu-Actions-Timestamp',
  signature: 'X-Kitsu-Actions-Signature',
} as const;

/** `sha256=<hex>`: the HMAC-SHA256, with `secret`, of the timestamp, a ".", and the body as sent. */
export function signatureOf(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Most of an answer's body kept on the job, for a person to read why it was refused. */
const answerExcerptChars = 500;
/** Redirects followed: 307 and 308 only, to the same origin only. */
const maxRedirects = 3;

const excerpt = (text: string): string =>
  text.length > answerExcerptChars ? `${text.slice(0, answerExcerptChars)}…` : text;

/**
 * The `webhook` kind: POSTs the request as kitsu-actions verified it, with what Kitsu knows of each task,
 * signed, to the action's URL. The delivery id is the job's id, the same on every attempt, so the other
 * side drops a delivery it has already taken; network errors and 5xx answers are retried (the job's
 * attempts), a 4xx is final, and a redirect is followed only with its method (307, 308) to the same origin.
 */
export const webhookHandler: Handler<'webhook'> = async ({
  job,
  data,
  zou,
  options,
  signal,
  progress,
  log,
}) => {
  const secret = process.env[options.secretEnv] ?? '';
  if (secret === '') {
    throw new UnrecoverableError(
      `"${data.action.name}" signs its deliveries with ${options.secretEnv}, which is not set on this worker.`,
    );
  }
  if (zou === undefined) {
    throw new UnrecoverableError(
      `"${data.action.name}" sends what Kitsu knows of the tasks, and this worker has no Kitsu configured: set KITSU_URL and KITSU_BOT_TOKEN on the worker.`,
    );
  }
  const deliveryId = job.id ?? '';
  await progress(0, 'Reading the selection from Kitsu');
  const { places, refused } = await readSelection({
    zou,
    data,
    jobId: deliveryId,
    signal,
    nothingDone: 'nothing was sent.',
    allowEntityTypes: options.allowEntityTypes,
  });
  if (refused.size > 0) {
    const problems = refusedKinds(refused, data.action.name, 'sends', options.allowEntityTypes ?? []);
    throw new UnrecoverableError(`Nothing was sent: ${problems.join('; ')}.`);
  }
  const body = JSON.stringify({
    deliveryId,
    action: { id: data.action.id, name: data.action.name },
    request: data.request,
    tasks: places.map(handedOn),
  });

  const origin = new URL(options.url).origin;
  let url = options.url;
  await progress(50, `Sending the selection to ${origin}`);
  for (let redirects = 0; ; redirects += 1) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]),
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'kitsu-actions',
          [webhookHeaders.delivery]: deliveryId,
          [webhookHeaders.timestamp]: timestamp,
          [webhookHeaders.signature]: signatureOf(secret, timestamp, body),
        },
        body,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      // Retried by the job's attempts, with the same delivery id.
      throw new Error(
        `${origin} could not be reached: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    const answer = excerpt(await response.text());
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      const next = new URL(location, url);
      const followable = (response.status === 307 || response.status === 308) && next.origin === origin;
      if (!followable || redirects >= maxRedirects) {
        throw new UnrecoverableError(
          `${origin} answered HTTP ${response.status}, a redirect to ${next.href}, which is not followed (only 307 and 308 to the same host are, ${maxRedirects} at most).`,
        );
      }
      url = next.href;
      continue;
    }
    if (response.status >= 500) {
      throw new Error(`${origin} failed to take the delivery: HTTP ${response.status} ${answer}`);
    }
    if (response.status < 200 || response.status >= 300) {
      throw new UnrecoverableError(`${origin} refused the delivery: HTTP ${response.status} ${answer}`);
    }
    log.info({ deliveryId, url, status: response.status }, 'webhook delivered');
    const summary = `Delivered to ${origin} (HTTP ${response.status})`;
    await progress(100, summary);
    return { type: 'webhook', summary, links: [], deliveryId, url, status: response.status, answer };
  }
};
