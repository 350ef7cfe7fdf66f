import crc32c from 'crc-32/crc32c.js';

/**
 * ext4's checksum primitive, ext4_chksum(): CRC32C (Castagnoli) continued from `crc`, with no
 * final inversion. crc-32's buf() inverts on the way in and out, so invert around it.
 */
export function ext4Chksum(crc: number, data: Uint8Array): number {
  return ~crc32c.buf(data, ~crc) >>> 0;
}

const word = new Uint8Array(4);
const wordView = new DataView(word.buffer);

/** ext4_chksum over a little-endian 32-bit value (inode numbers, group numbers, generations). */
export function ext4ChksumU32(crc: number, value: number): number {
  wordView.setUint32(0, value, true);
  return ext4Chksum(crc, word);
}

/** The seed every metadata checksum starts from: crc32c(~0, uuid), or s_checksum_seed. */
export function csumSeedOfUuid(uuid: Uint8Array): number {
  return ext4Chksum(0xffffffff, uuid);
}

/** Per-inode seed (ei->i_csum_seed): the fs seed continued over the inode number and generation. */
export function inodeCsumSeed(fsSeed: number, ino: number, generation: number): number {
  return ext4ChksumU32(ext4ChksumU32(fsSeed, ino), generation);
}
