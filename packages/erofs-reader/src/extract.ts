import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, ftruncateSync, lchownSync, linkSync, lutimesSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Inode } from '@fstools/fstree';
import { bytesOf, describeSystemError, forEachChunk, isZero, splitTime } from '@fstools/fstree';
import type { ErofsImage } from './image.js';

export interface ExtractOptions {
  /** Set owners (default: when running as root). */
  owners?: boolean;
  /** Set xattrs with setfattr(1) (default true; skipped with a warning when it is missing). */
  xattrs?: boolean;
}

export interface ExtractResult {
  entries: number;
  /** What could not be reproduced on this host (device nodes without root, xattrs, ...). */
  warnings: string[];
}

/**
 * Writes an image's whole tree under `dest` (created if missing): files (holes left sparse),
 * directories, symlinks, hardlinks, device nodes, fifos and sockets, then owners (when root),
 * modes, xattrs and mtimes (directories last, so creating children does not disturb them).
 * Node has no mknod or xattr API: device nodes and fifos use mknod(1), xattrs setfattr(1).
 * Nothing already under `dest` is replaced or followed: an entry whose name exists there is an
 * error (a symlink left in `dest` cannot redirect a write outside it).
 */
export function extract(img: ErofsImage, dest: string, opts: ExtractOptions = {}): ExtractResult {
  const owners = opts.owners ?? process.getuid?.() === 0;
  const result: ExtractResult = { entries: 0, warnings: [] };
  const tree = img.toTree();
  const base = Buffer.from(dest);
  mkdirSync(dest, { recursive: true });
  const placed = new Map<Inode, Buffer>();
  const order: Array<{ host: Buffer; inode: Inode }> = [];
  const warn = (host: Buffer, what: string) => result.warnings.push(`${host.toString()}: ${what}`);
  for (const { path, inode } of tree.walk()) {
    const host = path ? Buffer.concat([base, Buffer.from('/'), bytesOf(path)]) : base;
    result.entries++;
    const first = placed.get(inode);
    if (first) {
      linkSync(first, host);
      continue;
    }
    placed.set(inode, host);
    order.push({ host, inode });
    switch (inode.type) {
      case 'dir':
        if (path) mkdirSync(host);
        break;
      case 'file':
        writeFile(host, inode);
        break;
      case 'symlink':
        symlinkSync(bytesOf(inode.target), host);
        break;
      case 'chr':
      case 'blk':
      case 'fifo':
      case 'sock': {
        const err = makeSpecial(dest, host, inode);
        if (err) warn(host, `cannot create ${inode.type}: ${err}`);
        break;
      }
    }
  }
  for (const { host, inode } of order) {
    try {
      if (owners) lchownSync(host, inode.uid, inode.gid);
      if (inode.type !== 'symlink') chmodSync(host, inode.mode & 0o7777);
    } catch (err) {
      warn(host, `cannot set owner/mode: ${describeSystemError(err)}`);
    }
  }
  if (opts.xattrs !== false) setXattrs(order, warn);
  for (const { host, inode } of [...order].reverse()) {
    const { sec, nsec } = splitTime(inode.mtime);
    const t = Number(sec) + nsec / 1e9;
    try {
      lutimesSync(host, t, t);
    } catch (err) {
      warn(host, `cannot set mtime: ${describeSystemError(err)}`);
    }
  }
  return result;
}

/**
 * Creates a device node, fifo (mknod(1)) or socket (a child binds one and exits) and returns why
 * not on failure. Command lines carry text, so the node is made under a plain name at the top of
 * `dest` and linked to its byte-exact place.
 */
function makeSpecial(dest: string, host: Buffer, inode: Inode): string | undefined {
  const tmp = join(dest, `.erofs-ts-${process.pid}`);
  const [cmd, args] =
    inode.type === 'sock'
      ? [process.execPath, ['-e', "require('net').createServer().listen(process.argv[1], () => process.exit(0))", tmp]]
      : ['mknod', [tmp, ...(inode.type === 'chr' || inode.type === 'blk' ? [inode.type === 'chr' ? 'c' : 'b', String(inode.major), String(inode.minor)] : ['p'])]];
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) return (r.stderr || r.error?.message || `exit ${r.status}`).trim();
  try {
    linkSync(tmp, host); // unlike rename, never replaces what is there
  } finally {
    unlinkSync(tmp);
  }
  return undefined;
}

/** Zero runs this long (and aligned) are left as holes. */
const HOLE_GRAIN = 4096;

/** Writes a file's bytes, skipping all-zero blocks so holes stay holes. */
function writeFile(host: Buffer, inode: Inode & { type: 'file' }): void {
  const fd = openSync(host, 'wx', 0o600);
  try {
    forEachChunk(inode, 1 << 20, (chunk, pos) => {
      for (let o = 0; o < chunk.length; o += HOLE_GRAIN) {
        const piece = chunk.subarray(o, o + HOLE_GRAIN);
        if (!isZero(piece)) writeSync(fd, piece, 0, piece.length, pos + o);
      }
    });
    ftruncateSync(fd, inode.size);
  } finally {
    closeSync(fd);
  }
}

/** All xattrs in one `setfattr --restore` run (getfattr's dump format, octal-escaped names). */
function setXattrs(order: Array<{ host: Buffer; inode: Inode }>, warn: (host: Buffer, what: string) => void): void {
  const lines: string[] = [];
  for (const { host, inode } of order) {
    if (!inode.xattrs.size) continue;
    lines.push(`# file: ${escape(host)}`);
    for (const [name, value] of inode.xattrs) lines.push(`${escape(Buffer.from(name))}=0x${Buffer.from(value).toString('hex')}`);
    lines.push('');
  }
  if (!lines.length) return;
  const dir = mkdtempSync(join(tmpdir(), 'erofs-ts-xattrs-'));
  try {
    const dump = join(dir, 'dump');
    writeFileSync(dump, lines.join('\n'), 'latin1');
    const r = spawnSync('setfattr', ['-h', `--restore=${dump}`], { encoding: 'utf8' });
    if (r.error || r.status !== 0) warn(Buffer.from(order[0]!.host), `setting xattrs failed: ${(r.stderr || r.error?.message || '').trim()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** getfattr-style escaping: octal for control, space-like and non-ASCII bytes, "=" and "\\". */
function escape(b: Buffer): string {
  let out = '';
  for (const c of b) out += c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x3d ? `\\${c.toString(8).padStart(3, '0')}` : String.fromCharCode(c);
  return out;
}
