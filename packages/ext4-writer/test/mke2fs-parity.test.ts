import { closeSync, mkdtempSync, openSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { runs } from '../../../test/helpers/arbitrary-tree.js';
import { differingOffsets, dumpe2fsHeader, e2fsckProblems, hasE2fsprogs, run } from '../../../test/helpers/ext4-oracles.js';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';
import type { Ext4Options } from '../src/index.js';
import { writeExt4 } from '../src/index.js';
import { yieldToEventLoop } from './helpers.js';

/**
 * Empty images must equal what mke2fs 1.47 makes with the same options, byte for byte, apart from
 * s_kbytes_written (and so the superblock checksum). mke2fs gets metadata_csum_seed (on by
 * default here, as in mke2fs 1.47.2) and -E resize= for our smaller default online-growth reserve.
 */
const enabled =
  oracle('mke2fs', hasE2fsprogs, 'e2fsprogs (mke2fs, e2fsck, dumpe2fs) not installed') &&
  oracle('python3', hasCommand('python3'), 'python3 (used to find the data ranges of sparse images) not installed');
const work = mkdtempSync(join(tmpdir(), 'ext4-parity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const UUID = '6b0d2d8e-3f5a-4c1e-9d77-2a4f1c9e0b31';
const SEED = 'c3a1e6f4-2b8d-4a57-8e0f-9b6d4c2a7e15';
const TIME = 1_700_000_000;

const BASE = ['sparse_super', 'large_file', 'filetype', 'resize_inode', 'dir_index', 'ext_attr'];
/** mke2fs 1.47.0's defaults (Debian bookworm's mke2fs.conf). */
const MKE2FS_DEFAULTS: Record<string, string[]> = {
  ext3: [...BASE, 'has_journal'],
  ext4: [...BASE, 'has_journal', 'extent', 'huge_file', 'flex_bg', 'metadata_csum', '64bit', 'dir_nlink', 'extra_isize'],
};

/** -O edits that make mke2fs produce the features our image has (meta_bg it decides itself). */
function mke2fsFeatures(type: string, ours: string[]): string[] {
  const dflt = MKE2FS_DEFAULTS[type]!;
  const edits = ours.filter((f) => f !== 'meta_bg' && !dflt.includes(f));
  for (const f of dflt) if (!ours.includes(f) && f !== 'resize_inode') edits.push(`^${f}`);
  if (!ours.includes('resize_inode') && !ours.includes('meta_bg')) edits.push('^resize_inode');
  return edits;
}

interface Case {
  size: number;
  blockSize?: number;
  off?: string[];
  extra?: Partial<Ext4Options>;
  /** The same options for mke2fs. */
  mke2fs?: string[];
  /** mke2fs -E options for the same result. */
  mke2fsExt?: string[];
}

async function compare(c: Case, name: string): Promise<void> {
  const ours = join(work, `${name}.ours`);
  const theirs = join(work, `${name}.mke2fs`);
  rmSync(ours, { force: true });
  rmSync(theirs, { force: true });
  const res = await writeExt4(undefined, ours, { size: c.size, blockSize: c.blockSize, features: c.off ?? [], uuid: UUID, hashSeed: SEED, timestamp: BigInt(TIME), ...c.extra });
  const params = Math.floor(c.size / res.blockSize);
  const hasResize = res.features.includes('resize_inode');
  closeSync(openSync(theirs, 'w'));
  truncateSync(theirs, c.size);
  const ext: string[] = [`hash_seed=${SEED}`, 'lazy_journal_init=1', ...(c.mke2fsExt ?? [])];
  if (hasResize) ext.push(`resize=${Math.min(params * 16, 2 ** 32 - 1)}`);
  const type = c.extra?.fsType ?? 'ext4';
  const args = ['-q', '-F', '-t', type, '-U', UUID, '-E', ext.join(',')];
  const feats = mke2fsFeatures(type, res.features);
  if (feats.length) args.push('-O', feats.join(','));
  if (c.blockSize) args.push('-b', String(c.blockSize));
  args.push(...(c.mke2fs ?? []), theirs, `${Math.floor(c.size / 1024)}k`);
  const m = run('mke2fs', args, { env: { E2FSPROGS_FAKE_TIME: String(TIME), MKE2FS_CONFIG: '/etc/mke2fs.conf' } });
  expect(m.status, `mke2fs ${args.join(' ')}: ${m.stdout}${m.stderr}`).toBe(0);
  // Each step below is synchronous and long on TiB images: between them the worker answers
  // vitest (its RPC gives up after 60 s of silence).
  await yieldToEventLoop();

  const header = dumpe2fsHeader(ours);
  const bs = Number(header.get('Block size'));
  const bpg = Number(header.get('Blocks per group'));
  const first = Number(header.get('First block'));
  const groups = Math.ceil((Number(header.get('Block count')) - first) / bpg);
  const sparse = header.get('Filesystem features')!.split(' ').includes('sparse_super');
  // Every superblock copy's s_kbytes_written (0x178) and s_checksum (0x3fc) may differ.
  const ignore: Array<[number, number]> = [];
  for (let g = 0; g < groups; g++) {
    if (sparse && g > 1 && !isPowerOf(g, 3) && !isPowerOf(g, 5) && !isPowerOf(g, 7)) continue;
    const at = g === 0 ? 1024 : (first + g * bpg) * bs;
    ignore.push([at + 0x178, at + 0x180], [at + 0x3fc, at + 0x400]);
  }
  expect(differingOffsets(ours, theirs, ignore), `${name}: ours vs mke2fs ${args.join(' ')}`).toEqual([]);
  await yieldToEventLoop();
  expect(e2fsckProblems(ours)).toBeUndefined();
  rmSync(ours, { force: true });
  rmSync(theirs, { force: true });
}

function isPowerOf(n: number, b: number): boolean {
  let p = b;
  while (p < n) p *= b;
  return p === n;
}

const FEATURES = ['has_journal', 'metadata_csum', 'metadata_csum_seed', '64bit', 'extent', 'flex_bg', 'sparse_super', 'resize_inode', 'dir_index', 'filetype', 'large_file', 'huge_file', 'dir_nlink', 'extra_isize', 'ext_attr'];

describe.skipIf(!enabled)('empty images equal mke2fs 1.47', () => {
  const G = 2 ** 30;
  const M = 2 ** 20;
  const geometries: Array<[string, Case]> = [
    ['floppy 2M', { size: 2 * M }],
    ['small 20M', { size: 20 * M }],
    ['small 300M (1k blocks, several flex groups)', { size: 300 * M }],
    ['one group of 4k blocks', { size: 100 * M, blockSize: 4096 }],
    ['default 700M', { size: 700 * M }],
    ['16G', { size: 16 * G }],
    ['2k blocks 1G', { size: G, blockSize: 2048 }],
    ['1k blocks 5G', { size: 5 * G, blockSize: 1024 }],
    ['100G (journal with an extent tree)', { size: 100 * G }],
    ['3T', { size: 3 * 1024 * G }],
    ['5T (big usage type)', { size: 5 * 1024 * G }],
    ['1T of 1k blocks (meta_bg)', { size: 1024 * G, blockSize: 1024 }],
    ['odd size, trimmed last group', { size: 129 * M + 7 * 1024 }],
  ];
  for (const [name, c] of geometries) it(name, () => compare(c, name.replace(/\W+/g, '_')));

  for (const f of FEATURES) it(`-O ^${f}`, () => compare({ size: 600 * M, off: [`^${f}`] }, `off_${f}`));

  it('options: -I, -N, -i, -m, -J size=, -L, -T, -t, -E root_owner', async () => {
    await compare({ size: G, extra: { inodeSize: 128 }, mke2fs: ['-I', '128'] }, 'i128');
    await compare({ size: G, extra: { inodeSize: 1024 }, mke2fs: ['-I', '1024'] }, 'i1024');
    await compare({ size: G, extra: { inodeCount: 5000 }, mke2fs: ['-N', '5000'] }, 'n5000');
    await compare({ size: 16 * M, blockSize: 1024, extra: { inodeCount: 16 }, mke2fs: ['-N', '16'] }, 'n16'); // lost+found in group 1
    await compare({ size: G, extra: { inodeRatio: 65536 }, mke2fs: ['-i', '65536'] }, 'ratio');
    await compare({ size: G, extra: { reservedRatio: 1.5 }, mke2fs: ['-m', '1.5'] }, 'm15');
    await compare({ size: G, extra: { journalMiB: 64 }, mke2fs: ['-J', 'size=64'] }, 'j64');
    await compare({ size: G, extra: { label: 'sandbox-upper' }, mke2fs: ['-L', 'sandbox-upper'] }, 'label');
    await compare({ size: G, extra: { usageTypes: ['news'] }, mke2fs: ['-T', 'news'] }, 'news');
    await compare({ size: 8 * G, extra: { usageTypes: ['largefile'] }, mke2fs: ['-T', 'largefile'] }, 'largefile');
    await compare({ size: G, extra: { fsType: 'ext3' } }, 'ext3');
    await compare({ size: G, extra: { rootOwner: { uid: 1000, gid: 100 } }, mke2fsExt: ['root_owner=1000:100'] }, 'owner');
  });

  it('random sizes, block sizes and switched-off features', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 64 * 1024 }),
        fc.constantFrom(undefined, 1024, 2048, 4096),
        fc.subarray(FEATURES, { maxLength: 3 }),
        async (mib, blockSize, off) => {
          await yieldToEventLoop();
          await compare({ size: mib * M + (mib % 7) * 1024, blockSize, off: off.map((f) => `^${f}`) }, 'prop');
        },
      ),
      { numRuns: runs(12) },
    );
  });
});
