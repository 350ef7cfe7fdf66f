import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { Agent, createServer, request } from 'node:http';

// Loopback servers a test puts in front of (or beside) docker-registry: a reverse proxy whose
// handler a test replaces to inject faults, a token server for Bearer auth, and a "blob storage"
// host that registry redirects point to. Each records what it was sent.

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface Upstream {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export interface ProxyTools {
  /** The request forwarded to the registry (headers as sent, `drop` removed, `set` added); the answer buffered. */
  forward(opts?: { drop?: string[]; set?: Record<string, string> }): Promise<Upstream>;
  /** Writes an upstream answer back (body replaced when given). */
  send(up: Upstream, body?: Buffer): void;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, tools: ProxyTools) => Promise<void> | void;

export interface Loopback {
  host: string;
  port: number;
  requests: Seen[];
  /** TCP connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

export interface Proxy extends Loopback {
  /** Replace to inject faults; the default forwards everything. */
  handler: Handler;
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length']);

export const passThrough: Handler = async (_req, _res, t) => t.send(await t.forward());

/** A reverse proxy on 127.0.0.1 in front of `upstream` (`127.0.0.1:PORT`). */
export async function startProxy(upstream: string): Promise<Proxy> {
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const agent = new Agent({ keepAlive: true });
  const state = { requests: [] as Seen[], connections: 0 };
  const server = createServer();
  const proxy: Proxy = {
    host: '',
    port: 0,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    handler: passThrough,
    close: async () => {
      agent.destroy();
      await closer(server)();
    },
  };
  server.on('connection', () => state.connections++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    state.requests.push({ method: req.method!, url: req.url!, headers: req.headers });
    const tools: ProxyTools = {
      forward: (opts = {}) =>
        new Promise((resolve, reject) => {
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k) && !opts.drop?.includes(k)) headers[k] = v;
          Object.assign(headers, opts.set ?? {});
          const up = request({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers, agent }, (r) => {
            const parts: Buffer[] = [];
            r.on('data', (c: Buffer) => parts.push(c));
            r.on('end', () => {
              const h: Record<string, string | string[]> = {};
              for (const [k, v] of Object.entries(r.headers)) if (v !== undefined && !HOP.has(k)) h[k] = v;
              resolve({ status: r.statusCode!, headers: h, body: Buffer.concat(parts) });
            });
            r.on('error', reject);
          });
          up.on('error', reject);
          up.end();
        }),
      send: (up, body = up.body) => {
        res.writeHead(up.status, { ...up.headers, 'content-length': String(body.length) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
    };
    req.resume();
    Promise.resolve(proxy.handler(req, res, tools)).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(599).end(String(err));
      else res.destroy();
    });
  });
  const port = await listen(server);
  proxy.port = port;
  proxy.host = `127.0.0.1:${port}`;
  return proxy;
}

/** Sends an answer's headers (full Content-Length) and its first `n` body bytes, then drops the connection. */
export function sendThenDrop(req: IncomingMessage, res: ServerResponse, up: Upstream, n: number): void {
  res.writeHead(up.status, { ...up.headers, 'content-length': String(up.body.length) });
  res.write(up.body.subarray(0, n), () => setTimeout(() => req.socket.destroy(), 20));
}

/** Sends an answer in `chunk`-byte pieces `delayMs` apart. */
export async function sendSlowly(res: ServerResponse, up: Upstream, chunk: number, delayMs: number): Promise<void> {
  res.writeHead(up.status, { ...up.headers, 'content-length': String(up.body.length) });
  for (let i = 0; i < up.body.length; i += chunk) {
    if (res.destroyed) return;
    res.write(up.body.subarray(i, i + chunk));
    await new Promise((r) => setTimeout(r, delayMs));
  }
  res.end();
}

/** The repository a distribution API path names (`/v2/a/b/manifests/x` -> `a/b`), or undefined. */
export function repositoryOf(path: string): string | undefined {
  return /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(path)?.[1];
}

export interface TokenServer extends Loopback {
  realm: string;
  service: string;
  /** Tokens issued, with the scope each grants. */
  issued: { token: string; scope: string }[];
  /** Whether `authorization` carries a token this server issued for `repository:REPO:pull`. */
  grants(authorization: string | undefined, repository: string): boolean;
}

export interface TokenServerOptions {
  user: string;
  password: string;
  /** Answer with access_token instead of token. */
  field?: 'token' | 'access_token';
  expiresIn?: number;
  /** issued_at to state (an RFC 3339 time), e.g. one long past to issue expired tokens. */
  issuedAt?: string;
  /** Give tokens to requests without credentials (anonymous pulls). */
  anonymous?: boolean;
}

