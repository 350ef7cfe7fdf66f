import { Z_EROFS_PCLUSTER_MAX_DSIZE } from './constants.js';
import type { DedupeIndex } from './dedupe.js';
import { fullIndexSize, lclusterCount } from './lcluster-index.js';

/**
 * A fixed-output encoder: compresses as long a prefix of `src` as fits in `capacity` bytes and
 * says how many bytes of `src` that took. Output must be a complete stream of its format (the
 * kernel decodes each pcluster on its own).
 */
export interface PclusterEncoder {
  destSize(src: Uint8Array, capacity: number): { consumed: number; data: Uint8Array };
  /**
   * Forgets what earlier calls taught it, for encoders whose output depends on them: called at
   * each segment's start, so a segment's pclusters do not depend on which thread planned what before.
   */
  reset?(): void;
}

export interface PlanOptions {
  blockSize: number;
  /** Largest pcluster in bytes (a block multiple; -C). */
  pclusterSize: number;
  /** The last segment's tail may be kept inline after the inode (-E ztailpacking). */
  ztailpacking: boolean;
  /** The last segment's tail may go to the packed inode (-E fragments). */
  fragments: boolean;
  /** Every byte goes to the packed inode as it is (-E all-fragments). */
  allFragments: boolean;
  /** Uncompressed blocks are stored rotated by their start offset in the lcluster (INTERLACED_PCLUSTER). */
  interlaced: boolean;
  /** -E dedupe: an uncompressed stretch is stored one block per extent (each one can be shared). */
  dedupe: boolean;
}

/** Where a planned extent's bytes are: a new pcluster, an earlier one (dedupe), inline, the packed inode. */
export type ExtentPlace = 'data' | 'ref' | 'inline' | 'fragment';

/**
 * One extent: `length` bytes of the segment decoded from a pcluster of `plen` bytes (for inline
 * extents one block, as the index counts it; 0 for the fragment).
 */
export interface PlannedExtent {
  length: number;
  plen: number;
  raw: boolean;
  place: ExtentPlace;
  /** 'ref': the serial number of the earlier pcluster (DedupeIndex). */
  serial?: number;
  /** The pcluster decodes to more than this extent (dedupe: PARTIAL_REF). */
  partial?: boolean;
}

export interface SegmentPlan {
  extents: PlannedExtent[];
  /** The 'data' extents' pclusters, back to back (plen bytes each). */
  data: Uint8Array;
  /** The inline extent's pcluster (compressed, or raw when its extent is raw). */
  inline?: Uint8Array;
  /** The fragment extent's bytes (uncompressed: the packed inode is compressed as a whole). */
  fragment?: Uint8Array;
  /** For a whole file: its compressed form is not smaller, it is to be stored uncompressed. */
  flat?: boolean;
}

/**
 * The largest inline pcluster. The kernel wants it inside one block; this much always fits after
 * some 32-byte-aligned placement of the inode whatever precedes it in the record (a 64-byte
 * inode header must not straddle a block either), so the metadata packer never has to refuse.
 */
function inlineLimit(blockSize: number): number {
  return blockSize - 64;
}

/**
 * Decides which bytes of one segment of a file go into which pcluster and encodes them, as
 * mkfs.erofs does (lib/compress.c __z_erofs_compress_one): from the current offset, the encoder
 * fills at most one pcluster with as much input as fits. If that does not save a whole block
 * (the rounded-up compressed size is not below the input it took), the bytes are stored
 * uncompressed, a block per extent, each taking a block of input. The file's last bytes (in its
 * last segment) are special: a final stretch of at most one block is stored uncompressed without
 * trying; with ztailpacking, a tail that compresses below a block (or does not compress and is
 * shorter than one) stays inline after the inode; with fragments, a tail that fits one pcluster
 * compressed goes to the packed inode instead (with all-fragments, every byte does, uncompressed:
 * the packed inode is compressed as a whole). Segments start lcluster-aligned and are planned
 * independently, so the result depends only on the bytes and options (not on which thread ran it).
 */
