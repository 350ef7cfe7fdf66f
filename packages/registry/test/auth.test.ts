import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { credentialResolver, Credentials, parseCreds, RegistryClient } from '@fstools/registry';
import type { RegistryClientOptions, RegistryEvent } from '@fstools/registry';
import { collect } from '../../../test/helpers/streams.js';
import { expectNoSecrets, oneLineError, record } from './helpers/errors.js';
import { pushAll } from './helpers/images.js';
import type { RegistryServer } from './helpers/registry-server.js';
import { haveHtpasswd, haveRegistry, haveSkopeo, startRegistry } from './helpers/registry-server.js';
import type { BlobStore, Proxy, TokenServer } from './helpers/servers.js';
import { bearerGate, passThrough, startBlobStore, startProxy, startTokenServer } from './helpers/servers.js';

// Authentication against real servers: docker-registry's htpasswd (Basic) auth, and Bearer tokens
// from a token server written here (docs/spec/auth/token.md) enforced by a proxy in front of a
// registry. Redirected blob GETs go to another loopback host that must never see Authorization.
// At the end, no error message provoked anywhere in this file holds a password or a token.

const ready = haveRegistry && haveSkopeo && haveHtpasswd;
const USER = 'alice';
const PASSWORD = 'Tr0ub4dor&3-registry-pass';
const WRONG = 'not-the-password-9c1e';
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');

