import type { ClientContext } from './context.js';
import { failure } from './context.js';
import { RegistryError } from './errors.js';
import type { HttpResponse } from './http-agent.js';
import { discard } from './http-send.js';
import { isCallerAbort, networkProblem } from './net-errors.js';
import { backoffDelay, retryableStatus, retryAfterMs, sleep } from './retry.js';

/**
 * Runs `attempt` until it gives a response that is not worth retrying, at most retry.attempts
 * times: 5xx (not 501/505), 408 and 429 are retried after a backoff (429 and 503 after their
 * Retry-After, capped), and so are connection resets and timeouts. The last response is returned
 * whatever its status; a network error that outlives the tries is a RegistryError ('network' or
 * 'tls') naming `source` and `what`. The caller's abort is thrown as it is.
 */
export async function withRetries(ctx: ClientContext, what: string, source: string, attempt: () => Promise<HttpResponse>, signal?: AbortSignal): Promise<HttpResponse> {
  for (let i = 1; ; i++) {
    let res: HttpResponse;
    try {
      res = await attempt();
    } catch (err) {
      if (err instanceof RegistryError || isCallerAbort(err, signal)) throw err;
      const p = networkProblem(err);
      if (!p.retryable || i >= ctx.retry.attempts) {
        throw failure(ctx, source, p.tls ? 'tls' : 'network', `${what}: ${p.text}${i > 1 ? ` (after ${i} tries)` : ''}`);
      }
      const delayMs = backoffDelay(ctx.retry, i);
      ctx.onEvent({ type: 'retry', what, attempt: i, delayMs, reason: p.text });
      await sleep(delayMs, signal);
      continue;
    }
    if (!retryableStatus(res.status) || i >= ctx.retry.attempts) return res;
    const hinted = res.status === 429 || res.status === 503 ? retryAfterMs(res.header('retry-after'), ctx.retry) : undefined;
    const delayMs = hinted ?? backoffDelay(ctx.retry, i);
    await discard(res);
    ctx.onEvent({ type: 'retry', what, attempt: i, delayMs, reason: `status ${res.status}` });
    await sleep(delayMs, signal);
  }
}
