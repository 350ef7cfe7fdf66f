import { JBD2_MAGIC_NUMBER, JBD2_SUPERBLOCK_V2 } from './constants.js';

/**
 * The jbd2 superblock of an empty, clean internal journal (include/linux/jbd2.h, big-endian):
 * s_first = 1, s_sequence = 1, s_start = 0 (nothing to replay), one user, the filesystem's UUID.
 * No journal features: the kernel turns on checksums (csum v3) itself when it mounts a
 * metadata_csum filesystem. The other journal blocks may stay holes.
 */
export function encodeJournalSuperblock(blockSize: number, maxlen: number, uuid: Uint8Array): Uint8Array {
  const b = new Uint8Array(blockSize);
  const dv = new DataView(b.buffer);
  dv.setUint32(0x00, JBD2_MAGIC_NUMBER); // h_magic
  dv.setUint32(0x04, JBD2_SUPERBLOCK_V2); // h_blocktype
  dv.setUint32(0x0c, blockSize); // s_blocksize
  dv.setUint32(0x10, maxlen); // s_maxlen
  dv.setUint32(0x14, 1); // s_first
  dv.setUint32(0x18, 1); // s_sequence
  b.set(uuid, 0x30); // s_uuid
  dv.setUint32(0x40, 1); // s_nr_users
  return b;
}
