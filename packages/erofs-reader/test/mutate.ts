import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { expect } from 'vitest';
import { ErofsError, ErofsImage, EROFS_SUPER_OFFSET, fsck, superblockChecksum } from '../src/index.js';

/** Fuzzing the reader: byte edits to an image, and everything a consumer does with the result. */

export type Mutation = { pos: number; bytes: readonly number[] };

/** Byte edits biased to the metadata-heavy start, and whole little-endian fields of odd values. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ pos: fc.nat(8191), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ pos: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 2 }) }),
  fc.record({
    pos: fc.nat(4095).map((p) => p & ~3),
    bytes: fc.constantFrom([0xff, 0xff, 0xff, 0xff], [0, 0, 0, 0], [1, 0, 0, 0], [0xff, 0xff, 0xff, 0x7f], [0, 0, 0, 0x80], [0xff, 0xff], [12, 0]),
  }),
);

/** Everything a consumer might do with an image; returns normally or throws. */
export function exercise(path: string): void {
  const img = ErofsImage.open(path, { verifyChecksum: false });
  try {
    const tree = img.toTree();
    const buf = new Uint8Array(65536);
    for (const { inode } of tree.walk()) {
      if (inode.type !== 'file') continue;
      const r = inode.data.kind === 'reader' ? inode.data.open() : undefined;
      r?.read(buf.subarray(0, Math.min(buf.length, inode.size)), 0);
      if (inode.size > buf.length) r?.read(buf, inode.size - buf.length);
    }
  } finally {
    img.close();
  }
  fsck(path);
}

/**
 * Applies `muts` to a copy of `seed`, writes it to `target` and reads it as a consumer would: it
 * must read, or fail with an ErofsError, within 5 s and without a huge allocation.
 */
export function mutateAndRead(seed: Buffer, muts: readonly Mutation[], fixChecksum: boolean, target: string, label: string): void {
  const img = Buffer.from(seed);
  for (const m of muts) for (const [i, b] of m.bytes.entries()) img[(m.pos + i) % img.length] = b;
  if (fixChecksum) {
    const bs = 1 << (img[EROFS_SUPER_OFFSET + 12]! & 31);
    const end = Math.min(img.length, bs > EROFS_SUPER_OFFSET ? bs : EROFS_SUPER_OFFSET + bs);
    if (end > EROFS_SUPER_OFFSET + 8) img.writeUInt32LE(superblockChecksum(img.subarray(EROFS_SUPER_OFFSET, end)), EROFS_SUPER_OFFSET + 4);
  }
  writeFileSync(target, img);
  const started = Date.now();
  try {
    exercise(target);
  } catch (err) {
    if (!(err instanceof ErofsError)) throw new Error(`untyped failure on ${label}: ${err instanceof Error ? err.stack : String(err)}`);
  }
  expect(Date.now() - started).toBeLessThan(5000);
  // No corrupt size may turn into a huge allocation (a coarse guard; reads are bounded by design).
  expect(process.memoryUsage().rss).toBeLessThan(2 ** 31);
}
