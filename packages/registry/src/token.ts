import type { ClientContext } from './context.js';
import { failure } from './context.js';
import type { Credentials } from './credentials-value.js';
import { readLimited, sendOnce } from './http-send.js';
import { parseJsonObject } from './manifest.js';
import { withRetries } from './retrying.js';

/** A token request, from a Bearer challenge and the scope a request needs. */
export interface TokenRequest {
  realm: string;
  service?: string;
  /** `repository:NAME:pull`. */
  scope: string;
  credentials?: Credentials;
  /** Where the credentials came from, for errors (`--creds`, an auth file). */
  credentialSource?: string;
}

/** Token lifetime assumed when the server states none or less (the token spec's minimum). */
export const MIN_TOKEN_SECONDS = 60;
/** A token this close to expiry is not used again. */
const EXPIRY_MARGIN_MS = 5_000;
const MAX_TOKEN_BODY = 1 << 20;

interface Cached {
  token: string;
  expiresAt: number;
}

/**
 * Bearer tokens per (realm, service, scope, user), fetched as docs/spec/auth/token.md describes
 * (GET realm?service=...&scope=..., Basic credentials when there are any) and reused until they
 * expire. Concurrent requests for the same scope share one fetch.
 */
export class TokenCache {
  readonly #tokens = new Map<string, Cached>();
  readonly #pending = new Map<string, Promise<Cached>>();

  constructor(private readonly ctx: ClientContext) {}

  #key(r: TokenRequest): string {
    return [r.realm, r.service ?? '', r.scope, r.credentials?.username ?? ''].join('\n');
  }

  invalidate(r: TokenRequest): void {
    this.#tokens.delete(this.#key(r));
  }

  async get(r: TokenRequest, source: string, signal?: AbortSignal): Promise<string> {
    const key = this.#key(r);
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt - Date.now() > EXPIRY_MARGIN_MS) return cached.token;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#fetch(r, source, signal).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const got = await pending;
    this.#tokens.set(key, got);
    return got.token;
  }

  async #fetch(r: TokenRequest, source: string, signal?: AbortSignal): Promise<Cached> {
    const ctx = this.ctx;
    let url: URL;
    try {
      url = new URL(r.realm);
    } catch {
      throw failure(ctx, source, 'protocol', 'the Bearer challenge names an invalid realm URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw failure(ctx, source, 'protocol', `the Bearer realm is a ${url.protocol} URL`);
    if (r.service !== undefined) url.searchParams.append('service', r.service);
    url.searchParams.append('scope', r.scope);
    if (r.credentials) url.searchParams.append('account', r.credentials.username);
    const what = `token for ${r.scope} from ${url.origin}`;
    ctx.onEvent({ type: 'token', realm: `${url.origin}${url.pathname}`, scope: r.scope });
    const authorization = r.credentials ? { origin: url.origin, value: r.credentials.basic() } : undefined;
    const started = Date.now();
    const res = await withRetries(ctx, what, source, async () => (await sendOnce(ctx, { method: 'GET', url, headers: { accept: 'application/json' }, authorization, signal, source })).res, signal);
    const body = await readLimited(res, MAX_TOKEN_BODY);
    if (res.status === 401 || res.status === 403) {
      throw r.credentials
        ? failure(ctx, source, 'unauthorized', `the token server ${url.origin} refused the credentials from ${r.credentialSource ?? 'the caller'} (${res.status})`, res.status)
        : failure(ctx, source, 'unauthorized', `the token server ${url.origin} requires credentials (${res.status}); give --creds USER:PASS or an auth file`, res.status);
    }
    if (res.status !== 200) throw failure(ctx, source, 'server', `${what}: status ${res.status}`, res.status);
    if (!body) throw failure(ctx, source, 'protocol', `${what}: the answer is larger than ${MAX_TOKEN_BODY} bytes`);
    const json = parseJsonObject(body, source, `the token server's answer`);
    const token = typeof json.token === 'string' && json.token !== '' ? json.token : typeof json.access_token === 'string' && json.access_token !== '' ? json.access_token : undefined;
    if (token === undefined) throw failure(ctx, source, 'protocol', `${what}: the answer has neither token nor access_token`);
    ctx.redactor.add(token);
    const seconds = typeof json.expires_in === 'number' && Number.isFinite(json.expires_in) ? Math.max(MIN_TOKEN_SECONDS, json.expires_in) : MIN_TOKEN_SECONDS;
    const issued = typeof json.issued_at === 'string' ? Date.parse(json.issued_at) : NaN;
    return { token, expiresAt: (Number.isNaN(issued) ? started : issued) + seconds * 1000 };
  }
}
