import type { Readable } from 'node:stream';
import type { SecureContext } from 'node:tls';

/** A response as the client reads it: its body is a Node stream (undici's BodyReadable), unread. */
export interface HttpResponse {
  status: number;
  /** A header's value (names are case-insensitive); repeated headers joined with ', ', as fetch's Headers does. */
  header(name: string): string | null;
  body: Readable & {
    /** Reads and drops the rest of the body, or closes the connection when more than `limit` bytes are left. */
    dump(opts?: { limit: number }): Promise<unknown>;
  };
}

/** The connections of one client: keep-alive pools per origin. */
export interface HttpAgent {
  send(url: URL, method: 'GET' | 'HEAD', headers: Record<string, string>, signal: AbortSignal): Promise<HttpResponse>;
  close(): Promise<void>;
}

/**
 * How much of a body undici buffers before it stops reading the socket. A read takes all that is
 * buffered as one chunk, so a consumer slower than the network (converting layers over loopback)
 * gets 1 MiB pieces instead of the socket's 64 KiB ones: a sixteenth of the trips through its
 * pipeline (and of gunzip's thread-pool round trips); a faster one gets what has arrived.
 */
const BODY_BUFFER = 1 << 20;

let trusted: SecureContext | undefined;

/**
 * The certificates HTTPS is verified against: Node's own (its bundled roots and
 * NODE_EXTRA_CA_CERTS) and the system's store (OpenSSL's default file and directory, which
 * SSL_CERT_FILE and SSL_CERT_DIR move), as skopeo trusts the system's. One context per thread:
 * reading the system store takes tens of milliseconds.
 */
async function trustedContext(): Promise<SecureContext> {
  if (trusted) return trusted;
  const tls = await import('node:tls');
  // getCACertificates is Node >= 22.15; before it, Node's own roots only.
  const system = typeof tls.getCACertificates === 'function' ? tls.getCACertificates('system') : [];
  const ca = [...new Set([...(typeof tls.getCACertificates === 'function' ? tls.getCACertificates('default') : tls.rootCertificates), ...system])];
  trusted = tls.createSecureContext({ ca });
  return trusted;
}

/**
 * undici's request API on a keep-alive Agent: Node streams for bodies (WHATWG fetch's web
 * streams cost about twice the CPU per blob byte), redirects not followed (sendOnce does),
 * nothing decoded (no Accept-Encoding is sent but the caller's). With tlsVerify false, any
 * certificate is accepted. undici's body timeout is the stall timer (`stallMs`): undici stops it
 * while the body's buffer is full, so a consumer that stops reading is never taken for a stalled
 * server. Response headers are timed by sendOnce (connect included), so undici's timer for them
 * is off. undici is loaded on first use: importing this package under Bun or Deno loads nothing
 * of it.
 */
export async function httpAgent(tlsVerify: boolean, stallMs: number): Promise<HttpAgent> {
  const { Agent } = await import('undici');
  const agent = new Agent({
    connect: tlsVerify ? { secureContext: await trustedContext() } : { rejectUnauthorized: false },
    headersTimeout: 0,
    bodyTimeout: stallMs,
  });
  return {
    async send(url, method, headers, signal) {
      const r = await agent.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method, headers, signal, highWaterMark: BODY_BUFFER });
      return {
        status: r.statusCode,
        header: (name) => {
          const v = r.headers[name.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
        },
        body: r.body,
      };
    },
    close: () => agent.close(),
  };
}

/** Whether a body read failed because no byte came for `stallMs` (undici's body timeout). */
export function isStall(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'UND_ERR_BODY_TIMEOUT';
}
