import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ErofsImage } from '@fstools/erofs-reader';
import { formatUuid } from '@fstools/fstree';
import { hasCommand, hasTrixie, isRoot, oracle, trixieRoot } from './oracles.js';

/** Whether each EROFS oracle can run here (in CI a missing one fails the run). */
export const canFsck15 = (): boolean => oracle('fsck.erofs 1.5', hasCommand('fsck.erofs'), 'apt-get install erofs-utils');
export const canFsck18 = (): boolean => oracle('fsck.erofs 1.8', hasTrixie && isRoot, `needs root and the trixie chroot (tools/setup-trixie-chroot.sh) at ${trixieRoot}`);
export const canMount = (): boolean => oracle('kernel erofs mount', isRoot, 'loop mounts need root');

/**
 * A scratch directory for images, inside the trixie chroot when there is one so fsck.erofs 1.8
 * sees the same files without copies.
 */
export function scratchDir(prefix: string): string {
  const base = hasTrixie && isRoot ? join(trixieRoot, 'tmp') : tmpdir();
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}

function run(cmd: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

/** Throws unless fsck passed: exit 0 and no "<E>" line (1.5 exits 0 on some errors). */
function judge(what: string, r: { status: number | null; out: string }): void {
  const errors = r.out.split('\n').filter((l) => l.includes('<E>'));
  if (r.status !== 0 || errors.length > 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.out.slice(0, 4000)}`);
}

/** fsck.erofs 1.5 predates sub-page blocks (-b came in 1.6): it reads only 4 KiB-block images. */
export function fsck15(image: string, devices: string[] = []): void {
  judge(`fsck.erofs 1.5 ${image}`, run('fsck.erofs', [...devices.map((d) => `--device=${d}`), image]));
}

function inChroot(path: string): string {
  const rel = relative(trixieRoot, path);
  if (rel.startsWith('..')) throw new Error(`${path} is not inside the trixie chroot`);
  return '/' + rel;
}

/**
 * fsck.erofs 1.8 from the trixie chroot; with `extractTo` it also extracts. It cannot judge
 * block sizes under 2 KiB: it rejects even its own mkfs.erofs's 1 KiB images ("invalid
 * sb_extslots") and crashes on some 512-byte ones; the kernel mounts them. Not with --xattrs:
 * 1.8 reports a zero-length xattr value as an error while extracting (fsck/main.c checks the
 * value size with `<= 0`); xattrs are judged by the kernel mount instead.
 */
export function fsck18(image: string, devices: string[] = [], extractTo?: string): void {
  const args = [trixieRoot, 'fsck.erofs', ...devices.map((d) => `--device=${inChroot(d)}`)];
  if (extractTo) args.push(`--extract=${inChroot(extractTo)}`, '--preserve');
  args.push(inChroot(image));
  judge(`fsck.erofs 1.8 ${image}`, run('chroot', args));
}

/** Mounts an EROFS image read-only (loop), runs fn on the mount point, always unmounts. */
export async function withErofsMount<T>(image: string, fn: (dir: string) => T | Promise<T>, options: string[] = []): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'erofs-mnt-'));
  const m = run('mount', ['-t', 'erofs', '-o', ['ro', 'loop', ...options].join(','), image, dir]);
  if (m.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    const dmesg = run('dmesg', []).out.split('\n').filter((l) => /erofs/i.test(l)).slice(-5).join('\n');
    throw new Error(`mount ${image} failed: ${m.out}\n${dmesg}`);
  }
  try {
    return await fn(dir);
  } finally {
    const u = run('umount', [dir]);
    if (u.status !== 0) throw new Error(`umount ${dir}: ${u.out}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

export { hostManifest } from './host-xattrs.js';

/** Whether dump.erofs 1.8 (trixie chroot, root) can be used; else the facts come from erofs-reader. */
const canDump = (): boolean => hasTrixie && isRoot;

/**
 * One path's on-disk facts: layout number, inode size, links, xattr size, size. From dump.erofs
 * 1.8 when the chroot is usable (always in CI), otherwise from our independent reader.
 */
export function dumpPath(image: string, path: string): { layout: number; inodeSize: number; links: number; xattrSize: number; size: number } {
  if (!canDump()) {
    const img = ErofsImage.open(image);
    try {
      const ino = img.inode(img.lookup(path));
      return { layout: ino.datalayout, inodeSize: ino.inode_isize, links: ino.i_nlink, xattrSize: ino.xattr_isize, size: ino.i_size };
    } finally {
      img.close();
    }
  }
  const r = run('chroot', [trixieRoot, 'dump.erofs', `--path=${path}`, inChroot(image)]);
  const num = (re: RegExp): number => {
    const m = re.exec(r.out);
    if (!m) throw new Error(`dump.erofs --path=${path}: no match for ${re} in:\n${r.out}`);
    return Number(m[1]);
  };
  return { layout: num(/Layout: (\d+)/), inodeSize: num(/Inode size: (\d+)/), links: num(/Links: (\d+)/), xattrSize: num(/Xattr size: (\d+)/), size: num(/Size: (\d+)/) };
}

/** Superblock fields by dump.erofs -s's names (the ones tests use), from dump.erofs 1.8 or our reader. */
export function dumpSuper(image: string): Record<string, string> {
  if (!canDump()) {
    const img = ErofsImage.open(image);
    try {
      const sb = img.superblock;
      return {
        UUID: formatUuid(sb.uuid),
        'shared xattr metadata start block': String(sb.xattr_blkaddr),
      };
    } finally {
      img.close();
    }
  }
  const r = run('chroot', [trixieRoot, 'dump.erofs', '-s', inChroot(image)]);
  const out: Record<string, string> = {};
  for (const line of r.out.split('\n')) {
    const m = /^Filesystem ([^:]+):\s+(.*)$/.exec(line);
    if (m) out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}
