import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { encodeHeader, endOfArchive, padding, utf8 } from '@fstools/fstree';
import type { TarEntryType } from '@fstools/fstree';

const bins = {
  'mkerofs-ts': '../../packages/erofs-writer/bin/mkerofs-ts.cjs',
  'erofs-ts': '../../packages/erofs-reader/bin/erofs-ts.cjs',
  'mkext4-ts': '../../packages/ext4-writer/bin/mkext4-ts.cjs',
  fsmerge: '../../packages/oci-fsmerge/bin/fsmerge.cjs',
  'vmdk-ts': '../../packages/vmdk/bin/vmdk-ts.cjs',
  'boot-ts': '../../packages/boot/bin/boot-ts.cjs',
} as const;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The built script of one of our CLIs (run it with process.execPath). */
export function cliScript(name: keyof typeof bins): string {
  return fileURLToPath(new URL(bins[name], import.meta.url));
}

/** Runs one of our CLIs (built) as a user would, with a clean environment plus `env`, in `cwd` when given. */
export function cli(name: keyof typeof bins, args: string[], opts: { env?: Record<string, string>; input?: Buffer; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [cliScript(name), ...args], {
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    input: opts.input,
    cwd: opts.cwd,
    maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/**
 * Starts one of our CLIs, sends it `signal` as soon as `ready()` holds (polled every 5 ms; the
 * command must not finish first) and resolves with how it ended. With `stdin`, those bytes are
 * piped in and the pipe is left open (the command waits for more).
 */
export function interruptCli(
  name: keyof typeof bins,
  args: string[],
  ready: () => boolean,
  signal: NodeJS.Signals,
  stdin?: Buffer,
): Promise<{ signal: NodeJS.Signals | null; status: number | null; stderr: string; finishedFirst: boolean }> {
  const child = spawn(process.execPath, [cliScript(name), ...args], { stdio: [stdin ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
  if (stdin) child.stdin!.on('error', () => {}).write(stdin);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let sent = false;
  const poll = setInterval(() => {
    if (sent || !ready()) return;
    sent = true;
    child.kill(signal);
  }, 5);
  return new Promise((done) =>
    child.on('exit', (status, sig) => {
      clearInterval(poll);
      done({ signal: sig, status, stderr, finishedFirst: !sent });
    }),
  );
}

/**
 * Interrupts one of our CLIs with `signal` once its hidden temporary file appears in `out`, and
 * expects it to die of the signal without a word, leaving `out` empty.
 */
export async function expectCleanInterrupt(name: keyof typeof bins, args: string[], out: string, signal: NodeJS.Signals): Promise<void> {
  const r = await interruptCli(name, args, () => readdirSync(out).some((f) => f.startsWith('.')), signal);
  expect(r.finishedFirst, 'the run ended before it could be interrupted').toBe(false);
  expect([r.signal, r.status, r.stderr]).toEqual([signal, null, '']);
  expect(readdirSync(out)).toEqual([]);
}

/** Runs one of our CLIs on a pseudo-terminal (script(1)); its stdout and stderr both land in `stdout`. */
export function cliOnTerminal(name: keyof typeof bins, args: string[], opts: { input?: string } = {}): SpawnSyncReturns<string> {
  const command = [process.execPath, cliScript(name), ...args].map((a) => `'${a}'`).join(' ');
  return spawnSync('script', ['-qec', command, '/dev/null'], { input: opts.input, encoding: 'utf8', timeout: 60_000 });
}

/** Makes `path` a sparse file of `bytes` zero bytes (no disk used). */
export function sparseFile(path: string, bytes: number): void {
  writeFileSync(path, '');
  truncateSync(path, bytes);
}

/** One member of a hand-made test tar: header (pax records as needed), data, padding. */
export function tarMember(path: string, opts: { type?: TarEntryType; data?: Buffer; linkname?: string; xattrs?: Map<string, Uint8Array> } = {}): Buffer {
  const { type = 'file', data = Buffer.alloc(0), linkname = '', xattrs = new Map() } = opts;
  const header = encodeHeader({ path: utf8(path), type, mode: type === 'symlink' ? 0o777 : 0o644, uid: 0, gid: 0, mtime: 0n, size: data.length, linkname: utf8(linkname), major: 0, minor: 0, xattrs });
  return Buffer.concat([header, data, padding(data.length)]);
}

/**
 * Writes a tar holding one regular file `member` of `bytes` zero bytes, as a sparse host file
 * (a large input that costs no disk and takes a while to read).
 */
export function zeroFileTar(path: string, member: string, bytes: number): void {
  const header = encodeHeader({ path: utf8(member), type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: bytes, linkname: '', major: 0, minor: 0, xattrs: new Map() });
  writeFileSync(path, header);
  truncateSync(path, header.length + bytes + padding(bytes).length + endOfArchive().length);
}
