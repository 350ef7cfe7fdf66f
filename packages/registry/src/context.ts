import type { CredentialResolver } from './credentials.js';
import type { RegistryErrorKind } from './errors.js';
import { RegistryError } from './errors.js';
import type { Redactor } from './redact.js';
import type { RetryPolicy } from './retry.js';
import type { HttpAgent } from './http-agent.js';

/** How long the client waits before it calls a request lost. */
export interface Timeouts {
  /** From sending a request to its response headers. */
  headersMs: number;
  /** Between two chunks of a body: longer is a stalled connection, resumed like a dropped one. */
  stallMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { headersMs: 60_000, stallMs: 60_000 };

/**
 * What the client did, for progress lines and tests. URLs are given as origin + path only (a
 * presigned storage URL's query is a credential); no header value is ever included.
 */
export type RegistryEvent =
  | { type: 'scheme'; registry: string; origin: string }
  | { type: 'request'; method: string; url: string }
  | { type: 'redirect'; from: string; to: string }
  | { type: 'token'; realm: string; scope: string }
  | { type: 'retry'; what: string; attempt: number; delayMs: number; reason: string }
  | { type: 'resume'; what: string; offset: number; reason: string };

/** What every part of a client shares. */
export interface ClientContext {
  /** The client's connections, made on first use. */
  agent(): Promise<HttpAgent>;
  tlsVerify: boolean;
  credentials: CredentialResolver;
  retry: RetryPolicy;
  timeouts: Timeouts;
  userAgent: string;
  redactor: Redactor;
  onEvent: (e: RegistryEvent) => void;
}

/** A RegistryError whose text has passed the redactor. */
export function failure(ctx: ClientContext, source: string, kind: RegistryErrorKind, problem: string, status?: number): RegistryError {
  return new RegistryError(ctx.redactor.redact(source), kind, ctx.redactor.redact(problem), status);
}

/** origin + path of a URL, as events show it. */
export function shownUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}