describe.runIf(ready)('authentication', () => {
  let work: string;
  let basicRegistry: RegistryServer;
  let openRegistry: RegistryServer;
  let tokens: TokenServer;
  let gate: Proxy;
  let front: Proxy;
  let store: BlobStore;
  let events: RegistryEvent[];
  const clients: RegistryClient[] = [];
  const client = (opts: RegistryClientOptions = {}) => {
    const c = new RegistryClient({ tlsVerify: false, retry: { baseDelayMs: 20 }, onEvent: (e) => events.push(e), ...opts });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'registry-auth-'));
    basicRegistry = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
    openRegistry = await startRegistry();
    await pushAll(basicRegistry, join(work, 'basic'), `${USER}:${PASSWORD}`);
    await pushAll(openRegistry, join(work, 'open'));
    tokens = await startTokenServer({ user: USER, password: PASSWORD });
    gate = await startProxy(openRegistry.host);
    gate.handler = bearerGate(tokens);
    front = await startProxy(basicRegistry.host);
    store = await startBlobStore((d) => basicRegistry.blob(d));
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    for (const s of [gate, front, tokens, store]) await s?.close();
    await basicRegistry?.stop();
    await openRegistry?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    events = [];
    front.handler = passThrough;
  });

  describe('basic (docker-registry htpasswd)', () => {
    const ref = (name: string) => `docker://${basicRegistry.host}/${name}`;

    it('pulls with --creds USER:PASS', async () => {
      const c = client({ credentials: parseCreds(`${USER}:${PASSWORD}`) });
      const img = await c.resolveImage(ref('big:v1'));
      for (const l of img.layers) expect((await collect(c.openBlob(img.reference, l))).equals(basicRegistry.blob(l.digest))).toBe(true);
    });

    it('pulls with credentials from an auth file (auths.HOST.auth); a repo-scoped key wins over the host key', async () => {
      const file = join(work, 'auth.json');
      writeFileSync(file, JSON.stringify({ auths: { [basicRegistry.host]: { auth: Buffer.from(`${USER}:${WRONG}`).toString('base64') }, [`${basicRegistry.host}/big`]: { auth: BASIC } } }));
      const c = client({ credentials: credentialResolver({ authfile: file, env: {} }) });
      expect((await c.resolveImage(ref('big:v1'))).layers.length).toBe(2);
      // sample only matches the host key, whose password is wrong.
      const err = await oneLineError(c.resolveImage(ref('sample')), 'unauthorized', ref('sample:latest'));
      expect(err.message).toContain(`the registry refused the credentials from ${file} (key ${basicRegistry.host})`);
    });

    it('401 without credentials: one line naming the reference and saying how to give credentials', async () => {
      const err = await oneLineError(client().resolveImage(ref('big:v1')), 'unauthorized', ref('big:v1'));
      expect(err.message).toBe(
        `${ref('big:v1')}: manifest for tag 'v1': authentication required (401), and there are no credentials for ${basicRegistry.host}; give --creds USER:PASS or an auth file (--authfile, REGISTRY_AUTH_FILE, containers auth.json, ~/.docker/config.json)`,
      );
      expect(err.status).toBe(401);
    });

    it('401 with a wrong password: one line, no password', async () => {
      const err = await oneLineError(client({ credentials: new Credentials(USER, WRONG) }).getManifest(ref('big:v1')), 'unauthorized', ref('big:v1'));
      expect(err.message).toContain('the registry refused the credentials from --creds (401 unauthorized)');
    });

    it('a credential helper as the only source is named in the 401 error as unsupported', async () => {
      const home = join(work, 'home');
      mkdirSync(join(home, '.docker'), { recursive: true });
      writeFileSync(join(home, '.docker/config.json'), JSON.stringify({ auths: { [basicRegistry.host]: {} }, credsStore: 'desktop' }));
      const err = await oneLineError(client({ credentials: credentialResolver({ env: {}, home }) }).getManifest(ref('big:v1')), 'unauthorized', ref('big:v1'));
      expect(err.message).toContain(`names the credential helper 'desktop' (credsStore) for ${basicRegistry.host}, and credential helpers are not supported`);
    });

    it('a 307 of blob GETs to another host (blob storage) never carries the registry Authorization there, resumes included', async () => {
      front.handler = async (req, res, t) => {
        const digest = /^\/v2\/[^?]+\/blobs\/(sha256:[0-9a-f]{64})$/.exec(req.url!)?.[1];
        if (req.method === 'GET' && digest) return void res.writeHead(307, { location: store.urlFor(digest) }).end();
        t.send(await t.forward());
      };
      const c = client({ credentials: new Credentials(USER, PASSWORD) });
      const r = `docker://${front.host}/big:v1`;
      const img = await c.resolveImage(r);
      store.dropNextAfter = 1_000_000;
      for (const l of img.layers) expect((await collect(c.openBlob(r, l))).equals(basicRegistry.blob(l.digest))).toBe(true);
      const blobGets = front.requests.filter((q) => q.url.includes('/blobs/'));
      expect(blobGets.length).toBe(1 + img.layers.length + 1); // config, layers, one resume
      for (const q of blobGets) expect(q.headers.authorization).toBe(`Basic ${BASIC}`);
      expect(store.requests.length).toBe(blobGets.length);
      for (const q of store.requests) {
        expect(q.headers.authorization).toBeUndefined();
        expect(q.url).toContain('X-Signature=presigned-');
      }
      expect(store.requests.filter((q) => q.headers.range !== undefined).length).toBe(1);
      expect(events).toContainEqual({ type: 'redirect', from: expect.stringContaining(`http://${front.host}/v2/big/blobs/`), to: expect.stringContaining(`http://${store.host}/store/`) });
      for (const e of events) expect(JSON.stringify(e)).not.toContain('X-Signature');
    });
  });

  describe('Bearer tokens (a token server and a proxy that demands its tokens)', () => {
    const ref = (name: string) => `docker://${gate.host}/${name}`;

    it('gets a pull-scoped token with Basic credentials from the realm and reuses it for every request of that repository', async () => {
      const before = tokens.issued.length;
      const c = client({ credentials: new Credentials(USER, PASSWORD) });
      const img = await c.resolveImage(ref('big:v1'));
      for (const l of img.layers) expect((await collect(c.openBlob(img.reference, l))).equals(openRegistry.blob(l.digest))).toBe(true);
      const issued = tokens.issued.slice(before);
      expect(issued.map((i) => i.scope)).toEqual(['repository:big:pull']);
      const asked = tokens.requests.at(-1)!;
      expect(asked.headers.authorization).toBe(`Basic ${BASIC}`);
      const q = new URL(asked.url, 'http://x').searchParams;
      expect([q.get('service'), q.get('scope'), q.get('account')]).toEqual(['test-registry', 'repository:big:pull', USER]);
      // Each repository has its own scope, so its own token.
      await c.resolveImage(ref('sample'));
      expect(tokens.issued.slice(before).map((i) => i.scope)).toEqual(['repository:big:pull', 'repository:sample:pull']);
      await c.getManifest(ref('big:v1'));
      expect(tokens.issued.length - before).toBe(2);
    });

    it('reads access_token too, and fetches a new token once the cached one has expired', async () => {
      const expired = await startTokenServer({ user: USER, password: PASSWORD, field: 'access_token', expiresIn: 60, issuedAt: new Date(Date.now() - 3600_000).toISOString() });
      const p = await startProxy(openRegistry.host);
      p.handler = bearerGate(expired);
      try {
        const c = client({ credentials: new Credentials(USER, PASSWORD) });
        const img = await c.resolveImage(`docker://${p.host}/big:v1`);
        expect(img.layers.length).toBe(2);
        // Every token was born expired: each of the 2 requests (manifest, config) needed its own.
        expect(expired.issued.length).toBe(2);
      } finally {
        await p.close();
        await expired.close();
      }
    });

    it('without credentials: the token server refuses; one line naming the reference', async () => {
      const err = await oneLineError(client().resolveImage(ref('big:v1')), 'unauthorized', ref('big:v1'));
      expect(err.message).toBe(`${ref('big:v1')}: the token server http://${tokens.host} requires credentials (401); give --creds USER:PASS or an auth file`);
    });

    it('with a wrong password: one line, no password', async () => {
      const err = await oneLineError(client({ credentials: new Credentials(USER, WRONG) }).getManifest(ref('big:v1')), 'unauthorized', ref('big:v1'));
      expect(err.message).toContain(`the token server http://${tokens.host} refused the credentials from --creds (401)`);
    });

    it('anonymous tokens work when the token server gives them', async () => {
      const anon = await startTokenServer({ user: USER, password: PASSWORD, anonymous: true });
      const p = await startProxy(openRegistry.host);
      p.handler = bearerGate(anon);
      try {
        expect((await client().resolveImage(`docker://${p.host}/sample`)).layers.length).toBeGreaterThan(0);
        expect(anon.requests.every((q) => q.headers.authorization === undefined)).toBe(true);
      } finally {
        await p.close();
        await anon.close();
      }
    });
  });

  it('credentials never appear in errors, their JSON or inspect output', () => {
    const creds = new Credentials(USER, PASSWORD);
    expect(JSON.stringify({ creds })).not.toContain(PASSWORD);
    expect(inspect(creds)).not.toContain(PASSWORD);
    expect(String(creds)).not.toContain(PASSWORD);
    const lookup = credentialResolver({ creds: `${USER}:${PASSWORD}` })('x.io', 'a/b');
    record(JSON.stringify(lookup));
    record(inspect(lookup, { depth: 5, showHidden: true }));
    record(JSON.stringify(client({ credentials: creds })));
    expectNoSecrets([PASSWORD, WRONG, BASIC, ...tokens.issued.map((i) => i.token)]);
  });
});
