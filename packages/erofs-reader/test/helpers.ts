import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, linkSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasCommand, hasTrixie, isRoot, oracle, trixieRoot } from '../../../test/helpers/oracles.js';
import { noise } from '../../codecs/test/helpers.js';
import { ErofsError } from '../src/errors.js';

export const has15 = hasCommand('mkfs.erofs') && hasCommand('fsck.erofs');
export const has18 = hasTrixie && isRoot;

/** A scratch directory both the host and the trixie chroot can see (inside the chroot's /tmp). */
export function scratch(): { host: string; inChroot: (p: string) => string; cleanup: () => void } {
  const base = has18 ? join(trixieRoot, 'tmp') : tmpdir();
  const host = mkdtempSync(join(base, 'erofs-reader-'));
  return {
    host,
    inChroot: (p) => (has18 ? p.slice(trixieRoot.length) : p),
    cleanup: () => rmSync(host, { recursive: true, force: true }),
  };
}

function run(cmd: string, args: string[]): { status: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

function sh(cmd: string, ...args: string[]): void {
  const r = run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.out}`);
}

/** mkfs.erofs 1.5 (host) or 1.8 (trixie chroot); paths are host paths. */
export function mkfs(version: '1.5' | '1.8', image: string, src: string, args: string[] = []): void {
  if (version === '1.5') sh('mkfs.erofs', '--quiet', ...args, image, src);
  else sh('chroot', trixieRoot, 'mkfs.erofs', '--quiet', ...args.map(chrootArg), chrootPath(image), chrootPath(src));
}

/** fsck.erofs verdict: exit 0 and no "<E>" line (1.5 exits 0 on some errors). */
export function fsckOracle(version: '1.5' | '1.8', image: string, devices: string[] = []): { ok: boolean; out: string } {
  const args = [...devices.map((d) => `--device=${version === '1.8' ? chrootPath(d) : d}`)];
  const r = version === '1.5' ? run('fsck.erofs', [...args, image]) : run('chroot', [trixieRoot, 'fsck.erofs', ...args, chrootPath(image)]);
  return { ok: r.status === 0 && !r.out.includes('<E>'), out: r.out };
}

function chrootPath(p: string): string {
  if (!p.startsWith(trixieRoot + '/')) throw new Error(`${p} is not inside the trixie chroot`);
  return p.slice(trixieRoot.length);
}

/** Options naming host files (--blobdev=PATH, --compress-hints=PATH) get their paths translated into the chroot. */
function chrootArg(a: string): string {
  const m = /^(--blobdev=|--compress-hints=)(.*)$/.exec(a);
  return m ? m[1] + chrootPath(m[2]!) : a;
}

/** The canonical manifest of a host directory, xattrs included. */
export { hostManifest } from '../../../test/helpers/host-xattrs.js';

function setTime(path: string, sec: number, nsec: number): void {
  sh('touch', '-h', '-d', `@${sec}.${String(nsec).padStart(9, '0')}`, path);
}

function xattr(path: string, name: string, hexValue: string): void {
  sh('setfattr', '-h', '-n', name, '-v', `0x${hexValue}`, path);
}

/** Deterministic pseudo-random bytes (codecs' xorshift), so tests need no fixtures. */
export function prng(seed: number, n: number): Buffer {
  const b = noise(seed, n);
  return Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** Compressible text-like bytes. */
export function text(seed: number, n: number): Buffer {
  const words = ['erofs', 'block', 'inode', 'chunk', 'lz4', 'deflate', 'zstd', 'tail', 'packed', '\n'];
  const r = prng(seed, n);
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const w = words[r[i % n]! % words.length]! + ' ';
    parts.push(w);
    len += w.length;
  }
  return Buffer.from(parts.join('').slice(0, n));
}

export interface TreeOptions {
  /** Number of entries in the big directory (spans several blocks). */
  bigDir?: number;
  /** Create xattrs (trusted.* and security.* need root). */
  xattrs?: boolean;
  /** Sizes of extra random files. */
  sizes?: number[];
  /** Length of the long name (mkfs.erofs 1.5 mangles paths longer than 255 bytes in total). */
  longName?: number;
}

/**
 * Fills `dir` with every entry type: files of many sizes (empty, tail-packable, block multiples,
 * large, sparse), a multi-block directory, symlinks, char/block devices, fifos, sockets, hardlinks,
 * 255-byte, unicode and non-UTF-8 names, setuid/setgid/sticky modes, odd owners, ns mtimes and
 * xattrs (inline, shared by several inodes, overlayfs, security.capability, POSIX ACLs).
 */
export function makeSourceTree(dir: string, opts: TreeOptions = {}): void {
  const p = (...parts: string[]) => join(dir, ...parts);
  mkdirSync(p('sub', 'deeper', 'deepest'), { recursive: true });
  writeFileSync(p('empty'), '');
  writeFileSync(p('small.txt'), 'hello erofs\n');
  writeFileSync(p('text.txt'), text(1, 70_000));
  writeFileSync(p('random.bin'), prng(2, 200_000));
  writeFileSync(p('block.bin'), prng(3, 8192));
  writeFileSync(p('sub', 'deeper', 'deepest', 'leaf'), text(4, 5000));
  for (const [i, n] of (opts.sizes ?? [1, 511, 512, 513, 1023, 4095, 4097, 65536, 131073]).entries()) writeFileSync(p(`size-${n}`), i % 2 ? text(10 + i, n) : prng(10 + i, n));
  // Sparse: data islands in a 3 MiB file.
  const fd = openSync(p('sparse.img'), 'w');
  writeSync(fd, prng(5, 4096), 0, 4096, 1 << 20);
  writeSync(fd, Buffer.from('end'), 0, 3, 3 * (1 << 20) - 3);
  closeSync(fd);
  writeFileSync(p('n'.repeat(opts.longName ?? 255)), 'long name');
  writeFileSync(p('ünïcødé-名前.txt'), 'unicode');
  writeFileSync(Buffer.from([...Buffer.from(dir + '/raw-'), 0xff, 0xfe, 0x80]), 'not utf-8');
  writeFileSync(p('with space & $ymbols'), 'odd');
  symlinkSync('small.txt', p('link'));
  symlinkSync('/'.padEnd(300, 'x'), p('long-link'));
  symlinkSync('dangling/target', p('sub', 'dangling'));
  linkSync(p('small.txt'), p('sub', 'hardlink'));
  linkSync(p('small.txt'), p('sub', 'hardlink2'));
  // Device nodes need root (always so in CI, where a missing oracle fails instead).
  if (oracle('mknod', isRoot, 'device nodes need root')) {
    sh('mknod', p('chr'), 'c', '1', '3');
    sh('mknod', p('blk'), 'b', '259', '70000');
  }
  sh('mkfifo', p('fifo'));
  // Node has no mknod: a child binds a unix socket and exits, leaving the socket file behind.
  sh(process.execPath, '-e', "require('net').createServer().listen(process.argv[1], () => process.exit(0))", p('sock'));
  const big = p('bigdir');
  mkdirSync(big);
  for (let i = 0; i < (opts.bigDir ?? 300); i++) writeFileSync(join(big, `entry-${String(i).padStart(4, '0')}-${'x'.repeat(i % 40)}`), String(i));
  writeFileSync(p('suid'), 'x');
  chmodSync(p('suid'), 0o4755);
  chmodSync(p('sub'), 0o2775);
  mkdirSync(p('tmp'));
  chmodSync(p('tmp'), 0o1777);
  writeFileSync(p('owned'), 'owned');
  if (isRoot) {
    chownSync(p('owned'), 1000, 100);
    chownSync(p('sub', 'deeper'), 70000, 65534);
  }
  if (opts.xattrs !== false) {
    xattr(p('small.txt'), 'user.comment', Buffer.from('shared value').toString('hex'));
    xattr(p('text.txt'), 'user.comment', Buffer.from('shared value').toString('hex'));
    xattr(p('random.bin'), 'user.comment', Buffer.from('shared value').toString('hex'));
    xattr(p('text.txt'), 'user.big', prng(6, 300).toString('hex'));
    xattr(p('sub'), 'user.empty', '');
    // POSIX ACLs travel as system.posix_acl_* xattrs (name indexes 2 and 3, empty suffix).
    writeFileSync(p('acl-file'), 'acl');
    xattr(p('acl-file'), 'system.posix_acl_access', '0200000001000600ffffffff02000600e803000004000400ffffffff10000600ffffffff20000400ffffffff');
    mkdirSync(p('acl-dir'));
    xattr(p('acl-dir'), 'system.posix_acl_default', '0200000001000700ffffffff04000500ffffffff20000500ffffffff');
    if (isRoot) {
      xattr(p('sub'), 'trusted.overlay.opaque', '79');
      xattr(p('sub', 'deeper'), 'trusted.overlay.redirect', Buffer.from('/elsewhere').toString('hex'));
      xattr(p('suid'), 'security.capability', '0000000200200000000000000000000000000000');
    }
  }
  // ns mtimes last: creating children changes directory mtimes.
  setTime(p('small.txt'), 1_600_000_000, 123_456_789);
  setTime(p('link'), 1_500_000_000, 1);
  setTime(p('sub', 'deeper'), 1_700_000_000, 999_999_999);
  setTime(p('empty'), 0, 0);
}

/** The ErofsError code `fn` throws, or 'ok' when it returns (other errors propagate). */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ErofsError) return err.code;
    throw err;
  }
  return 'ok';
}
