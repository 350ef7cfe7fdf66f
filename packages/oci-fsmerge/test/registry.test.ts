// fsmerge docker://: images pushed by skopeo into Debian's docker-registry on loopback, pulled
// through a fault-injecting proxy (a real node:http server) and converted as they stream. Every
// pull is judged against converting the same image from disk (byte-identical fsmeta and layer
// images) and by the kernel (fsmeta with -o device= equals the kernel's overlay of the layer
// images); the kept OCI layout is read back by skopeo. Refusals (401, 403, unknown names, bad
// bytes, connections reset on every try, an untrusted certificate) end the CLI with one line
// naming the reference, exit 1 and nothing written; credentials are found where skopeo looks.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InputError } from '@fstools/fstree';
import { fsmerge } from '@fstools/oci-fsmerge';
import type { FsmergeOptions, FsmergeResult } from '@fstools/oci-fsmerge';
import { canMount, scratchDir, withErofsMount } from '../../../test/helpers/erofs-oracles.js';
import { cliScript } from '../../../test/helpers/cli.js';
import type { Pushed } from '../../registry/test/helpers/images.js';
import { pushAll, sampleArchive } from '../../registry/test/helpers/images.js';
import type { RegistryServer } from '../../registry/test/helpers/registry-server.js';
import { haveHtpasswd, haveOpenssl, haveRegistry, haveSkopeo, selfSignedCert, skopeoCopy, startRegistry } from '../../registry/test/helpers/registry-server.js';
import type { Handler, Proxy } from '../../registry/test/helpers/servers.js';
import { bearerGate, passThrough, sendSlowly, sendThenDrop, startBlobStore, startProxy, startTokenServer } from '../../registry/test/helpers/servers.js';
import { deviceManifest, expectMerged, overlayManifest } from './helpers/judge.js';

const ready = haveRegistry && haveSkopeo;
const access = { tlsVerify: false };

/** Runs fsmerge's CLI without blocking this process (the proxy answers from it). */
function fsmergeCli(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliScript('fsmerge'), ...args], { env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Layer-blob GETs the proxy forwarded (manifests and configs left out). */
function blobGets(proxy: Proxy, digests: string[]): string[] {
  return proxy.requests.filter((r) => r.method === 'GET' && digests.some((d) => r.url.endsWith(`/blobs/${d}`))).map((r) => r.url);
}

/** A handler answering `fault` to the first `times` requests that `match` each distinct URL, forwarding the rest. */
function onceEach(match: (req: IncomingMessage) => boolean, times: number, fault: (req: IncomingMessage, res: ServerResponse) => void): Handler {
  const seen = new Map<string, number>();
  return async (req, res, t) => {
    const k = seen.get(req.url!) ?? 0;
    if (match(req) && k < times) {
      seen.set(req.url!, k + 1);
      return fault(req, res);
    }
    t.send(await t.forward());
  };
}

/** Nothing but finished files: no temporary file fsmerge made is left anywhere under `dir`. */
function noTemps(dir: string): void {
  if (!existsSync(dir)) return;
  const left = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /(^|\/)\.[^/]*\.tmp$|\.fsmerge-/.test(f));
  expect(left).toEqual([]);
}