/**
 * A token endpoint (docs/spec/auth/token.md): GET /token?service=S&scope=repository:R:pull with
 * Basic credentials; 401 for wrong or (unless anonymous) missing ones, 400 for a bad scope.
 */
export async function startTokenServer(opts: TokenServerOptions): Promise<TokenServer> {
  const server = createServer();
  const state = { requests: [] as Seen[], connections: 0, issued: [] as { token: string; scope: string }[] };
  const service = 'test-registry';
  server.on('connection', () => state.connections++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    state.requests.push({ method: req.method!, url: req.url!, headers: req.headers });
    req.resume();
    const url = new URL(req.url!, 'http://x');
    const expected = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`;
    const auth = req.headers.authorization;
    if (url.pathname !== '/token') return void res.writeHead(404).end();
    if (auth !== undefined ? auth !== expected : !opts.anonymous) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
    const scope = url.searchParams.get('scope') ?? '';
    if (url.searchParams.get('service') !== service || !/^repository:[a-z0-9._/-]+:pull$/.test(scope)) return void res.writeHead(400).end('bad scope or service');
    const token = randomBytes(24).toString('base64url');
    state.issued.push({ token, scope });
    const body: Record<string, unknown> = { [opts.field ?? 'token']: token };
    if (opts.expiresIn !== undefined) body.expires_in = opts.expiresIn;
    if (opts.issuedAt !== undefined) body.issued_at = opts.issuedAt;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  const port = await listen(server);
  return {
    host: `127.0.0.1:${port}`,
    port,
    realm: `http://127.0.0.1:${port}/token`,
    service,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    get issued() {
      return state.issued;
    },
    grants: (authorization, repository) => {
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
      return state.issued.some((i) => i.token === token && i.scope === `repository:${repository}:pull`);
    },
    close: closer(server),
  };
}

/** A proxy handler that demands a Bearer token from `tokens` for the repository of each request. */
export function bearerGate(tokens: TokenServer): Handler {
  return async (req, res, t) => {
    const path = new URL(req.url!, 'http://x').pathname;
    const repository = repositoryOf(path);
    const ok = repository === undefined ? path === '/v2/' && req.headers.authorization !== undefined && tokens.issued.some((i) => `Bearer ${i.token}` === req.headers.authorization) : tokens.grants(req.headers.authorization, repository);
    if (!ok) {
      const scope = repository !== undefined ? `,scope="repository:${repository}:pull"` : '';
      res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.realm}",service="${tokens.service}"${scope}`, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    // The registry behind has no auth of its own: it must not see the token either way.
    t.send(await t.forward({ drop: ['authorization'] }));
  };
}

export interface BlobStore extends Loopback {
  /** `http://127.0.0.1:PORT/store/DIGEST?X-Signature=...` */
  urlFor(digest: string): string;
  /** Drop the connection after this many bytes on the next request (once). */
  dropNextAfter?: number;
}

/** A second loopback host serving blobs (by digest, with Range), as redirect targets do. */
export async function startBlobStore(blob: (digest: string) => Buffer): Promise<BlobStore> {
  const server = createServer();
  const state = { requests: [] as Seen[], connections: 0 };
  const store: BlobStore = {
    host: '',
    port: 0,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
    urlFor: (digest) => `http://${store.host}/store/${digest}?X-Signature=presigned-${digest.slice(7, 15)}`,
    close: closer(server),
  };
  server.on('connection', () => state.connections++);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    state.requests.push({ method: req.method!, url: req.url!, headers: req.headers });
    req.resume();
    const digest = /^\/store\/(sha256:[0-9a-f]{64})$/.exec(new URL(req.url!, 'http://x').pathname)?.[1];
    if (!digest) return void res.writeHead(404).end();
    const bytes = blob(digest);
    const range = /^bytes=([0-9]+)-$/.exec(req.headers.range ?? '');
    const from = range ? Number(range[1]) : 0;
    const up: Upstream = range
      ? { status: 206, headers: { 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` }, body: bytes.subarray(from) }
      : { status: 200, headers: {}, body: bytes };
    if (store.dropNextAfter !== undefined) {
      const n = store.dropNextAfter;
      store.dropNextAfter = undefined;
      return sendThenDrop(req, res, up, n);
    }
    res.writeHead(up.status, { ...up.headers, 'content-length': String(up.body.length) }).end(up.body);
  });
  const port = await listen(server);
  store.port = port;
  store.host = `127.0.0.1:${port}`;
  return store;
}
