import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lz4Decompress } from '@fstools/codecs';
import type { PclusterEncoder, PlanOptions } from '../src/compress-plan.js';
import { pays, planSegment } from '../src/compress-plan.js';
import { DedupeIndex } from '../src/dedupe.js';
import { createEncoder } from '../src/encoders.js';
import { MetaPacker } from '../src/meta-packer.js';
import { mixedBytes, randomBytes, textBytes } from '../../../test/helpers/compressible.js';

const work = mkdtempSync(join(tmpdir(), 'compress-plan-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BS = 4096;
const base: PlanOptions = { blockSize: BS, pclusterSize: BS, ztailpacking: false, fragments: false, allFragments: false, interlaced: false, dedupe: false };
const lz4 = (plan: PlanOptions): PclusterEncoder => createEncoder({ algorithm: 'lz4', id: 0, level: 0, dictSize: 65536, plan });

/** The segment back from a plan: raw blocks as stored (rotation undone), compressed ones decoded. */
function decode(src: Uint8Array, plan: ReturnType<typeof planSegment>, o: PlanOptions): Uint8Array {
  const out = new Uint8Array(src.length);
  let at = 0;
  let off = 0;
  for (const e of plan.extents) {
    if (e.place === 'data') {
      const pc = plan.data.subarray(off, off + e.plen);
      off += e.plen;
      if (e.raw) {
        const rot = o.interlaced ? at % BS : 0;
        const right = Math.min(BS - rot, e.length);
        out.set(pc.subarray(rot, rot + right), at);
        out.set(pc.subarray(0, e.length - right), at + right);
      } else {
        let pad = 0;
        while (pc[pad] === 0) pad++; // ZERO_PADDING: the stream ends at the pcluster's end
        const dec = new Uint8Array(e.length);
        expect(lz4Decompress(pc.subarray(pad), dec)).toBe(e.length);
        out.set(dec, at);
      }
    } else if (e.place === 'inline') {
      if (e.raw) out.set(plan.inline!, at);
      else lz4Decompress(plan.inline!, out.subarray(at, at + e.length));
    } else if (e.place === 'fragment') {
      out.set(plan.fragment!, at);
    }
    at += e.length;
  }
  expect(at).toBe(src.length);
  return out;
}

describe('planSegment: which bytes go in which pcluster', () => {
  it('what compresses fills a pcluster each, end-aligned; what does not is stored a block per extent', () => {
    const src = mixedBytes(100_000, 1, 20_000);
    const plan = planSegment(src, true, lz4(base), base);
    expect(Buffer.from(decode(src, plan, base)).equals(src)).toBe(true);
    for (const e of plan.extents) {
      expect(e.place).toBe('data');
      expect(e.plen).toBe(BS);
      if (e.raw) expect(e.length).toBeLessThanOrEqual(BS);
      else expect(e.length).toBeGreaterThan(BS); // saved at least a block, else it would be raw
    }
    expect(plan.extents.some((e) => e.raw)).toBe(true);
    expect(plan.extents.some((e) => !e.raw)).toBe(true);
  });

  it('interlaced raw blocks are rotated by their offset in the lcluster', () => {
    const o = { ...base, interlaced: true };
    const src = Buffer.concat([textBytes(9000, 2), randomBytes(20_000, 3)]);
    const plan = planSegment(src, true, lz4(o), o);
    expect(Buffer.from(decode(src, plan, o)).equals(src)).toBe(true);
  });

  it('a last stretch of at most a block is stored as it is without trying the encoder', () => {
    let calls = 0;
    const enc = lz4(base);
    const counting: PclusterEncoder = { destSize: (s, c) => (calls++, enc.destSize(s, c)) };
    const plan = planSegment(textBytes(4000, 4), true, counting, base);
    expect(calls).toBe(0);
    expect(plan.extents).toEqual([{ length: 4000, plen: BS, raw: true, place: 'data' }]);
  });

  it('ztailpacking keeps a tail that compresses below a block inline; fragments send it to the packed inode', () => {
    const src = textBytes(30_000, 5);
    const z = { ...base, ztailpacking: true };
    const inline = planSegment(src, true, lz4(z), z);
    expect(inline.extents.at(-1)!.place).toBe('inline');
    expect(inline.inline!.length).toBeLessThanOrEqual(BS - 64);
    expect(Buffer.from(decode(src, inline, z)).equals(src)).toBe(true);
    // Not in a segment that does not end the file.
    expect(planSegment(src, false, lz4(z), z).extents.every((e) => e.place === 'data')).toBe(true);
    const f = { ...base, fragments: true };
    const frag = planSegment(src, true, lz4(f), f);
    expect(frag.extents.at(-1)!.place).toBe('fragment');
    expect(Buffer.from(decode(src, frag, f)).equals(src)).toBe(true);
    const all = { ...base, allFragments: true };
    expect(planSegment(src, true, lz4(all), all).extents).toEqual([{ length: src.length, plen: 0, raw: false, place: 'fragment' }]);
  });

  it('big pclusters take up to pclusterSize of compressed bytes each', () => {
    const o = { ...base, pclusterSize: 8 * BS };
    const src = textBytes(400_000, 6);
    const plan = planSegment(src, true, lz4(o), o);
    expect(Math.max(...plan.extents.map((e) => e.plen))).toBe(8 * BS);
    expect(Buffer.from(decode(src, plan, o)).equals(src)).toBe(true);
  });

  it('a file that compression does not shrink does not pay', () => {
    // Two blocks of raw data for 5000 bytes; text of 8192 bytes takes a compressed block and a raw one.
    for (const small of [randomBytes(5000, 7), textBytes(8192, 7)]) expect(pays(planSegment(small, true, lz4(base), base), small.length, BS)).toBe(false);
    const big = textBytes(50_000, 7);
    expect(pays(planSegment(big, true, lz4(base), base), big.length, BS)).toBe(true);
  });

  it('-E dedupe: a repeated stretch decodes from the earlier pcluster, the extent before it ending early', () => {
    const o = { ...base, dedupe: true };
    const dd = new DedupeIndex(BS, join(work, 'store'));
    try {
      const chunk = mixedBytes(40_000, 8, 7000);
      const first = planSegment(chunk, true, lz4(o), o, dd);
      expect(first.extents.some((e) => e.place === 'ref')).toBe(false);
      const again = Buffer.concat([textBytes(10_001, 9), chunk]);
      const plan = planSegment(again, true, lz4(o), o, dd);
      const refs = plan.extents.filter((e) => e.place === 'ref');
      expect(refs.length).toBeGreaterThan(0);
      expect(refs[0]!.serial).toBe(0); // the first pcluster of `chunk`
      // Nothing new stored for most of the repeat.
      expect(plan.data.length).toBeLessThan(first.data.length);
    } finally {
      dd.close();
    }
  });
});

describe('MetaPacker: a tail that must stay inside one block', () => {
  it('moves a record so its last bytes do not cross a block boundary, the header not straddling either', () => {
    const p = new MetaPacker(BS, 32);
    p.place(3000, false, 32);
    // 2000 bytes of index, then a 1500-byte inline pcluster: from 3008 the tail would cross.
    const at = p.place(3500, false, 64, 1500);
    expect(((at + 2000) % BS) + 1500).toBeLessThanOrEqual(BS);
    expect((at % BS) + 64).toBeLessThanOrEqual(BS);
  });
});
