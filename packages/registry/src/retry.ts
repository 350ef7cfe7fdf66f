/** How often and how long requests are retried; every loop is bounded in count and in time. */
export interface RetryPolicy {
  /** Tries per request, the first included (5xx, 429, connection resets and timeouts). */
  attempts: number;
  /** The first backoff; it doubles per retry, with up to 25% jitter. */
  baseDelayMs: number;
  /** The longest backoff between two tries. */
  maxDelayMs: number;
  /** The longest Retry-After honoured (a longer one is cut to this). */
  maxRetryAfterMs: number;
  /** Resumes of one blob after dropped or stalled connections. */
  maxResumes: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 500, maxDelayMs: 10_000, maxRetryAfterMs: 60_000, maxResumes: 8 };

/** Statuses worth another try: 408, 429 and the 5xx that mean "not now" (not 501, 505). */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599 && status !== 501 && status !== 505);
}

/** The wait before try `attempt` (1 = the first retry). */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 + Math.random() * 0.25));
}

/**
 * Retry-After in milliseconds (delta-seconds or an HTTP date), capped at maxRetryAfterMs;
 * undefined when absent or unreadable (the caller then backs off as usual).
 */
export function retryAfterMs(value: string | null, policy: RetryPolicy, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  let ms: number | undefined;
  if (/^[0-9]{1,10}$/.test(v)) ms = Number(v) * 1000;
  else {
    const t = Date.parse(v);
    if (!Number.isNaN(t) && /[a-z]/i.test(v)) ms = Math.max(0, t - now);
  }
  return ms === undefined ? undefined : Math.min(ms, policy.maxRetryAfterMs);
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
