import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { decodeRawHeader, finishChecksum, FsTree, makeDevice, makeDir, makeFile, makeSymlink, treeToTar, utf8 } from '@fstools/fstree';
import { collect } from './streams.js';

// Damaged tar archives for fuzz tests: two real archives (ours, pax; GNU tar's) and an arbitrary
// damage (flipped bytes, biased to header blocks, checksums optionally made right again so the
// damage reaches the fields; a cut; a chunk size for the stream).

/** Our own pax archive: long names and links, big ids, xattrs, devices, ns times, a hard link. */
export async function paxArchive(): Promise<Buffer> {
  const t = new FsTree(makeDir({ mode: 0o755, mtime: 1_700_000_000_123_456_789n }));
  const long = 'd'.repeat(200);
  t.set(utf8(long), makeDir({ mode: 0o2775, uid: 1000, gid: 1000 }));
  t.set(utf8(`${long}/${'n'.repeat(255)}`), makeFile(Buffer.from('two hundred and fifty five'), { mode: 0o4755 }));
  const shared = makeFile(Buffer.alloc(9000, 7), { uid: 4_000_000_000, gid: 3_000_000_000 });
  t.set(utf8('hard/a'), shared, () => ({}));
  t.set(utf8('hard/b'), shared);
  t.set(utf8('link'), makeSymlink(utf8('x'.repeat(300))));
  t.set(utf8('dev'), makeDevice('blk', 4095, 1_048_575));
  t.set(utf8('caps'), makeFile(Buffer.from('elf'), { xattrs: new Map([['security.capability', new Uint8Array(20).fill(1)]]) }));
  return collect(treeToTar(t));
}

/** GNU tar's own format: ././@LongLink members for a long name and a long link. */
export function gnuArchive(): Buffer {
  const work = mkdtempSync(join(tmpdir(), 'tar-damage-'));
  try {
    const src = join(work, 'src');
    mkdirSync(join(src, 'l'.repeat(120)), { recursive: true });
    writeFileSync(join(src, 'l'.repeat(120), 'f'.repeat(150)), 'gnu long name');
    writeFileSync(join(src, 'data'), Buffer.alloc(1500, 3));
    symlinkSync('t'.repeat(140), join(src, 'long-link'));
    const out = join(work, 'gnu.tar');
    const r = spawnSync('tar', ['--format=gnu', '--owner=0', '--group=0', '--numeric-owner', '-cf', out, '-C', src, '.'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return readFileSync(out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The archives the fuzz tests damage, by name. */
export const damageSources: Array<[string, () => Promise<Buffer>]> = [
  ['a pax archive of ours', paxArchive],
  ['a GNU tar archive', async () => gnuArchive()],
];

/** Makes the header block at `at` carry its checksum again. */
export function setChecksum(b: Buffer, at: number): void {
  finishChecksum(b.subarray(at, at + 512));
}

/** Offsets of the blocks that are headers: they decode (their checksum field holds their checksum). */
export function headerBlocks(b: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 512 <= b.length; at += 512) {
    try {
      if (decodeRawHeader(b.subarray(at, at + 512))) out.push(at);
    } catch {
      // not a header: file data
    }
  }
  return out;
}

export interface Damage {
  flips: Array<{ at: number; value: number }>;
  cut: number | undefined;
  /** Whether damaged headers get their checksums made right again. */
  fix: boolean;
  chunk: number;
}

/** Damage to an archive of `length` bytes. */
export function damageArb(length: number): fc.Arbitrary<Damage> {
  const blocks = Math.floor(length / 512);
  return fc.record({
    flips: fc.array(
      fc.record({
        at: fc.oneof(fc.integer({ min: 0, max: length - 1 }), fc.integer({ min: 0, max: blocks - 1 }).chain((b) => fc.integer({ min: b * 512, max: b * 512 + 511 }))),
        value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0x20, 0x30, 0x37, 0x39, 0x80, 0xff)),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    cut: fc.option(fc.integer({ min: 0, max: length }), { nil: undefined }),
    fix: fc.boolean(),
    chunk: fc.constantFrom(1 << 20, 4096, 777, 511),
  });
}

/** The archive with the damage done. */
export function damaged(base: Buffer, headers: number[], d: Damage): Buffer {
  const bytes = Buffer.from(base);
  for (const f of d.flips) bytes[f.at] = f.value;
  if (d.fix) for (const at of headers) if (d.flips.some((f) => f.at >= at && f.at < at + 512)) setChecksum(bytes, at);
  return d.cut === undefined ? bytes : bytes.subarray(0, d.cut);
}
