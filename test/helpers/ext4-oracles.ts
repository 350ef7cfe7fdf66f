import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManifestEntry, ManifestOptions } from '@fstools/fstree';
import { manifest } from '@fstools/fstree';
import { hostTree } from './host-xattrs.js';
import { hasCommand, isRoot, trixieRoot } from './oracles.js';

/** e2fsprogs tools (e2fsck, debugfs, dumpe2fs, mke2fs) on the PATH. */
export const hasE2fsprogs = ['e2fsck', 'debugfs', 'dumpe2fs', 'mke2fs'].every(hasCommand);
/** Loop mounts need root and the loop driver. */
export const canLoopMount = isRoot && existsSync('/dev/loop-control') && hasCommand('mount');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): RunResult {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...opts.env }, input: opts.input, maxBuffer: 1 << 28 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const PASS_LINES = [
  'Pass 1: Checking inodes, blocks, and sizes',
  'Pass 2: Checking directory structure',
  'Pass 3: Checking directory connectivity',
  'Pass 4: Checking reference counts',
  'Pass 5: Checking group summary information',
];

/**
 * Runs `e2fsck -fn` and returns a description of anything but a clean result: exit 0, stdout
 * exactly the five pass lines and the summary line, stderr only the version banner.
 */
export function e2fsckProblems(img: string): string | undefined {
  return judge(run('e2fsck', ['-fn', img]), img);
}

/**
 * The same with e2fsck 1.47.2 from the trixie chroot, on a sparse copy of the image inside it
 * (the chroot has no mtab: that one warning is expected).
 */
export function trixieE2fsckProblems(img: string): string | undefined {
  const dir = mkdtempSync(join(trixieRoot, 'tmp', 'ext4-'));
  try {
    const copy = join(dir, 'img');
    const c = run('cp', ['--sparse=always', img, copy]);
    if (c.status !== 0) throw new Error(c.stderr);
    const r = run('chroot', [trixieRoot, 'e2fsck', '-fn', copy.slice(trixieRoot.length)]);
    r.stderr = r.stderr.split('\n').filter((l) => !l.includes('missing mtab file')).join('\n');
    return judge(r, img);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hasTrixieE2fsck = isRoot && existsSync(join(trixieRoot, 'usr/sbin/e2fsck'));

function judge(r: RunResult, img: string): string | undefined {
  const out = r.stdout.trimEnd().split('\n');
  // The summary names the volume label when there is one, else the image path.
  const summary = /^.+: \d+\/\d+ files \(\d+\.\d% non-contiguous\), \d+\/\d+ blocks$/;
  const err = r.stderr.trim();
  const clean = r.status === 0 && out.length === 6 && PASS_LINES.every((l, i) => out[i] === l) && summary.test(out[5]!) && /^e2fsck \S+ \([^)]*\)$/.test(err);
  return clean ? undefined : `e2fsck -fn ${img} exited ${r.status}:\n${r.stdout}${r.stderr}`;
}

/** dumpe2fs -h as a map of "Field name" to value. */
export function dumpe2fsHeader(img: string): Map<string, string> {
  const r = run('dumpe2fs', ['-h', img]);
  if (r.status !== 0) throw new Error(`dumpe2fs -h ${img}: ${r.stderr}`);
  const out = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) out.set(m[1]!.trim(), m[2]!.trim());
  }
  return out;
}

/** Mounts an image (loop) for the duration of `fn`. */
export async function withMount<T>(img: string, fn: (dir: string) => Promise<T> | T, opts: { readonly?: boolean; type?: string } = {}): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'ext4-mnt-'));
  const m = run('mount', ['-t', opts.type ?? 'ext4', '-o', `loop,${opts.readonly ? 'ro' : 'rw'}`, img, dir]);
  if (m.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`mount ${img}: ${m.stderr}`);
  }
  try {
    return await fn(dir);
  } finally {
    const u = run('umount', [dir]);
    if (u.status !== 0) throw new Error(`umount ${dir}: ${u.stderr}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The canonical manifest of a mounted tree (xattrs via getfattr), lost+found left out unless asked. */
export function mountedManifest(dir: string, opts: ManifestOptions & { keepLostFound?: boolean } = {}): ManifestEntry[] {
  return manifest(hostTree(dir, opts.keepLostFound ? undefined : (p) => p === 'lost+found'), opts);
}

/** Byte ranges of a file that hold data (SEEK_DATA/SEEK_HOLE, via python3). */
export function dataRanges(path: string): Array<[number, number]> {
  const script = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
end = os.fstat(fd).st_size
pos = 0
while pos < end:
    try:
        s = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    e = os.lseek(fd, s, os.SEEK_HOLE)
    print(s, e)
    pos = e
`;
  const r = run('python3', ['-c', script, path]);
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .filter((l) => l)
    .map((l) => l.split(' ').map(Number) as [number, number]);
}

/**
 * Offsets where two image files differ, reading only where either has data (holes read as zeros),
 * skipping [start, end) ranges in `ignore`.
 */
export function differingOffsets(a: string, b: string, ignore: Array<[number, number]>, limit = 20): number[] {
  const ranges = [...dataRanges(a), ...dataRanges(b)].sort((x, y) => x[0] - y[0]);
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  const out: number[] = [];
  const chunk = 1 << 20;
  const ba = Buffer.alloc(chunk);
  const bb = Buffer.alloc(chunk);
  try {
    let done = 0;
    for (const [s, e] of ranges) {
      for (let pos = Math.max(s, done); pos < e && out.length < limit; pos += chunk) {
        const n = Math.min(chunk, e - pos);
        ba.fill(0, 0, n);
        bb.fill(0, 0, n);
        readSync(fa, ba, 0, n, pos);
        readSync(fb, bb, 0, n, pos);
        if (ba.subarray(0, n).equals(bb.subarray(0, n))) continue;
        for (let i = 0; i < n && out.length < limit; i++) {
          const off = pos + i;
          if (ba[i] !== bb[i] && !ignore.some(([x, y]) => off >= x && off < y)) out.push(off);
        }
      }
      done = Math.max(done, e);
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
  return out;
}
