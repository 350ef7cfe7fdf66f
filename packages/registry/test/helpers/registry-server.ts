import type { ChildProcess } from 'node:child_process';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand, oracle } from '../../../../test/helpers/oracles.js';

// Debian's docker-registry (distribution 2.8) on a free loopback port with its storage in a temp
// dir, skopeo to push images into it, htpasswd for its basic auth and openssl for a self-signed
// certificate. Every process started here is killed when the test file's process exits.

export const haveRegistry = oracle('docker-registry', hasCommand('docker-registry'), 'apt-get install docker-registry');
export const haveSkopeo = oracle('skopeo', hasCommand('skopeo'), 'apt-get install skopeo');
export const haveHtpasswd = oracle('htpasswd', hasCommand('htpasswd'), 'apt-get install apache2-utils');
export const haveOpenssl = oracle('openssl', hasCommand('openssl'), 'apt-get install openssl');

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** A port nothing listens on right now (the OS picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RegistryServer {
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  /** The storage root (blobs under docker/registry/v2/blobs/sha256/xx/HEX/data). */
  root: string;
  /** The registry's log so far (one line per request, among others). */
  log(): string;
  /** The bytes the registry stores for a blob digest. */
  blob(digest: string): Buffer;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Basic auth through an htpasswd file (bcrypt, `htpasswd -Bbc`). */
  htpasswd?: { user: string; password: string };
  /** HTTPS with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
}

/** Answers once the registry's GET /v2/ answers at all (any status), bounded to ~10 s. */
async function waitForV2(port: number, tls: boolean, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) return false;
    const ok = await new Promise<boolean>((resolve) => {
      const req = (tls ? httpsRequest : httpRequest)({ host: '127.0.0.1', port, path: '/v2/', method: 'GET', rejectUnauthorized: false, timeout: 1000 }, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Starts docker-registry; a port taken in the meantime is retried on another (3 tries). */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryServer> {
  const dir = mkdtempSync(join(tmpdir(), 'registry-test-'));
  const root = join(dir, 'storage');
  mkdirSync(root);
  let auth = '';
  if (opts.htpasswd) {
    const file = join(dir, 'htpasswd');
    const r = spawnSync('htpasswd', ['-Bbc', file, opts.htpasswd.user, opts.htpasswd.password], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    auth = `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${file}\n`;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const tls = opts.tls ? `  tls:\n    certificate: ${opts.tls.cert}\n    key: ${opts.tls.key}\n` : '';
    const config = join(dir, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${root}\nhttp:\n  addr: 127.0.0.1:${port}\n  secret: registry-test-secret\n${tls}${auth}`,
    );
    // The log goes to a file, not a pipe: a test blocked in spawnSync (skopeo) reads no pipe, and
    // a registry whose pipe is full stops answering.
    const logFile = join(dir, `registry-${attempt}.log`);
    const fd = openSync(logFile, 'w');
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    running.add(child);
    const log = () => readFileSync(logFile, 'utf8');
    child.on('exit', () => running.delete(child));
    if (await waitForV2(port, !!opts.tls, child)) {
      return {
        host: `127.0.0.1:${port}`,
        port,
        root,
        log,
        blob: (digest) => {
          const hex = digest.slice('sha256:'.length);
          return readFileSync(join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'));
        },
        stop: async () => {
          if (child.exitCode === null) {
            const exited = new Promise((r) => child.once('exit', r));
            child.kill('SIGTERM');
            await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
            if (child.exitCode === null) child.kill('SIGKILL');
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill('SIGKILL');
    if (!/address already in use/.test(log())) throw new Error(`docker-registry did not start:\n${log().slice(-2000)}`);
  }
  throw new Error('docker-registry: no free port in 3 tries');
}

/** `skopeo copy SRC docker://DEST` into a loopback registry (plain HTTP or self-signed). */
export function skopeoCopy(src: string, dest: string, opts: { creds?: string; all?: boolean } = {}): void {
  const args = ['copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false', '--preserve-digests'];
  if (opts.all) args.push('--all');
  if (opts.creds) args.push('--dest-creds', opts.creds);
  args.push(src, dest);
  const r = spawnSync('skopeo', args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`skopeo copy ${src} ${dest} failed (status ${r.status}${r.signal ? `, ${r.signal}` : ''}): ${r.stderr}`);
}

/** A self-signed certificate for 127.0.0.1 (openssl), in `dir`. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  return { cert, key };
}
