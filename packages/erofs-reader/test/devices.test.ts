import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffManifests, manifest } from '@fstools/fstree';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErofsError, ErofsImage, EROFS_SUPER_OFFSET, fsck, superblockChecksum } from '../src/index.js';
import { isRoot, oracle } from '../../../test/helpers/oracles.js';
import { fsckOracle, has18, hostManifest, makeSourceTree, mkfs, scratch } from './helpers.js';

const run18 = oracle('mkfs.erofs 1.8', has18, 'needs root and the trixie chroot (tools/setup-trixie-chroot.sh)');
const canMount = oracle('kernel erofs mount', isRoot, 'loop mounts need root');

describe.runIf(run18)('extra devices (--blobdev)', () => {
  let dir: ReturnType<typeof scratch>;
  let primary: string;
  let blob: string;
  let flat: string;
  let expected: ReturnType<typeof hostManifest>;

  beforeAll(() => {
    dir = scratch();
    const src = join(dir.host, 'src');
    makeSourceTree(src, { bigDir: 50 });
    expected = hostManifest(src);
    primary = join(dir.host, 'meta.erofs');
    blob = join(dir.host, 'blob.img');
    writeFileSync(blob, ''); // mkfs.erofs opens the blob device, it does not create it
    mkfs('1.8', primary, src, ['--chunksize=4096', `--blobdev=${blob}`]);
    flat = join(dir.host, 'flat.erofs');
    makeFlat(primary, blob, flat);
  });
  afterAll(() => dir?.cleanup());

  it('reads chunks from a separate blob given with devices', () => {
    expect(fsckOracle('1.8', primary, [blob]).ok).toBe(true);
    const img = ErofsImage.open(primary, { devices: [blob] });
    try {
      expect(img.deviceSlots).toHaveLength(1);
      expect(img.flat).toBe(false);
      expect(diffManifests(expected, manifest(img.toTree()))).toEqual([]);
      const runs = img.fileExtents(img.lookup('random.bin'));
      expect(runs.some((r) => r.kind === 'data' && r.device === 1)).toBe(true);
      const sparse = img.fileExtents(img.lookup('sparse.img'));
      expect(sparse.some((r) => r.kind === 'hole')).toBe(true);
    } finally {
      img.close();
    }
    expect(fsck(primary, { devices: [blob] }).errors).toEqual([]);
  });

  it('fails with a typed error when the blob is needed but neither given nor appended', () => {
    // mkfs.erofs 1.8 fills mapped_blkaddr (= primary blocks), so alone the image reads as flat.
    const img = ErofsImage.open(primary);
    try {
      expect(img.flat).toBe(true);
      expect(() => manifest(img.toTree())).toThrow(ErofsError);
    } finally {
      img.close();
    }
    const codes = fsck(primary).errors.map((e) => e.code);
    expect(new Set(codes)).toEqual(new Set(['BLOCK_OUT_OF_RANGE', 'IO'])); // the slot's range, then each read
  });

  it('reads a flat disk (blob concatenated, mapped_blkaddr set) like the kernel mounts it', async () => {
    const img = ErofsImage.open(flat);
    try {
      expect(img.flat).toBe(true);
      expect(diffManifests(expected, manifest(img.toTree()))).toEqual([]);
    } finally {
      img.close();
    }
    expect(fsck(flat).errors.map(String)).toEqual([]);
    if (!canMount) return;
    const mnt = mkdtempSync(join(tmpdir(), 'erofs-reader-mnt-'));
    const m = spawnSync('mount', ['-t', 'erofs', '-o', 'ro,loop', flat, mnt], { encoding: 'utf8' });
    expect(m.status, m.stderr).toBe(0);
    try {
      expect(diffManifests(expected, hostManifest(mnt))).toEqual([]);
    } finally {
      spawnSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('reports block references outside their device', () => {
    const bad = join(dir.host, 'short-slot.erofs');
    copyFileSync(flat, bad);
    patchSlot(bad, (slot) => slot.writeUInt32LE(1, 64)); // blocks = 1
    const codes = fsck(bad).errors.map((e) => e.code);
    expect(codes).toContain('BLOCK_OUT_OF_RANGE');
  });
});

/** Test-only: concatenates primary + blob and points the first slot's mapped_blkaddr at the blob. */
function makeFlat(primary: string, blob: string, out: string): void {
  copyFileSync(primary, out);
  const bs = 1 << readFileSync(primary)[EROFS_SUPER_OFFSET + 12]!;
  const start = Math.ceil(statSync(primary).size / bs);
  appendFileSync(out, Buffer.alloc(start * bs - statSync(primary).size));
  appendFileSync(out, readFileSync(blob));
  patchSlot(out, (slot) => slot.writeUInt32LE(start, 68));
}

/** Test-only: edits device slot 0 in place and fixes the superblock checksum. */
function patchSlot(path: string, edit: (slot: Buffer) => void): void {
  const img = readFileSync(path);
  const devtSlotoff = img.readUInt16LE(EROFS_SUPER_OFFSET + 88);
  edit(img.subarray(devtSlotoff * 128, devtSlotoff * 128 + 128));
  const bs = 1 << img[EROFS_SUPER_OFFSET + 12]!;
  const region = img.subarray(EROFS_SUPER_OFFSET, bs > EROFS_SUPER_OFFSET ? bs : EROFS_SUPER_OFFSET + bs);
  img.writeUInt32LE(superblockChecksum(region), EROFS_SUPER_OFFSET + 4);
  writeFileSync(path, img);
}
