import type { ClientContext } from './context.js';
import { failure, shownUrl } from './context.js';
import { RequestTimeout } from './net-errors.js';

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Redirects followed per request (registry -> storage is one). */
export const MAX_REDIRECTS = 5;

export interface SendSpec {
  method: 'GET' | 'HEAD';
  url: URL;
  headers: Record<string, string>;
  /** An Authorization value sent only to `origin`: a redirect elsewhere (blob storage) never gets it. */
  authorization?: { origin: string; value: string };
  signal?: AbortSignal;
  /** Names the request in errors. */
  source: string;
}

/**
 * One request, redirects followed by hand so that Authorization stays with its origin. Returns
 * the first non-redirect response (its body unread) and the URL that gave it. The response
 * headers must arrive within timeouts.headersMs; transport errors are thrown as they are.
 */
export async function sendOnce(ctx: ClientContext, spec: SendSpec): Promise<{ res: Response; url: URL }> {
  const transport = await ctx.transport();
  let url = spec.url;
  for (let hop = 0; ; hop++) {
    const headers = new Headers(spec.headers);
    headers.set('user-agent', ctx.userAgent);
    if (spec.authorization && url.origin === spec.authorization.origin) headers.set('authorization', spec.authorization.value);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new RequestTimeout(`no response from ${url.origin} within ${ctx.timeouts.headersMs} ms`)), ctx.timeouts.headersMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout.signal]) : timeout.signal;
    ctx.onEvent({ type: 'request', method: spec.method, url: shownUrl(url) });
    let res: Response;
    try {
      res = await transport(url.href, { method: spec.method, headers, redirect: 'manual', signal });
    } finally {
      clearTimeout(timer);
    }
    if (!REDIRECTS.has(res.status)) return { res, url };
    const location = res.headers.get('location');
    await discard(res);
    if (!location) throw failure(ctx, spec.source, 'protocol', `${shownUrl(url)} answered ${res.status} without a Location`, res.status);
    if (hop >= MAX_REDIRECTS) throw failure(ctx, spec.source, 'protocol', `more than ${MAX_REDIRECTS} redirects from ${shownUrl(spec.url)}`, res.status);
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw failure(ctx, spec.source, 'protocol', `${shownUrl(url)} redirects to an invalid URL`, res.status);
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:') throw failure(ctx, spec.source, 'protocol', `${shownUrl(url)} redirects to a ${next.protocol} URL`, res.status);
    ctx.onEvent({ type: 'redirect', from: shownUrl(url), to: shownUrl(next) });
    url = next;
  }
}

/** Drops a response's body (read to the end when small, so the connection is kept alive). */
export async function discard(res: Response): Promise<void> {
  await readLimited(res, 65536).catch(() => undefined);
}

/**
 * A body of at most `limit` bytes, or undefined when it is longer (the rest is not read: the
 * connection is closed instead). Errors while reading are thrown.
 */
export async function readLimited(res: Response, limit: number): Promise<Uint8Array | undefined> {
  if (!res.body) return new Uint8Array(0);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body.cancel().catch(() => undefined);
    return undefined;
  }
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      parts.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
