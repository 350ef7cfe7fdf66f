/** What a failed request or body read says about the network, for retries and error lines. */
export interface NetProblem {
  code?: string;
  /** Worth another try (a reset, a timeout, a dropped socket), as opposed to refused or TLS. */
  retryable: boolean;
  /** HTTPS could not be set up: an untrusted certificate, a plain-HTTP server, a name mismatch. */
  tls: boolean;
  /** One short line: "connection reset (ECONNRESET)". */
  text: string;
}

/** The abort reason of a request this package timed out itself. */
export class RequestTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string) {
    super(what);
    this.name = 'RequestTimeout';
  }
}

const RETRYABLE = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const PERMANENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ERR_INVALID_URL']);
const NAMES: Record<string, string> = {
  ECONNRESET: 'connection reset',
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  ETIMEDOUT: 'timed out',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'body stalled',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS handshake failed: the server does not speak TLS (a plain-HTTP registry?)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'TLS: self-signed certificate in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: certificate not trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'TLS: certificate issuer not trusted',
  CERT_HAS_EXPIRED: 'TLS: certificate expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate does not name this host',
};

function isTlsCode(code: string): boolean {
  return /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|EPROTO$)/.test(code);
}

/** The innermost error with a string `code`, following `cause` and AggregateError's `errors`. */
function coded(err: unknown, depth = 0): { code?: string; message?: string } {
  if (!err || typeof err !== 'object' || depth > 5) return {};
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown; message?: unknown };
  const inner = coded(e.cause, depth + 1);
  if (inner.code) return inner;
  if (Array.isArray(e.errors)) for (const x of e.errors) {
    const c = coded(x, depth + 1);
    if (c.code) return c;
  }
  const message = typeof e.message === 'string' ? e.message : inner.message;
  return typeof e.code === 'string' ? { code: e.code, ...(message !== undefined && { message }) } : message !== undefined ? { message } : {};
}

/** Reads a request's or a body read's error (undici's, a socket's or TLS's, and their causes; a timeout). */
export function networkProblem(err: unknown): NetProblem {
  if (err instanceof RequestTimeout) return { code: err.code, retryable: true, tls: false, text: err.message };
  const { code, message } = coded(err);
  const first = (message ?? String(err)).split('\n')[0]!.slice(0, 160);
  if (code === undefined) return { retryable: true, tls: false, text: first || 'network error' };
  const tls = isTlsCode(code);
  const name = NAMES[code] ?? (tls ? `TLS: ${first}` : first);
  return { code, retryable: !tls && !PERMANENT.has(code) && (RETRYABLE.has(code) || !code.startsWith('ERR_')), tls, text: name.includes(code) ? name : `${name} (${code})` };
}

/** Whether `err` is the caller's own abort (never retried, passed through as it is). */
export function isCallerAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && (err === signal.reason || (err instanceof Error && err.name === 'AbortError'));
}
