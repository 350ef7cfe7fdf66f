import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '@fstools/registry';
import type { Descriptor, RegistryClientOptions, RegistryEvent, RegistryImage } from '@fstools/registry';
import { collect } from '../../../test/helpers/streams.js';
import { oneLineError } from './helpers/errors.js';
import { pushAll } from './helpers/images.js';
import type { RegistryServer } from './helpers/registry-server.js';
import { haveRegistry, haveSkopeo, startRegistry } from './helpers/registry-server.js';
import type { Proxy } from './helpers/servers.js';
import { passThrough, sendSlowly, sendThenDrop, startProxy } from './helpers/servers.js';

// A fault-injecting reverse proxy (node:http on loopback) between the client and a real
// docker-registry: connections dropped or stalled mid-blob, servers that ignore Range or answer
// another range, 5xx, 429 with Retry-After, resets before an answer, wrong bytes, slow streams.
// Every pull that succeeds is compared byte for byte with the registry's own storage.

const ready = haveRegistry && haveSkopeo;

const isBlob = (req: IncomingMessage, digest: string) => req.method === 'GET' && req.url === `/v2/big/blobs/${digest}`;
const isManifest = (req: IncomingMessage) => req.url?.includes('/manifests/') ?? false;

describe.runIf(ready)('faults between the client and the registry', () => {
  let work: string;
  let registry: RegistryServer;
  let proxy: Proxy;
  let img: RegistryImage;
  let big: Descriptor;
  let events: RegistryEvent[];
  const ref = () => `docker://${proxy.host}/big:v1`;
  const clients: RegistryClient[] = [];
  /** A client through the proxy with short delays and timeouts. */
  const client = (opts: RegistryClientOptions = {}) => {
    const c = new RegistryClient({ tlsVerify: false, retry: { baseDelayMs: 20, maxDelayMs: 100, ...opts.retry }, timeouts: { stallMs: 2000, headersMs: 5000, ...opts.timeouts }, onEvent: (e) => events.push(e), ...(opts.credentials && { credentials: opts.credentials }) });
    clients.push(c);
    return c;
  };
  const blobRequests = () => proxy.requests.filter((q) => q.url === `/v2/big/blobs/${big.digest}`);

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'registry-faults-'));
    registry = await startRegistry();
    await pushAll(registry, work);
    proxy = await startProxy(registry.host);
    img = await new RegistryClient({ tlsVerify: false }).resolveImage(`docker://${proxy.host}/big:v1`);
    big = img.layers[0]!;
    expect(big.size).toBeGreaterThan(3 << 20);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await proxy?.close();
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.handler = passThrough;
    proxy.requests.length = 0;
    events = [];
  });

  it('a connection dropped mid-blob is resumed with Range; the server answers 206 + Content-Range; the bytes are exact', async () => {
    let dropped = false;
    const statuses: number[] = [];
    proxy.handler = async (req, res, t) => {
      const up = await t.forward();
      if (isBlob(req, big.digest)) statuses.push(up.status);
      if (isBlob(req, big.digest) && !dropped) {
        dropped = true;
        return sendThenDrop(req, res, up, 1_234_567);
      }
      t.send(up);
    };
    const bytes = await collect(client().openBlob(ref(), big));
    expect(bytes.equals(registry.blob(big.digest))).toBe(true);
    const [first, second, ...more] = blobRequests();
    expect(more).toEqual([]);
    expect(first!.headers.range).toBeUndefined();
    const offset = Number(/^bytes=([0-9]+)-$/.exec(second!.headers.range ?? '')?.[1]);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(1_234_567);
    expect(statuses).toEqual([200, 206]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'resume', what: `blob ${big.digest}`, offset }));
  });

  it('a server that ignores Range is read again from the start, its first bytes skipped', async () => {
    let dropped = false;
    proxy.handler = async (req, res, t) => {
      const up = await t.forward({ drop: ['range'] });
      if (isBlob(req, big.digest) && !dropped) {
        dropped = true;
        return sendThenDrop(req, res, up, 2_000_000);
      }
      t.send(up);
    };
    const bytes = await collect(client().openBlob(ref(), big));
    expect(bytes.equals(registry.blob(big.digest))).toBe(true);
    expect(blobRequests().length).toBe(2);
    expect(blobRequests()[1]!.headers.range).toMatch(/^bytes=[0-9]+-$/);
    expect(events).toContainEqual(expect.objectContaining({ type: 'resume', reason: 'the server ignored Range; reading from the start' }));
  });

  it('a 206 with another range than asked for is not spliced in: the blob is read again without Range', async () => {
    let n = 0;
    proxy.handler = async (req, res, t) => {
      const up = await t.forward();
      if (!isBlob(req, big.digest)) return t.send(up);
      n++;
      if (n === 1) return sendThenDrop(req, res, up, 1_500_000);
      if (req.headers.range) {
        // Claims the range starts at 0: a client that spliced it in would corrupt the blob.
        const whole = registry.blob(big.digest);
        return t.send({ status: 206, headers: { ...up.headers, 'content-range': `bytes 0-${whole.length - 1}/${whole.length}` }, body: whole });
      }
      t.send(up);
    };
    const bytes = await collect(client().openBlob(ref(), big));
    expect(bytes.equals(registry.blob(big.digest))).toBe(true);
    expect(blobRequests().map((q) => q.headers.range === undefined)).toEqual([true, false, true]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'resume', reason: 'the server answered another range; reading from the start' }));
  });

  it('a stalled stream (no bytes for stallMs) is resumed; a slow but moving one is not', async () => {
    let stalled = false;
    proxy.handler = async (req, res, t) => {
      const up = await t.forward();
      if (isBlob(req, big.digest) && !stalled) {
        stalled = true;
        res.writeHead(up.status, { ...up.headers, 'content-length': String(up.body.length) });
        res.write(up.body.subarray(0, 700_000));
        return; // and never another byte
      }
      if (isBlob(req, big.digest)) return sendSlowly(res, up, 256 << 10, 40);
      t.send(up);
    };
    const started = Date.now();
    const bytes = await collect(client({ timeouts: { stallMs: 400 } }).openBlob(ref(), big));
    expect(bytes.equals(registry.blob(big.digest))).toBe(true);
    expect(blobRequests().length).toBe(2);
    expect(events.filter((e) => e.type === 'resume')).toEqual([expect.objectContaining({ reason: expect.stringContaining('no data for 400 ms') })]);
    expect(Date.now() - started).toBeGreaterThan(400);
  });

  it('gives up, in one line, after maxResumes drops', async () => {
    proxy.handler = async (req, res, t) => {
      const up = await t.forward();
      if (isBlob(req, big.digest)) return sendThenDrop(req, res, up, 100_000);
      t.send(up);
    };
    const err = await oneLineError(collect(client({ retry: { maxResumes: 2 } }).openBlob(ref(), big)), 'network', ref());
    expect(err.message).toMatch(/gave up after 2 resumes at byte [0-9]+ of [0-9]+/);
    expect(blobRequests().length).toBe(3);
  });

  it('5xx answers are retried with backoff; a registry that keeps failing is a one-line server error', async () => {
    let failures = 2;
    proxy.handler = async (req, res, t) => {
      if (isManifest(req) && failures-- > 0) return void res.writeHead(500).end('boom');
      t.send(await t.forward());
    };
    const got = await client().resolveImage(ref());
    expect(got.manifest.digest).toBe(img.manifest.digest);
    expect(events.filter((e) => e.type === 'retry').map((e) => e.type === 'retry' && e.reason)).toEqual(['status 500', 'status 500']);

    proxy.handler = async (req, res, t) => {
      if (isManifest(req)) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}');
      t.send(await t.forward());
    };
    proxy.requests.length = 0;
    const err = await oneLineError(client({ retry: { attempts: 3 } }).getManifest(ref()), 'server', ref());
    expect(err.message).toBe(`${ref()}: manifest for tag 'v1': server error 503 (UNAVAILABLE: maintenance), still after 3 tries`);
    expect(proxy.requests.filter((q) => q.url.includes('/manifests/')).length).toBe(3);
  });

  it('429 waits for Retry-After (1 s here); a longer Retry-After is capped', async () => {
    let limited = 1;
    proxy.handler = async (req, res, t) => {
      if (isBlob(req, big.digest) && limited-- > 0) return void res.writeHead(429, { 'retry-after': '1' }).end();
      t.send(await t.forward());
    };
    const started = Date.now();
    const bytes = await collect(client().openBlob(ref(), big));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(bytes.equals(registry.blob(big.digest))).toBe(true);
    expect(events).toContainEqual({ type: 'retry', what: `blob ${big.digest}`, attempt: 1, delayMs: 1000, reason: 'status 429' });

    proxy.handler = async (req, res, t) => {
      if (isManifest(req)) return void res.writeHead(429, { 'retry-after': '3600' }).end();
      t.send(await t.forward());
    };
    events = [];
    const t0 = Date.now();
    const err = await oneLineError(client({ retry: { attempts: 2, maxRetryAfterMs: 150 } }).getManifest(ref()), 'rate-limited', ref());
    expect(err.message).toContain('too many requests (429');
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(events).toContainEqual(expect.objectContaining({ type: 'retry', delayMs: 150 }));
  });

  it('a connection reset before the answer is retried', async () => {
    let resets = 2;
    proxy.handler = async (req, _res, t) => {
      if (isManifest(req) && resets-- > 0) return void req.socket.destroy();
      t.send(await t.forward());
    };
    expect((await client().getManifest(ref())).digest).toBe(img.manifest.digest);
    expect(events.filter((e) => e.type === 'retry').length).toBe(2);
  });

  it('wrong bytes fail at the end of the stream, after the last chunk, before the consumer completes', async () => {
    proxy.handler = async (req, _res, t) => {
      const up = await t.forward();
      if (!isBlob(req, big.digest)) return t.send(up);
      const body = Buffer.from(up.body);
      body[body.length >> 1] ^= 0x40;
      t.send(up, body);
    };
    let received = 0;
    let completed = false;
    const err = await oneLineError(
      (async () => {
        for await (const chunk of client().openBlob(ref(), big)) received += chunk.length;
        completed = true;
      })(),
      'integrity',
      ref(),
    );
    expect(completed).toBe(false);
    expect(received).toBe(big.size);
    expect(err.message).toMatch(new RegExp(`blob ${big.digest}: digest mismatch: content is sha256:[0-9a-f]{64}, expected ${big.digest}$`));

    // More bytes than the descriptor states fail as soon as they appear.
    proxy.handler = async (req, _res, t) => {
      const up = await t.forward();
      if (!isBlob(req, big.digest)) return t.send(up);
      t.send(up, Buffer.concat([up.body, Buffer.from('extra')]));
    };
    received = 0;
    const long = await oneLineError(
      (async () => {
        for await (const chunk of client().openBlob(ref(), big)) received += chunk.length;
      })(),
      'integrity',
    );
    expect(long.message).toContain(`size mismatch: the registry sends ${big.size + 5} bytes, the descriptor states ${big.size}`);
    expect(received).toBe(0);
    // Fewer, announced so: a size mismatch at once, not a connection to resume.
    proxy.handler = async (req, _res, t) => {
      const up = await t.forward();
      if (!isBlob(req, big.digest)) return t.send(up);
      t.send(up, up.body.subarray(0, 1000));
    };
    proxy.requests.length = 0;
    const short = await oneLineError(
      (async () => {
        for await (const chunk of client().openBlob(ref(), big)) void chunk;
      })(),
      'integrity',
    );
    expect(short.message).toContain(`size mismatch: the registry sends 1000 bytes, the descriptor states ${big.size}`);
    expect(blobRequests()).toHaveLength(1);
    // Sent chunked (no Content-Length), more bytes than stated fail as soon as they appear.
    proxy.handler = async (req, res, t) => {
      const up = await t.forward();
      if (!isBlob(req, big.digest)) return t.send(up);
      const { 'content-length': _, ...headers } = up.headers;
      res.writeHead(200, headers);
      res.end(Buffer.concat([up.body, Buffer.from('extra')]));
    };
    received = 0;
    const chunked = await oneLineError(
      (async () => {
        for await (const chunk of client().openBlob(ref(), big)) received += chunk.length;
      })(),
      'integrity',
    );
    expect(chunked.message).toContain(`size mismatch: more than the ${big.size} bytes`);
    expect(received).toBeLessThanOrEqual(big.size);

    // A manifest whose bytes do not match the digest it was asked for.
    proxy.handler = async (req, _res, t) => {
      const up = await t.forward();
      if (!isManifest(req)) return t.send(up);
      t.send(up, Buffer.from(up.body.toString().replace('"schemaVersion":2', '"schemaVersion": 2')));
    };
    const pinned = `docker://${proxy.host}/big@${img.manifest.digest}`;
    const m = await oneLineError(client().getManifest(pinned), 'integrity', pinned);
    expect(m.message).toContain(`manifest ${img.manifest.digest}: digest mismatch`);
    // By tag, the bytes must agree with the Docker-Content-Digest the registry sends.
    await oneLineError(client().getManifest(ref()), 'integrity', ref());
  });

  it('a damaged manifest is a one-line protocol error', async () => {
    proxy.handler = async (req, _res, t) => {
      const up = await t.forward();
      if (!isManifest(req)) return t.send(up);
      const body = Buffer.from(up.body.toString().replace(/"size":\d+/, '"size":-1'));
      const { 'docker-content-digest': _, ...headers } = up.headers;
      t.send({ ...up, headers }, body);
    };
    const err = await oneLineError(client().getManifest(ref()), 'protocol', ref());
    expect(err.message).toMatch(/: manifest for tag 'v1': (config|layers\[0\]): size is not a non-negative integer$/);
  });
});
