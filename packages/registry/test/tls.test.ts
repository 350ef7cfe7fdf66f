import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '@fstools/registry';
import type { RegistryEvent } from '@fstools/registry';
import { collect } from '../../../test/helpers/streams.js';
import { oneLineError } from './helpers/errors.js';
import { sampleArchive } from './helpers/images.js';
import type { RegistryServer } from './helpers/registry-server.js';
import { freePort, haveOpenssl, haveRegistry, haveSkopeo, selfSignedCert, skopeoCopy, startRegistry } from './helpers/registry-server.js';

// HTTPS by default; tlsVerify false (skopeo's --tls-verify=false) accepts a self-signed
// certificate and, as containers/image does, falls back to plain HTTP when HTTPS fails.

const ready = haveRegistry && haveSkopeo && haveOpenssl;

describe.runIf(ready)('TLS and plain HTTP', () => {
  let work: string;
  let secure: RegistryServer;
  let plain: RegistryServer;
  const clients: RegistryClient[] = [];
  const client = (tlsVerify: boolean, events?: RegistryEvent[]) => {
    const c = new RegistryClient({ tlsVerify, retry: { baseDelayMs: 20 }, ...(events && { onEvent: (e) => events.push(e) }) });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'registry-tls-'));
    secure = await startRegistry({ tls: selfSignedCert(work) });
    plain = await startRegistry();
    skopeoCopy(`docker-archive:${sampleArchive}`, `docker://${secure.host}/sample:latest`);
    skopeoCopy(`docker-archive:${sampleArchive}`, `docker://${plain.host}/sample:latest`);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await secure?.stop();
    await plain?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('tlsVerify false pulls from a self-signed HTTPS registry over HTTPS', async () => {
    const events: RegistryEvent[] = [];
    const c = client(false, events);
    const img = await c.resolveImage(`docker://${secure.host}/sample`);
    for (const l of img.layers) expect((await collect(c.openBlob(img.reference, l))).equals(secure.blob(l.digest))).toBe(true);
    expect(events.filter((e) => e.type === 'scheme')).toEqual([{ type: 'scheme', registry: secure.host, origin: `https://${secure.host}` }]);
    expect(events.some((e) => e.type === 'request' && e.url.startsWith('http:'))).toBe(false);
  });

  it('tlsVerify true refuses the self-signed certificate in one line, saying how to allow it', async () => {
    const r = `docker://${secure.host}/sample`;
    const err = await oneLineError(client(true).getManifest(r), 'tls', `${r}:latest`);
    expect(err.message).toContain(`cannot reach the registry ${secure.host}: GET /v2/ over https: TLS: self-signed certificate`);
    expect(err.message).toContain('use tlsVerify: false (--tls-verify=false)');
  });

  it('tlsVerify false tries HTTPS first, then plain HTTP; tlsVerify true never uses HTTP', async () => {
    const events: RegistryEvent[] = [];
    const img = await client(false, events).resolveImage(`docker://${plain.host}/sample`);
    expect(img.layers.length).toBeGreaterThan(0);
    const requests = events.filter((e) => e.type === 'request').map((e) => e.type === 'request' && e.url);
    expect(requests.slice(0, 2)).toEqual([`https://${plain.host}/v2/`, `http://${plain.host}/v2/`]);
    expect(events.find((e) => e.type === 'scheme')).toEqual({ type: 'scheme', registry: plain.host, origin: `http://${plain.host}` });

    const strict: RegistryEvent[] = [];
    const err = await oneLineError(client(true, strict).getManifest(`docker://${plain.host}/sample`), 'tls');
    expect(err.message).toContain('the server does not speak TLS (a plain-HTTP registry?)');
    expect(strict.every((e) => e.type !== 'request' || e.url.startsWith('https:'))).toBe(true);
  });

  it('nothing listening: one line naming both attempts', async () => {
    const port = await freePort();
    const err = await oneLineError(client(false).getManifest(`docker://127.0.0.1:${port}/x`), 'network', `docker://127.0.0.1:${port}/x:latest`);
    expect(err.message).toBe(
      `docker://127.0.0.1:${port}/x:latest: cannot reach the registry 127.0.0.1:${port}: GET /v2/ over https: connection refused (ECONNREFUSED); GET /v2/ over http: connection refused (ECONNREFUSED)`,
    );
  });
});
