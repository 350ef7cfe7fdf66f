import type { ClientContext } from './context.js';
import { failure } from './context.js';
import type { CredentialLookup } from './credentials.js';
import { RegistryError } from './errors.js';
import type { HttpResponse } from './http-agent.js';
import { discard, readLimited, sendOnce } from './http-send.js';
import { apiHost } from './reference.js';
import { withRetries } from './retrying.js';
import { TokenCache } from './token.js';
import type { Challenge } from './www-authenticate.js';
import { parseChallenges } from './www-authenticate.js';

export interface EndpointRequest {
  method: 'GET' | 'HEAD';
  /** Path and query under the registry's origin: `/v2/NAME/manifests/TAG`. */
  path: string;
  headers: Record<string, string>;
  repository: string;
  /** Names the request in errors: `manifest for tag 'latest'`, `blob sha256:...`. */
  what: string;
  /** The reference errors name. */
  source: string;
  signal?: AbortSignal;
}

/** The challenge the client answers: Bearer when offered (with a realm), else Basic. */
function usable(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}

/**
 * One registry's distribution API as the client sees it: which scheme answers (HTTPS; with
 * tlsVerify false, HTTP when HTTPS fails, as containers/image decides: `GET /v2/` over https
 * first, then http), the challenge it sets, and authenticated requests with retries.
 */
export class Endpoint {
  readonly host: string;
  #probe?: Promise<string>;
  #challenge?: Challenge;
  readonly #lookups = new Map<string, CredentialLookup>();
  readonly #tokens: TokenCache;

  constructor(
    private readonly ctx: ClientContext,
    readonly registry: string,
  ) {
    this.host = apiHost(registry);
    this.#tokens = new TokenCache(ctx);
  }

