import { hash } from 'node:crypto';
import { VERITY_MAX_SALT_SIZE } from './superblock.js';

/** Tag hashed first into the default salt (a new rule would get a new tag). */
export const DEFAULT_SALT_TAG = 'fstools-verity-salt-v1';

/**
 * The default salt: SHA-256 over the tag, a NUL, the size of the hashed data in bytes
 * (dataBlocks × dataBlockSize, 64-bit little-endian) and the first data block. The same image
 * always gets the same salt, and so the same root hash; images that differ in size or in their
 * first block (an EROFS or ext4 superblock, with its UUID) get different ones. 32 bytes, the
 * size veritysetup's random salt has.
 */
export function defaultSalt(dataBytes: number, firstBlock: Uint8Array): Buffer {
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(dataBytes));
  return hash('sha256', Buffer.concat([Buffer.from(`${DEFAULT_SALT_TAG}\0`, 'latin1'), size, firstBlock]), 'buffer');
}

/**
 * A salt given as hex (as veritysetup --salt takes it): an even number of hex digits, at most
 * 256 bytes; "" and "-" are the empty salt. Returns undefined when the text is not one.
 */
export function parseSalt(text: string): Buffer | undefined {
  if (text === '-' || text === '') return Buffer.alloc(0);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(text) || text.length / 2 > VERITY_MAX_SALT_SIZE) return undefined;
  return Buffer.from(text, 'hex');
}
