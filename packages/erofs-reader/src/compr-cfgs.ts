import { EROFS_FEATURE_INCOMPAT_COMPR_CFGS, EROFS_SUPER_OFFSET, Z_EROFS_COMPRESSION_LZMA, Z_EROFS_LZMA_CFGS_SIZE, Z_EROFS_LZMA_MAX_DICT_SIZE, Z_EROFS_LZMA_MIN_DICT_SIZE } from './constants.js';
import type { Fail } from './errors.js';
import type { Superblock } from './superblock.js';
import { sbSize } from './superblock.js';

type ReadMeta = (pos: number, len: number) => Uint8Array;

/**
 * The configuration record of one compression algorithm (COMPR_CFGS, kernel z_erofs_parse_cfgs):
 * right after the superblock, one record per bit of available_compr_algs, lowest bit first, each at
 * a 4-byte aligned offset as `le16 length` (0 meaning 65536) followed by that many bytes.
 */
export function comprConfig(sb: Superblock, algorithm: number, read: ReadMeta, fail: Fail): { pos: number; data: Uint8Array } {
  const algs = sb.u1;
  if (!(sb.feature_incompat & EROFS_FEATURE_INCOMPAT_COMPR_CFGS) || !(algs & (1 << algorithm))) fail('BAD_SUPERBLOCK', `no configuration for compression algorithm ${algorithm}`);
  let pos = EROFS_SUPER_OFFSET + sbSize(sb);
  for (let a = 0; ; a++) {
    if (!(algs & (1 << a))) continue;
    pos = Math.ceil(pos / 4) * 4;
    const b = read(pos, 2);
    const len = (b[0]! | (b[1]! << 8)) || 65536;
    if (a === algorithm) return { pos, data: read(pos + 2, len) };
    pos += 2 + len;
  }
}

/** The LZMA dictionary size (z_erofs_lzma_cfgs), checked as the kernel's z_erofs_load_lzma_config does. */
export function lzmaDictSize(sb: Superblock, read: ReadMeta, fail: Fail): number {
  const { pos, data } = comprConfig(sb, Z_EROFS_COMPRESSION_LZMA, read, fail);
  const where = { offset: pos };
  if (data.length < Z_EROFS_LZMA_CFGS_SIZE) fail('BAD_SUPERBLOCK', `LZMA configuration of ${data.length} bytes, ${Z_EROFS_LZMA_CFGS_SIZE} expected`, where);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const format = v.getUint16(4, true);
  if (format) fail('UNSUPPORTED', `LZMA format ${format} is not supported`, where);
  const dictSize = v.getUint32(0, true);
  if (dictSize < Z_EROFS_LZMA_MIN_DICT_SIZE || dictSize > Z_EROFS_LZMA_MAX_DICT_SIZE) fail('BAD_SUPERBLOCK', `LZMA dictionary size ${dictSize} out of range`, where);
  return dictSize;
}
