import type { ByteString } from '@fstools/fstree';
import { EROFS_DIRENT_SIZE, EROFS_NAME_LEN } from './constants.js';
import type { ErofsWhere, Fail } from './errors.js';

/** One struct erofs_dirent with its name. */
export interface Dirent {
  name: ByteString;
  nid: number;
  file_type: number;
}

/**
 * Parses one directory block. `used` is how many bytes of the block belong to the directory
 * (min(block size, i_size - block start)). Dirents come first; de[0].nameoff / 12 is their count;
 * name i runs to nameoff[i+1], the last one to the first NUL or the end of the used bytes
 * (kernel dir.c / namei.c). Any bound violation fails.
 */
export function parseDirBlock(b: Uint8Array, used: number, fail: Fail, where: ErofsWhere): Dirent[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (used < EROFS_DIRENT_SIZE) fail('BAD_DIRENT', `directory block holds ${used} bytes, less than one dirent`, where);
  const nameoff0 = v.getUint16(8, true);
  if (nameoff0 < EROFS_DIRENT_SIZE || nameoff0 >= used || nameoff0 % EROFS_DIRENT_SIZE) {
    fail('BAD_DIRENT', `invalid de[0].nameoff ${nameoff0}`, where);
  }
  const count = nameoff0 / EROFS_DIRENT_SIZE;
  const out: Dirent[] = [];
  for (let i = 0; i < count; i++) {
    const o = i * EROFS_DIRENT_SIZE;
    const nameoff = v.getUint16(o + 8, true);
    let end: number;
    if (i + 1 < count) end = v.getUint16(o + EROFS_DIRENT_SIZE + 8, true);
    else {
      const nul = b.subarray(nameoff, used).indexOf(0);
      end = nul < 0 ? used : nameoff + nul;
    }
    const at = { ...where, offset: where.offset !== undefined ? where.offset + o : undefined };
    if (nameoff < nameoff0 || end > used || end <= nameoff) fail('BAD_DIRENT', `dirent ${i} name [${nameoff}, ${end}) out of bounds`, at);
    if (end - nameoff > EROFS_NAME_LEN) fail('BAD_DIRENT', `dirent ${i} name longer than ${EROFS_NAME_LEN} bytes`, at);
    const nid = v.getBigUint64(o, true);
    if (nid > BigInt(Number.MAX_SAFE_INTEGER)) fail('BAD_DIRENT', `dirent ${i} nid ${nid} out of range`, at);
    out.push({ name: Buffer.from(b.subarray(nameoff, end)).toString('latin1'), nid: Number(nid), file_type: v.getUint8(o + 10) });
  }
  return out;
}