describe.runIf(ready && canMount())('fsmerge docker://REF', () => {
  let work: string;
  let registry: RegistryServer;
  let proxy: Proxy;
  let pushed: Pushed;
  let n = 0;
  const out = (): string => join(work, `out${n++}`);
  const ref = (name: string): string => `docker://${proxy.host}/${name}`;
  const pull = (name: string, opts: Partial<FsmergeOptions> & { output: string }): Promise<FsmergeResult> => fsmerge({ reference: ref(name) }, { registry: access, ...opts });
  const bigLayers = (): string[] => layerDigests(pushed.big.dir);

  beforeAll(async () => {
    work = scratchDir('fsmerge-registry');
    registry = await startRegistry();
    proxy = await startProxy(registry.host);
    pushed = await pushAll(registry, work);
  }, 120_000);
  afterAll(async () => {
    await proxy?.close();
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });
  beforeEach(() => {
    proxy.handler = passThrough;
    proxy.requests.length = 0;
  });

  it('pulls as skopeo copy + fsmerge of the copy do: the same fsmeta and layer images, byte for byte; the kernel mounts it as the overlay of its layers', async () => {
    for (const name of ['big:v1', 'sample:latest']) {
      const o = out();
      const r = await pull(name, { output: join(o, 'fsmeta.erofs'), raw: join(o, 'disk.img') });
      // skopeo's copy of the same image (straight from the registry: spawnSync holds the proxy).
      const copy = spawnSync('skopeo', ['copy', '--quiet', '--insecure-policy', '--src-tls-verify=false', `docker://${registry.host}/${name}`, `oci:${join(o, 'copy')}:x`], { encoding: 'utf8' });
      expect(copy.status, copy.stderr).toBe(0);
      const l = await fsmerge({ reference: `oci:${join(o, 'copy')}:x` }, { output: join(o, 'local', 'fsmeta.erofs') });
      expect(readFileSync(r.fsmeta.path).equals(readFileSync(l.fsmeta.path)), name).toBe(true);
      expect(r.layers.map((x) => x.diffId)).toEqual(l.layers.map((x) => x.diffId));
      for (const [i, layer] of r.layers.entries()) expect(readFileSync(layer.path).equals(readFileSync(l.layers[i]!.path)), `${name} layer ${i}`).toBe(true);
      // The kernel: the flat disk and fsmeta with -o device= mount as the local conversion's fsmeta
      // does; big:v1 (no implied directories, where fsmerge keeps a lower layer's directory as
      // docker and containerd do and overlayfs shows the upper's) also as the overlay of its layers.
      const paths = r.layers.map((x) => x.path);
      await expectMerged(name === 'big:v1' ? await overlayManifest(paths) : await deviceManifest(l.fsmeta.path, l.layers.map((x) => x.path)), r, paths);
      // What was fetched: every layer blob whole, once, and the manifest and config.
      expect(r.pull!.cacheHits).toBe(0);
      expect(r.layers.every((x) => x.fetched === x.size && x.digest !== undefined)).toBe(true);
      expect(r.pull!.fetched).toBeGreaterThan(r.layers.reduce((s, x) => s + x.fetched, 0));
      expect(r.pull!.pinned).toMatch(new RegExp(`^docker://${proxy.host}/${name.split(':')[0]}@sha256:[0-9a-f]{64}$`));
      noTemps(o);
    }
  });

  it('a second pull into the same blob dir fetches no layer blob: only the manifest and config', async () => {
    const o = out();
    const first = await pull('big:v1', { output: join(o, 'a.erofs') });
    proxy.requests.length = 0;
    const again = await pull('big:v1', { output: join(o, 'b.erofs') });
    expect(blobGets(proxy, bigLayers())).toEqual([]);
    expect(again.layers.every((l) => l.reused && l.fetched === 0)).toBe(true);
    expect(again.pull!.cacheHits).toBe(2);
    expect(again.pull!.fetched).toBeLessThan(8192);
    expect(readFileSync(again.fsmeta.path).equals(readFileSync(first.fsmeta.path))).toBe(true);
    // Pinned by digest, the same.
    const pinned = await fsmerge({ reference: first.pull!.pinned }, { registry: access, output: join(o, 'c.erofs') });
    expect(readFileSync(pinned.fsmeta.path).equals(readFileSync(first.fsmeta.path))).toBe(true);
  });

  it('-j 1, -j 3 and --standalone -z give the same images as from disk', async () => {
    const o = out();
    const one = await pull('sample:latest', { output: join(o, '1', 'fsmeta.erofs'), parallel: 1 });
    const three = await pull('sample:latest', { output: join(o, '3', 'fsmeta.erofs'), parallel: 3 });
    expect(readFileSync(one.fsmeta.path).equals(readFileSync(three.fsmeta.path))).toBe(true);
    const z = { standalone: true, compression: { algorithm: 'lz4hc' as const, ztailpacking: true } };
    const remote = await pull('sample:latest', { output: join(o, 'remote.erofs'), ...z });
    const local = await fsmerge({ image: sampleArchive }, { output: join(o, 'local.erofs'), ...z });
    expect(readFileSync(remote.fsmeta.path).equals(readFileSync(local.fsmeta.path))).toBe(true);
    noTemps(o);
  });

  it('--platform picks from a multi-platform index (nested, as skopeo --all pushes it)', async () => {
    const o = out();
    for (const [platform, want] of [
      ['linux/arm64', 'arm64\n'],
      ['linux/amd64', 'amd64\n'],
    ] as const) {
      const [os, architecture] = platform.split('/') as [string, string];
      const r = await pull('multi:latest', { output: join(o, `${architecture}.erofs`), standalone: true, platform: { os, architecture } });
      expect(r.platform).toMatch(new RegExp(`^${platform}`));
      expect(await withErofsMount(r.fsmeta.path, (mnt) => readFileSync(join(mnt, 'arch'), 'utf8'))).toBe(want);
    }
  });

  it('--keep-blobs keeps an OCI layout that skopeo reads and fsmerge converts the same; its blobs are not fetched again', async () => {
    const o = out();
    const keep = join(o, 'kept');
    const r = await pull('big:v1', { output: join(o, 'fsmeta.erofs'), keepBlobs: keep });
    expect(r.pull!.keptIn).toBe(keep);
    for (const l of r.layers) expect(readFileSync(join(keep, 'blobs/sha256', l.digest!.slice(7))).equals(registry.blob(l.digest!))).toBe(true);
    const inspect = spawnSync('skopeo', ['inspect', `oci:${keep}:v1`], { encoding: 'utf8' });
    expect(inspect.stderr).toBe('');
    expect(JSON.parse(inspect.stdout).Layers).toEqual(r.layers.map((l) => l.digest));
    const fromLayout = await fsmerge({ reference: `oci:${keep}:v1` }, { output: join(o, 'layout.erofs'), blobDir: join(o, 'layout-blobs') });
    expect(readFileSync(fromLayout.fsmeta.path).equals(readFileSync(r.fsmeta.path))).toBe(true);
    // A fresh blob dir: the layers come from the kept blobs, not the registry.
    proxy.requests.length = 0;
    const again = await pull('big:v1', { output: join(o, 'again.erofs'), blobDir: join(o, 'fresh'), keepBlobs: keep });
    expect(blobGets(proxy, bigLayers())).toEqual([]);
    expect(again.layers.every((l) => !l.reused && l.fetched === 0)).toBe(true);
    expect(readFileSync(again.fsmeta.path).equals(readFileSync(r.fsmeta.path))).toBe(true);
    // A second image joins the same layout; the first stays.
    await pull('sample:latest', { output: join(o, 'sample.erofs'), keepBlobs: keep });
    const index = JSON.parse(readFileSync(join(keep, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])).toEqual(['v1', 'latest']);
    noTemps(o);
  });

  it('a connection dropped mid-blob resumes; the images are the same', async () => {
    const o = out();
    const clean = await pull('big:v1', { output: join(o, 'clean', 'fsmeta.erofs') });
    const big = clean.layers.find((l) => l.size! > 1 << 20)!;
    let dropped = 0;
    proxy.handler = async (req, res, t) => {
      const up = await t.forward();
      if (req.url!.endsWith(`/blobs/${big.digest}`) && !req.headers.range && dropped++ === 0) return sendThenDrop(req, res, up, 1 << 20);
      t.send(up);
    };
    const r = await pull('big:v1', { output: join(o, 'faulty', 'fsmeta.erofs') });
    expect(dropped).toBeGreaterThan(0);
    // Resumed where the bytes stopped (what reached the client of the first MiB sent).
    const resumedAt = proxy.requests.filter((q) => q.url.endsWith(`/blobs/${big.digest}`) && q.headers.range !== undefined).map((q) => Number(/^bytes=(\d+)-$/.exec(String(q.headers.range))?.[1]));
    expect(resumedAt).toHaveLength(1);
    expect(resumedAt[0]).toBeGreaterThan(0);
    expect(resumedAt[0]).toBeLessThanOrEqual(1 << 20);
    expect(readFileSync(r.fsmeta.path).equals(readFileSync(clean.fsmeta.path))).toBe(true);
    for (const [i, l] of r.layers.entries()) expect(readFileSync(l.path).equals(readFileSync(clean.layers[i]!.path))).toBe(true);
  });

  it('500s, 429 with Retry-After, a redirect to blob storage on another host, and a slow stream end in the exact images', async () => {
    const o = out();
    const clean = await pull('big:v1', { output: join(o, 'clean', 'fsmeta.erofs') });
    const digests = bigLayers();
    const store = await startBlobStore((d) => registry.blob(d));
    try {
      const faults: Array<[string, Handler]> = [
        ['500 twice on the manifest', onceEach((req) => req.url!.includes('/manifests/'), 2, (_req, res) => void res.writeHead(500).end('boom'))],
        ['429 with Retry-After: 1 on each blob', onceEach((req) => digests.some((d) => req.url!.endsWith(d)), 2, (_req, res) => void res.writeHead(429, { 'retry-after': '1' }).end())],
        ['blobs redirected to another host', async (req, res, t) => {
          const d = digests.find((x) => req.url!.endsWith(`/blobs/${x}`));
          if (d) return void res.writeHead(307, { location: store.urlFor(d) }).end();
          t.send(await t.forward());
        }],
        ['a slow stream', async (req, res, t) => {
          const up = await t.forward();
          if (digests.some((d) => req.url!.endsWith(`/blobs/${d}`))) return sendSlowly(res, up, 256 << 10, 5);
          t.send(up);
        }],
      ];
      for (const [what, handler] of faults) {
        proxy.handler = handler;
        proxy.requests.length = 0;
        const r = await pull('big:v1', { output: join(o, String(n++), 'fsmeta.erofs') });
        expect(readFileSync(r.fsmeta.path).equals(readFileSync(clean.fsmeta.path)), what).toBe(true);
        for (const [i, l] of r.layers.entries()) expect(readFileSync(l.path).equals(readFileSync(clean.layers[i]!.path)), `${what}: layer ${i}`).toBe(true);
      }
      // The redirect target got every layer blob, never with credentials.
      expect(store.requests.filter((q) => q.url.startsWith('/store/')).length).toBeGreaterThanOrEqual(digests.length);
      expect(store.requests.every((q) => q.headers.authorization === undefined)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('the token flow (401 + Bearer challenge, a token per repository scope): --creds pulls; without them one line, nothing written', async () => {
    const USER = 'tok';
    const PASSWORD = 'tok-pw-5b0f-secret';
    const tokens = await startTokenServer({ user: USER, password: PASSWORD });
    const gate = await startProxy(registry.host);
    gate.handler = bearerGate(tokens);
    try {
      const o = out();
      const plain = await pull('sample:latest', { output: join(o, 'plain', 'fsmeta.erofs') });
      const target = `docker://${gate.host}/sample:latest`;
      const ok = await fsmergeCli([target, '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, '-o', join(o, 'fsmeta.erofs'), '--vmdk', join(o, 'disk.vmdk'), '--json']);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).not.toContain(PASSWORD);
      expect(readFileSync(join(o, 'fsmeta.erofs')).equals(readFileSync(plain.fsmeta.path))).toBe(true);
      expect(tokens.issued.length).toBeGreaterThan(0);
      expect(tokens.issued.every((i) => i.scope === 'repository:sample:pull')).toBe(true);
      const denied = await fsmergeCli([target, '--tls-verify=false', '-o', join(o, 'denied', 'fsmeta.erofs'), '--vmdk', join(o, 'denied', 'disk.vmdk')]);
      expect(denied.status).toBe(1);
      expect(denied.stderr.trim().split('\n')).toHaveLength(1);
      expect(denied.stderr).toMatch(new RegExp(`^fsmerge: ${target}: .*(401|unauthorized|credentials)`, 'i'));
      for (const i of tokens.issued) expect(denied.stderr + ok.stdout + ok.stderr).not.toContain(i.token);
      expect(existsSync(join(o, 'denied'))).toBe(false);
    } finally {
      await gate.close();
      await tokens.close();
    }
  });

  it('a blob with wrong bytes fails the run with one line naming the reference and the layer; no layer image, output or kept blob is left', async () => {
    const digests = bigLayers();
    const isLayer = (url: string | undefined) => digests.some((d) => url!.endsWith(`/blobs/${d}`));
    // One byte flipped in every layer blob; then each layer served the other's bytes.
    const faults: Array<[string, (url: string, body: Buffer) => Buffer, RegExp]> = [
      ['flipped', (_u, body) => (body.length > 100 && (body[body.length - 50]! ^= 0xff), body), /layer \d \(sha256:[0-9a-f]{64}\)|digest mismatch/],
      ['swapped', (u) => (u.endsWith(`/blobs/${digests[0]}`) ? registry.blob(digests[1]!) : registry.blob(digests[0]!)), /(digest|size) mismatch/],
    ];
    for (const [what, corrupt, problem] of faults) {
      const o = out();
      proxy.handler = async (req, _res, t) => {
        const up = await t.forward();
        t.send(up, isLayer(req.url) && req.method === 'GET' ? corrupt(req.url!, Buffer.from(up.body)) : up.body);
      };
      const cli = await fsmergeCli([ref('big:v1'), '--tls-verify=false', '-o', join(o, 'fsmeta.erofs'), '--keep-blobs', join(o, 'kept')]);
      expect(cli.status, what).toBe(1);
      expect(cli.stderr.trim().split('\n'), cli.stderr).toHaveLength(1);
      expect(cli.stderr.startsWith(`fsmerge: docker://${proxy.host}/big:v1`), cli.stderr).toBe(true);
      expect(cli.stderr).toMatch(problem);
      expect(existsSync(join(o, 'fsmeta.erofs'))).toBe(false);
      expect(readdirSync(join(o, 'blobs')).filter((f) => f.endsWith('.erofs'))).toEqual([]);
      const kept = join(o, 'kept', 'blobs', 'sha256');
      expect(existsSync(kept) ? readdirSync(kept) : []).toEqual([]);
      noTemps(o);
    }
  });

  it('an unknown tag or repository is a one-line error naming the reference; nothing is written', async () => {
    const o = out();
    for (const name of ['big:nope', 'nobody/here:v1']) {
      const cli = await fsmergeCli([ref(name), '--tls-verify=false', '-o', join(o, 'fsmeta.erofs'), '--vmdk', join(o, 'disk.vmdk')]);
      expect(cli.status, cli.stderr).toBe(1);
      expect(cli.stderr.trim().split('\n')).toHaveLength(1);
      expect(cli.stderr).toMatch(new RegExp(`^fsmerge: docker://${proxy.host}/${name}: .*not found`, 'i'));
    }
    expect(existsSync(o)).toBe(false);
  });

  it('a 403 from the registry (on the manifest, or on a layer blob after it) is one line naming the reference, exit 1; no output or layer image is left', async () => {
    const digests = bigLayers();
    const denied = (res: ServerResponse) => void res.writeHead(403, { 'content-type': 'application/json' }).end('{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}');
    const cases: Array<[string, (url: string) => boolean, RegExp]> = [
      ['manifest', (url) => url.includes('/manifests/'), /manifest for tag 'v1': access denied \(403: DENIED: requested access to the resource is denied\)$/],
      ['layer blobs', (url) => digests.some((d) => url.endsWith(`/blobs/${d}`)), /blob sha256:[0-9a-f]{64}: access denied \(403: DENIED: requested access to the resource is denied\)$/],
    ];
    for (const [what, match, problem] of cases) {
      const o = out();
      proxy.handler = async (req, res, t) => (match(req.url!) ? denied(res) : t.send(await t.forward()));
      const cli = await fsmergeCli([ref('big:v1'), '--tls-verify=false', '-j', '2', '-o', join(o, 'fsmeta.erofs'), '--vmdk', join(o, 'disk.vmdk')]);
      expect(cli.status, what).toBe(1);
      expect(cli.stderr.trim().split('\n'), cli.stderr).toHaveLength(1);
      expect(cli.stderr.startsWith(`fsmerge: ${ref('big:v1')}: `), cli.stderr).toBe(true);
      expect(cli.stderr.trim()).toMatch(problem);
      expect(existsSync(join(o, 'fsmeta.erofs')), what).toBe(false);
      expect(existsSync(join(o, 'disk.vmdk')), what).toBe(false);
      expect(existsSync(join(o, 'blobs')) ? readdirSync(join(o, 'blobs')) : [], what).toEqual([]);
      noTemps(o);
    }
    // Not retried: one GET per denied blob (-j 2: both layers started).
    expect(blobGets(proxy, digests)).toHaveLength(digests.length);
  });

  it('connections reset before any answer are retried (the /v2/ probe, manifest, config and blobs alike); the images are the same', async () => {
    const o = out();
    const clean = await pull('big:v1', { output: join(o, 'clean', 'fsmeta.erofs') });
    proxy.handler = onceEach(() => true, 1, (req) => void req.socket.destroy());
    proxy.requests.length = 0;
    const r = await pull('big:v1', { output: join(o, 'reset', 'fsmeta.erofs'), blobDir: join(o, 'reset', 'blobs') });
    // Every URL asked twice: reset, then answered.
    const urls = proxy.requests.map((q) => q.url);
    expect(urls.filter((u) => u === '/v2/')).toHaveLength(2);
    for (const d of bigLayers()) expect(urls.filter((u) => u.endsWith(`/blobs/${d}`))).toHaveLength(2);
    expect(readFileSync(r.fsmeta.path).equals(readFileSync(clean.fsmeta.path))).toBe(true);
    for (const [i, l] of r.layers.entries()) expect(readFileSync(l.path).equals(readFileSync(clean.layers[i]!.path)), `layer ${i}`).toBe(true);
  });

  it('a blob whose every request is reset fails after the retries in one line naming the reference, the blob and the tries; nothing is written', async () => {
    const o = out();
    const digests = bigLayers();
    proxy.handler = async (req, _res, t) => (digests.some((d) => req.url!.endsWith(`/blobs/${d}`)) ? void req.socket.destroy() : t.send(await t.forward()));
    const cli = await fsmergeCli([ref('big:v1'), '--tls-verify=false', '-j', '2', '-o', join(o, 'fsmeta.erofs')]);
    expect(cli.status, cli.stderr).toBe(1);
    expect(cli.stderr.trim().split('\n'), cli.stderr).toHaveLength(1);
    expect(cli.stderr.trim()).toMatch(new RegExp(`^fsmerge: ${ref('big:v1')}: blob sha256:[0-9a-f]{64}: connection closed by the other side \\(UND_ERR_SOCKET\\) \\(after 5 tries\\)$`));
    // DEFAULT_RETRY: 5 tries of each layer blob.
    for (const d of digests) expect(blobGets(proxy, [d]).length).toBe(5);
    expect(existsSync(join(o, 'fsmeta.erofs'))).toBe(false);
    expect(existsSync(join(o, 'blobs')) ? readdirSync(join(o, 'blobs')) : []).toEqual([]);
    noTemps(o);
  });

  it('the CLI: --json reports the pull; a terminal shows bytes fetched; spellings and usage errors', async () => {
    const o = out();
    const cli = await fsmergeCli([ref('big:v1'), '--tls-verify=false', '-o', join(o, 'fsmeta.erofs'), '--json']);
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    const json = JSON.parse(cli.stdout) as FsmergeResult;
    expect(json.pull).toMatchObject({ reference: ref('big:v1'), cacheHits: 0 });
    expect(json.layers.map((l) => l.fetched)).toEqual(json.layers.map((l) => l.size));
    // stderr a terminal (script(1)): the progress line.
    // (Straight to the registry: spawnSync holds this process, and with it the proxy.)
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${cliScript('fsmerge')} docker://${registry.host}/big:v1 --tls-verify=false -o ${join(o, 'tty.erofs')} --blobs ${join(o, 'tty-blobs')}`, '/dev/null'], { encoding: 'utf8' });
    expect(tty.status, tty.stdout).toBe(0);
    expect(tty.stdout).toMatch(/fsmerge: fetched [\d.]+ MiB of [\d.]+ MiB at [\d.]+ MiB\/s/);
    expect(tty.stdout).toMatch(/pulled docker:\/\/.*@sha256:[0-9a-f]{64}: fetched/);
    // Other spellings of inputs on disk.
    const plain = await fsmerge({ image: sampleArchive }, { output: join(o, 'plain.erofs') });
    for (const spelling of [`docker-archive:${sampleArchive}`, `docker-archive:${sampleArchive}:fstools/sample:1`, `docker-archive:${sampleArchive}:@0`]) {
      const r = await fsmergeCli([spelling, '-o', join(o, 'spelled.erofs')]);
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(o, 'spelled.erofs')).equals(readFileSync(plain.fsmeta.path)), spelling).toBe(true);
    }
    const ociPlain = await fsmerge({ image: pushed.big.dir }, { output: join(o, 'oci.erofs') });
    const atZero = await fsmergeCli([`oci:${pushed.big.dir}:@0`, '-o', join(o, 'oci0.erofs')]);
    expect(atZero.status, atZero.stderr).toBe(0);
    expect(readFileSync(join(o, 'oci0.erofs')).equals(readFileSync(ociPlain.fsmeta.path))).toBe(true);
    for (const args of [
      [sampleArchive, '--keep-blobs', join(o, 'k')],
      [sampleArchive, '--creds', 'a:b'],
      [`docker-archive:${sampleArchive}:fstools/sample:1`, '--ref', 'x'],
      ['docker://Upper/Case', '--tls-verify=false'],
      ['containers-storage:busybox'],
    ]) {
      const r = await fsmergeCli([...args, '-o', join(o, 'usage.erofs')]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^fsmerge: /);
    }
    expect(existsSync(join(o, 'usage.erofs'))).toBe(false);
  });
});

describe.runIf(ready && haveHtpasswd)('fsmerge docker:// with credentials', () => {
  const USER = 'puller';
  const PASSWORD = 'pw-7c1e9a-secret';
  let work: string;
  let registry: RegistryServer;
  const ref = () => `docker://${registry.host}/private/sample:1`;

  beforeAll(async () => {
    work = scratchDir('fsmerge-registry-auth');
    registry = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
    skopeoCopy(`docker-archive:${sampleArchive}`, ref(), { creds: `${USER}:${PASSWORD}` });
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('--creds and --authfile (auths.HOST.auth) pull; none or a wrong password fail naming the reference, never showing a secret', async () => {
    const plain = await fsmerge({ image: sampleArchive }, { output: join(work, 'plain', 'fsmeta.erofs') });
    const withCreds = await fsmergeCli([ref(), '--tls-verify=false', '--creds', `${USER}:${PASSWORD}`, '-o', join(work, 'creds.erofs'), '--json']);
    expect(withCreds.status, withCreds.stderr).toBe(0);
    expect(withCreds.stdout).not.toContain(PASSWORD);
    expect(readFileSync(join(work, 'creds.erofs')).equals(readFileSync(plain.fsmeta.path))).toBe(true);

    const authfile = join(work, 'auth.json');
    writeFileSync(authfile, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
    const withFile = await fsmergeCli([ref(), '--tls-verify=false', '--authfile', authfile, '-o', join(work, 'file.erofs')]);
    expect(withFile.status, withFile.stderr).toBe(0);
    expect(readFileSync(join(work, 'file.erofs')).equals(readFileSync(plain.fsmeta.path))).toBe(true);
    // REGISTRY_AUTH_FILE, as skopeo reads it.
    const fromEnv = await fsmergeCli([ref(), '--tls-verify=false', '-o', join(work, 'env.erofs')], { REGISTRY_AUTH_FILE: authfile });
    expect(fromEnv.status, fromEnv.stderr).toBe(0);

    for (const extra of [[], ['--creds', `${USER}:wrong-${PASSWORD}`]]) {
      const bad = await fsmergeCli([ref(), '--tls-verify=false', ...extra, '-o', join(work, 'bad.erofs')]);
      expect(bad.status).toBe(1);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toMatch(new RegExp(`^fsmerge: ${ref()}: .*(401|unauthorized|credentials)`, 'i'));
      expect(bad.stderr).not.toContain(PASSWORD);
      expect(bad.stderr).not.toContain(Buffer.from(`${USER}:wrong-${PASSWORD}`).toString('base64'));
      expect(existsSync(join(work, 'bad.erofs'))).toBe(false);
    }
  });

  it('credentials from ${XDG_RUNTIME_DIR}/containers/auth.json and ~/.docker/config.json (HOME a temp dir) pull; the containers file is read first', async () => {
    const plain = await fsmerge({ image: sampleArchive }, { output: join(work, 'plain-found', 'fsmeta.erofs') });
    const auths = (password: string) => JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${USER}:${password}`).toString('base64') } } });
    const home = join(work, 'home');
    const runtime = join(work, 'runtime');
    mkdirSync(join(home, '.docker'), { recursive: true });
    mkdirSync(join(runtime, 'containers'), { recursive: true });
    writeFileSync(join(home, '.docker/config.json'), auths(PASSWORD));
    const docker = await fsmergeCli([ref(), '--tls-verify=false', '-o', join(work, 'docker.erofs')], { HOME: home });
    expect(docker.status, docker.stderr).toBe(0);
    expect(readFileSync(join(work, 'docker.erofs')).equals(readFileSync(plain.fsmeta.path))).toBe(true);
    // Both: the containers auth.json decides (skopeo's order), so its wrong password is refused...
    writeFileSync(join(runtime, 'containers/auth.json'), auths(`wrong-${PASSWORD}`));
    const refused = await fsmergeCli([ref(), '--tls-verify=false', '-o', join(work, 'refused.erofs')], { HOME: home, XDG_RUNTIME_DIR: runtime });
    expect(refused.status).toBe(1);
    expect(refused.stderr.trim()).toBe(`fsmerge: ${ref()}: manifest for tag '1': the registry refused the credentials from ${join(runtime, 'containers/auth.json')} (key ${registry.host}) (401 unauthorized)`);
    expect(existsSync(join(work, 'refused.erofs'))).toBe(false);
    // ...and its right one pulls.
    writeFileSync(join(runtime, 'containers/auth.json'), auths(PASSWORD));
    writeFileSync(join(home, '.docker/config.json'), auths(`wrong-${PASSWORD}`));
    const xdg = await fsmergeCli([ref(), '--tls-verify=false', '-o', join(work, 'xdg.erofs')], { HOME: home, XDG_RUNTIME_DIR: runtime });
    expect(xdg.status, xdg.stderr).toBe(0);
    expect(readFileSync(join(work, 'xdg.erofs')).equals(readFileSync(plain.fsmeta.path))).toBe(true);
    for (const r of [docker, refused, xdg]) expect(r.stderr + r.stdout).not.toContain(PASSWORD);
  });

  it('a library caller gets a RegistryError (an InputError) for a refused pull', async () => {
    const err = await fsmerge({ reference: ref() }, { registry: { tlsVerify: false }, output: join(work, 'lib.erofs') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message.startsWith(`${ref()}: `)).toBe(true);
  });
});

describe.runIf(ready && haveOpenssl)('fsmerge docker:// from a self-signed HTTPS registry', () => {
  let work: string;
  let registry: RegistryServer;
  let cert: string;
  const ref = () => `docker://${registry.host}/sample:latest`;

  beforeAll(async () => {
    work = scratchDir('fsmerge-registry-tls');
    const tls = selfSignedCert(work);
    cert = tls.cert;
    registry = await startRegistry({ tls });
    skopeoCopy(`docker-archive:${sampleArchive}`, ref());
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('--tls-verify=false pulls over HTTPS; verified (the default) the certificate is refused in one line naming the registry; trusted by the system store it pulls', async () => {
    const plain = await fsmerge({ image: sampleArchive }, { output: join(work, 'plain', 'fsmeta.erofs') });
    const insecure = await fsmergeCli([ref(), '--tls-verify=false', '-o', join(work, 'insecure.erofs'), '--json']);
    expect(insecure.status, insecure.stderr).toBe(0);
    expect(readFileSync(join(work, 'insecure.erofs')).equals(readFileSync(plain.fsmeta.path))).toBe(true);

    const strict = await fsmergeCli([ref(), '-o', join(work, 'strict.erofs')]);
    expect(strict.status).toBe(1);
    expect(strict.stderr.trim()).toBe(
      `fsmerge: ${ref()}: cannot reach the registry ${registry.host}: GET /v2/ over https: TLS: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT); for a plain-HTTP or self-signed registry use tlsVerify: false (--tls-verify=false)`,
    );
    expect(existsSync(join(work, 'strict.erofs'))).toBe(false);

    // The system store is OpenSSL's default file and directory, which SSL_CERT_FILE and
    // SSL_CERT_DIR move: with the certificate there, verification passes.
    const store = join(work, 'empty-cert-dir');
    mkdirSync(store);
    const trusted = await fsmergeCli([ref(), '-o', join(work, 'trusted.erofs')], { SSL_CERT_FILE: cert, SSL_CERT_DIR: store });
    expect(trusted.status, trusted.stderr).toBe(0);
    expect(readFileSync(join(work, 'trusted.erofs')).equals(readFileSync(plain.fsmeta.path))).toBe(true);
  });
});

/** The layer digests of an OCI layout's only image. */
function layerDigests(dir: string): string[] {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  return manifest.layers.map((l) => l.digest);
}