  /** The origin (`https://host[:port]`) that answered `GET /v2/`. */
  origin(source: string, signal?: AbortSignal): Promise<string> {
    this.#probe ??= this.#ping(source, signal).catch((err: unknown) => {
      this.#probe = undefined;
      throw err;
    });
    return this.#probe;
  }

  async #ping(source: string, signal?: AbortSignal): Promise<string> {
    const ctx = this.ctx;
    const problems: string[] = [];
    let tls = false;
    for (const scheme of ctx.tlsVerify ? ['https'] : ['https', 'http']) {
      const url = new URL(`${scheme}://${this.host}/v2/`);
      try {
        const res = await withRetries(ctx, `GET /v2/ over ${scheme}`, source, async () => (await sendOnce(ctx, { method: 'GET', url, headers: {}, signal, source })).res, signal);
        if (res.status === 200 || res.status === 401) {
          const header = res.header('www-authenticate');
          await discard(res);
          if (res.status === 401 && header !== null) this.#challenge = usable(parseChallenges(header, `${source}: WWW-Authenticate`));
          ctx.onEvent({ type: 'scheme', registry: this.registry, origin: url.origin });
          return url.origin;
        }
        await discard(res);
        problems.push(`GET /v2/ over ${scheme}: status ${res.status}, not a registry`);
      } catch (err) {
        if (!(err instanceof RegistryError) || (err.kind !== 'network' && err.kind !== 'tls')) throw err;
        tls ||= err.kind === 'tls';
        problems.push(err.problem);
      }
    }
    const hint = ctx.tlsVerify && tls ? '; for a plain-HTTP or self-signed registry use tlsVerify: false (--tls-verify=false)' : '';
    throw failure(ctx, source, tls && problems.length === 1 ? 'tls' : 'network', `cannot reach the registry ${this.host}: ${problems.join('; ')}${hint}`);
  }

  /** Credentials for a repository, looked up once; their secrets are registered with the redactor. */
  lookup(repository: string): CredentialLookup {
    let l = this.#lookups.get(repository);
    if (!l) {
      l = this.ctx.credentials(this.registry, repository);
      if (l.credentials) {
        this.ctx.redactor.add(l.credentials.password);
        this.ctx.redactor.add(l.credentials.basic().slice('Basic '.length));
      }
      this.#lookups.set(repository, l);
    }
    return l;
  }

  #tokenRequest(challenge: Challenge, repository: string, source: string) {
    const realm = challenge.params.realm;
    if (realm === undefined || realm === '') throw failure(this.ctx, source, 'protocol', 'the registry sent a Bearer challenge without a realm');
    const l = this.lookup(repository);
    return {
      realm,
      ...(challenge.params.service !== undefined && { service: challenge.params.service }),
      scope: `repository:${repository}:pull`,
      ...(l.credentials && { credentials: l.credentials }),
      ...(l.source !== undefined && { credentialSource: l.source }),
    };
  }

  async #authorization(repository: string, source: string, signal?: AbortSignal): Promise<string | undefined> {
    const c = this.#challenge;
    if (!c) return undefined;
    if (c.scheme === 'basic') return this.lookup(repository).credentials?.basic();
    return `Bearer ${await this.#tokens.get(this.#tokenRequest(c, repository, source), source, signal)}`;
  }

  /**
   * A request with authentication, retries and redirects. A 401 is answered once (a new
   * challenge, a fresh token, or credentials first needed now); a second is a one-line
   * 'unauthorized' error. Any other status is returned for the caller to judge.
   */
  async request(r: EndpointRequest): Promise<HttpResponse> {
    const ctx = this.ctx;
    const origin = await this.origin(r.source, r.signal);
    const url = new URL(r.path, origin);
    for (let answered = false; ; answered = true) {
      const value = await this.#authorization(r.repository, r.source, r.signal);
      const authorization = value !== undefined ? { origin, value } : undefined;
      const res = await withRetries(ctx, r.what, r.source, async () => (await sendOnce(ctx, { method: r.method, url, headers: r.headers, authorization, signal: r.signal, source: r.source })).res, r.signal);
      if (res.status !== 401) return res;
      const header = res.header('www-authenticate');
      await discard(res);
      const offered = header !== null ? usable(parseChallenges(header, `${r.source}: WWW-Authenticate`)) : undefined;
      const lookup = this.lookup(r.repository);
      if (!answered && offered) {
        const before = this.#challenge;
        this.#challenge = offered;
        if (offered.scheme === 'bearer') {
          this.#tokens.invalidate(this.#tokenRequest(offered, r.repository, r.source));
          continue;
        }
        // Basic: worth another try only if credentials exist and were not sent yet.
        if (lookup.credentials && (before?.scheme !== 'basic' || value === undefined)) continue;
      }
      throw this.#unauthorized(r, lookup);
    }
  }

  #unauthorized(r: EndpointRequest, lookup: CredentialLookup): RegistryError {
    if (lookup.credentials) return failure(this.ctx, r.source, 'unauthorized', `${r.what}: the registry refused the credentials from ${lookup.source ?? 'the caller'} (401 unauthorized)`, 401);
    const why = lookup.unsupported !== undefined ? `; ${lookup.unsupported}` : '; give --creds USER:PASS or an auth file (--authfile, REGISTRY_AUTH_FILE, containers auth.json, ~/.docker/config.json)';
    return failure(this.ctx, r.source, 'unauthorized', `${r.what}: authentication required (401), and there are no credentials for ${this.registry}${why}`, 401);
  }

  /** The error for a status the caller cannot use: 403, 404 and the rest, with the registry's own error code. */
  async statusError(r: EndpointRequest, res: HttpResponse): Promise<RegistryError> {
    const detail = await errorDetail(res);
    const ctx = this.ctx;
    if (res.status === 403) return failure(ctx, r.source, 'denied', `${r.what}: access denied (403${detail})`, 403);
    if (res.status === 404) return failure(ctx, r.source, 'not-found', `${r.what}: not found (404${detail})`, 404);
    if (res.status === 429) return failure(ctx, r.source, 'rate-limited', `${r.what}: too many requests (429${detail}), still after ${ctx.retry.attempts} tries`, 429);
    if (res.status >= 500) return failure(ctx, r.source, 'server', `${r.what}: server error ${res.status}${detail ? ` (${detail.slice(2)})` : ''}, still after ${ctx.retry.attempts} tries`, res.status);
    return failure(ctx, r.source, 'protocol', `${r.what}: unexpected status ${res.status}${detail ? ` (${detail.slice(2)})` : ''}`, res.status);
  }
}

/** `: CODE: message` from a distribution API error body (`{"errors":[{"code","message"}]}`), or ''. */
async function errorDetail(res: HttpResponse): Promise<string> {
  const body = await readLimited(res, 65536).catch(() => undefined);
  if (!body || body.length === 0) return '';
  try {
    const json = JSON.parse(new TextDecoder().decode(body)) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = Array.isArray(json.errors) ? json.errors[0] : undefined;
    if (!first) return '';
    const parts = [first.code, first.message].filter((x): x is string => typeof x === 'string' && x !== '');
    return parts.length ? `: ${parts.join(': ').slice(0, 160)}` : '';
  } catch {
    return '';
  }
}
