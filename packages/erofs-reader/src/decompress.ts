import { deflateDecompress, lz4Decompress, microLzmaDecompress, zstdDecompress } from '@fstools/codecs';
import { Z_EROFS_COMPRESSION_DEFLATE, Z_EROFS_COMPRESSION_LZ4, Z_EROFS_COMPRESSION_LZMA, Z_EROFS_COMPRESSION_ZSTD, Z_EROFS_PCLUSTER_MAX_DSIZE } from './constants.js';
import type { FileExtent } from './data.js';
import type { ErofsWhere, Fail } from './errors.js';

export const algorithmNames: Record<number, string> = {
  [Z_EROFS_COMPRESSION_LZ4]: 'lz4',
  [Z_EROFS_COMPRESSION_LZMA]: 'lzma',
  [Z_EROFS_COMPRESSION_DEFLATE]: 'deflate',
  [Z_EROFS_COMPRESSION_ZSTD]: 'zstd',
};

/**
 * Strips the zero padding in front of a pcluster's compressed bytes (ZERO_PADDING: the data is
 * stored at the end of the pcluster). Only the first block may be padding (z_erofs_fixup_insize).
 */
export function stripZeroPadding(input: Uint8Array, blockSize: number, fail: Fail, where: ErofsWhere): Uint8Array {
  const limit = Math.min(input.length, blockSize);
  let i = 0;
  while (i < limit && input[i] === 0) i++;
  if (i === limit) fail('BAD_COMPRESSION', 'compressed pcluster starts with a block of zeros', where);
  return input.subarray(i);
}

/** What decoding a pcluster needs from the image besides its bytes. */
export interface DecodeContext {
  blockSize: number;
  /** ZERO_PADDING: LZ4 pclusters are zero-padded in front too (the other algorithms always are). */
  lz4ZeroPadding: boolean;
  /** The LZMA dictionary size from the superblock's configuration; asked only for LZMA pclusters. */
  lzmaDictSize(): number;
}

/**
 * Decompresses one pcluster into `outSize` bytes. A pcluster may decode to more (a partial
 * reference after dedupe, `exact` false): only the first outSize bytes are kept; fewer is
 * corruption. MicroLZMA, whose stream knows no end of its own, must end exactly at outSize when
 * `exact` (the kernel's check).
 */
export function decompressPcluster(algorithm: number, input: Uint8Array, outSize: number, exact: boolean, ctx: DecodeContext, fail: Fail, where: ErofsWhere): Uint8Array {
  const name = algorithmNames[algorithm] ?? `algorithm ${algorithm}`;
  let out: Uint8Array;
  try {
    switch (algorithm) {
      case Z_EROFS_COMPRESSION_LZ4: {
        out = new Uint8Array(outSize);
        out = out.subarray(0, lz4Decompress(input, out));
        break;
      }
      case Z_EROFS_COMPRESSION_LZMA:
        out = new Uint8Array(outSize);
        microLzmaDecompress(input, out, ctx.lzmaDictSize(), exact);
        break;
      case Z_EROFS_COMPRESSION_DEFLATE:
        // A stream cut at the pcluster end still yields what it holds.
        out = deflateDecompress(input, Z_EROFS_PCLUSTER_MAX_DSIZE);
        break;
      case Z_EROFS_COMPRESSION_ZSTD:
        out = zstdDecompress(input, Z_EROFS_PCLUSTER_MAX_DSIZE);
        break;
      default:
        fail('UNSUPPORTED', `${name} decompression is not supported`, where);
    }
  } catch (err) {
    if (err instanceof Error && err.name === 'ErofsError') throw err;
    fail('BAD_COMPRESSION', `corrupt ${name} data: ${err instanceof Error ? err.message : String(err)}`, where);
  }
  if (out.length < outSize) fail('BAD_COMPRESSION', `${name} pcluster decodes to ${out.length} bytes, ${outSize} expected`, where);
  return out.subarray(0, outSize);
}

/**
 * The bytes of a compressed-file extent from its pcluster's stored bytes (`input`):
 * - shifted: stored as is from the pcluster start;
 * - interlaced: rotated so the head, up to the first block boundary of the extent's logical
 *   start, sits at the end of the pcluster (kernel z_erofs_transform_plain);
 * - encoded: zero padding stripped (always, but for LZ4 only with the ZERO_PADDING feature), then
 *   decompressed.
 */
export function decodePcluster(ext: Extract<FileExtent, { kind: 'compressed' }>, input: Uint8Array, ctx: DecodeContext, fail: Fail, where: ErofsWhere): Uint8Array {
  const fmt = ext.format;
  const { blockSize } = ctx;
  if (fmt.kind === 'shifted') return input.subarray(0, ext.length);
  if (fmt.kind === 'interlaced') {
    // The rotation is the distance to the block boundary even when the extent ends before it:
    // a short extent's bytes then sit in the middle of the stored block, not at its end.
    const rot = blockSize - (ext.offset % blockSize);
    const head = Math.min(rot, ext.length);
    const data = new Uint8Array(ext.length);
    data.set(input.subarray(input.length - rot, input.length - rot + head));
    data.set(input.subarray(0, ext.length - head), head);
    return data;
  }
  if (fmt.kind !== 'encoded') fail('BAD_COMPRESSION', `unexpected ${fmt.kind} extent`, where);
  const padded = fmt.algorithm !== Z_EROFS_COMPRESSION_LZ4 || ctx.lz4ZeroPadding;
  const src = padded ? stripZeroPadding(input, blockSize - (ext.physical % blockSize), fail, where) : input;
  return decompressPcluster(fmt.algorithm, src, ext.length, !ext.partialref, ctx, fail, where);
}