export function planSegment(src: Uint8Array, last: boolean, enc: PclusterEncoder, o: PlanOptions, dedupe?: DedupeIndex): SegmentPlan {
  if (o.allFragments) return { extents: [{ length: src.length, plen: 0, raw: false, place: 'fragment' }], data: new Uint8Array(0), fragment: src };
  enc.reset?.();
  const bs = o.blockSize;
  const extents: PlannedExtent[] = [];
  // Pclusters are written here back to back: each compressed one is smaller than its input, each
  // uncompressed one but the last takes a whole block of input, so this is room enough.
  const out = new Uint8Array(roundUp(src.length, bs) + bs);
  let outLen = 0;
  const plan: SegmentPlan = { extents, data: out.subarray(0, 0) };
  const mayPacking = o.fragments && last;
  const mayInline = o.ztailpacking && last && !mayPacking;
  let head = 0;
  let clusterofs = 0;
  const push = (e: PlannedExtent): void => {
    extents.push(e);
    if (e.place === 'data') outLen += e.plen;
    head += e.length;
    clusterofs = (clusterofs + e.length) % bs;
    if (e.place === 'data') dedupe?.insert(src.subarray(head - e.length, head), e.plen, e.raw);
  };
  /**
   * -E dedupe, before each new pcluster: stretches from here on that decode from earlier
   * pclusters (mkfs z_erofs_compress_dedupe). A match may start inside the previous extent, which
   * then ends there (and decodes only partly); a big pcluster's extent must still span two
   * lclusters, the second holding its block count.
   */
  const shared = (d: DedupeIndex): void => {
    while (head < src.length) {
      const ei = extents[extents.length - 1];
      const eiLen = ei?.length ?? 0;
      // The previous extent may give up its end, but must still reach the next lcluster: one
      // lcluster holds one head (mkfs.erofs keeps a block of it, a little stricter).
      const eiStart = (((clusterofs - eiLen) % bs) + bs) % bs;
      const m = d.find(src, head - Math.max(0, Math.min(head, eiStart + eiLen - bs)), head, src.length);
      if (!m) return;
      const delta = head - m.at;
      if (m.plen > bs && ((eiStart + eiLen - delta) % bs) + m.length < 2 * bs) return;
      if (delta > 0) {
        if (ei!.plen > bs && eiStart + eiLen - delta < 2 * bs) return;
        ei!.partial = true;
        ei!.length -= delta;
        head -= delta;
        clusterofs = (eiStart + ei!.length) % bs;
      }
      push({ length: m.length, plen: m.plen, raw: m.raw, place: 'ref', serial: m.serial, partial: m.partial });
    }
  };
  /** One block of input from `head` stored uncompressed (rotated when interlaced). */
  const rawBlock = (): void => {
    const count = Math.min(bs, src.length - head);
    const rot = o.interlaced ? clusterofs : 0;
    const right = Math.min(bs - rot, count);
    out.set(src.subarray(head, head + right), outLen + rot);
    out.set(src.subarray(head + right, head + count), outLen);
    push({ length: count, plen: bs, raw: true, place: 'data' });
  };
  while (head < src.length) {
    if (dedupe) {
      shared(dedupe);
      if (head === src.length) break;
    }
    const len = src.length - head;
    if (len <= o.pclusterSize) {
      if (mayPacking) {
        plan.fragment = src.subarray(head);
        push({ length: len, plen: 0, raw: false, place: 'fragment' });
        break;
      }
      if (!mayInline && len <= bs) {
        rawBlock();
        continue;
      }
    }
    const rest = src.subarray(head, head + Math.min(len, Z_EROFS_PCLUSTER_MAX_DSIZE));
    let { consumed, data } = enc.destSize(rest, o.pclusterSize);
    if (consumed <= 0 || data.length === 0) throw new Error(`encoder took ${consumed} bytes into ${data.length}`);
    const whole = consumed === len;
    // A compressed size below a block saves nothing unless the pcluster can stay inline.
    const stored = mayInline && whole && data.length <= inlineLimit(bs) ? data.length : roundUp(data.length, bs);
    if (stored >= consumed) {
      if (mayInline && len <= inlineLimit(bs)) {
        plan.inline = src.subarray(head, head + len);
        push({ length: len, plen: bs, raw: true, place: 'inline' });
        break;
      }
      // Uncompressed: the input the encoder looked at, a block at a time (mkfs
      // write_uncompressed_extents); with dedupe one block, so the next try may match.
      let processed = Math.min(consumed, stored);
      do {
        const before = head;
        rawBlock();
        const count = head - before;
        if (o.dedupe || processed < bs + count) break;
        processed -= count;
      } while (head < src.length);
      continue;
    }
    if (mayPacking && whole && data.length < o.pclusterSize) {
      plan.fragment = rest.subarray(0, consumed);
      push({ length: consumed, plen: 0, raw: false, place: 'fragment' });
      break;
    }
    if (mayInline && whole && data.length <= inlineLimit(bs)) {
      // A copy of its own: an encoder's output may sit in memory a thread cannot hand over.
      plan.inline = new Uint8Array(data);
      push({ length: consumed, plen: bs, raw: false, place: 'inline' });
      break;
    }
    if (mayInline && whole && data.length % bs !== 0) {
      // The tail pcluster is not inline: a little less input may need a block less, the rest
      // then staying inline (mkfs tryrecompress_trailing).
      const fewer = enc.destSize(rest, roundDown(data.length, bs));
      if (fewer.consumed > 0 && fewer.data.length + (len - fewer.consumed) < roundUp(data.length, bs)) ({ consumed, data } = fewer);
    }
    const plen = roundUp(data.length, bs);
    // ZERO_PADDING: the compressed bytes end at the pcluster's end, zeros in front.
    out.set(data, outLen + plen - data.length);
    push({ length: consumed, plen, raw: false, place: 'data' });
  }
  plan.data = out.subarray(0, outLen);
  return plan;
}

function roundUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit;
}

function roundDown(n: number, unit: number): number {
  return Math.floor(n / unit) * unit;
}

/**
 * Whether a whole file's compressed form is smaller than the file (mkfs.erofs: the new pclusters,
 * inline tail and full indexes against i_size). A file with a fragment always stays compressed.
 */
export function pays(plan: SegmentPlan, size: number, blockSize: number): boolean {
  if (plan.fragment) return true;
  const written = plan.extents.reduce((n, e) => n + (e.place === 'data' ? e.plen : 0), 0);
  return written + (plan.inline?.length ?? 0) + fullIndexSize(lclusterCount(size, Math.log2(blockSize))) < size;
}
