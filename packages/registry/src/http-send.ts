import type { ClientContext } from './context.js';
import { failure, shownUrl } from './context.js';
import type { HttpResponse } from './http-agent.js';
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
export async function sendOnce(ctx: ClientContext, spec: SendSpec): Promise<{ res: HttpResponse; url: URL }> {
  const agent = await ctx.agent();
  let url = spec.url;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { ...spec.headers, 'user-agent': ctx.userAgent };
    if (spec.authorization && url.origin === spec.authorization.origin) headers.authorization = spec.authorization.value;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new RequestTimeout(`no response from ${url.origin} within ${ctx.timeouts.headersMs} ms`)), ctx.timeouts.headersMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout.signal]) : timeout.signal;
    ctx.onEvent({ type: 'request', method: spec.method, url: shownUrl(url) });
    let res: HttpResponse;
    try {
      res = await agent.send(url, spec.method, headers, signal);
    } finally {
      clearTimeout(timer);
    }
    if (!REDIRECTS.has(res.status)) return { res, url };
    const location = res.header('location');
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
export async function discard(res: HttpResponse): Promise<void> {
  await res.body.dump({ limit: 65536 }).catch(() => undefined);
}

/**
 * A body of at most `limit` bytes, or undefined when it is longer (the rest is not read: the
 * connection is closed instead). Errors while reading are thrown.
 */
export async function readLimited(res: HttpResponse, limit: number): Promise<Uint8Array | undefined> {
  const declared = Number(res.header('content-length') ?? NaN);
  if (declared > limit) {
    res.body.destroy();
    return undefined;
  }
  const parts: Buffer[] = [];
  let total = 0;
  // Leaving the loop early destroys the body.
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) return undefined;
    parts.push(chunk);
  }
  // A copy of its own: a small Buffer.concat would be a view into Node's shared pool.
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
