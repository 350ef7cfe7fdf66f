import { VerityError } from './errors.js';

/** The veritysetup superblock (cryptsetup lib/verity: struct verity_sb), 512 bytes, little-endian. */
export const VERITY_SB_SIZE = 512;
export const VERITY_SIGNATURE = Buffer.from('verity\0\0', 'latin1');
export const VERITY_SB_VERSION = 1;
/** Format 1: the salt is hashed before each block, digests are padded to a power of two (0 is Chrome OS's). */
export const VERITY_HASH_TYPE = 1;
export const VERITY_MAX_SALT_SIZE = 256;

/** The fields of struct verity_sb, named as there (signature and padding are implied). */
export interface VeritySuperblock {
  version: number;
  hash_type: number;
  /** 16 bytes: the UUID veritysetup shows for the hash device. */
  uuid: Uint8Array;
  /** NUL-padded to 32 bytes on disk, e.g. "sha256". */
  algorithm: string;
  data_block_size: number;
  hash_block_size: number;
  data_blocks: number;
  /** salt_size is its length. */
  salt: Uint8Array;
}

// Byte offsets in struct verity_sb.
const VERSION = 8;
const HASH_TYPE = 12;
const UUID = 16;
const ALGORITHM = 32;
const ALGORITHM_SIZE = 32;
const DATA_BLOCK_SIZE = 64;
const HASH_BLOCK_SIZE = 68;
const DATA_BLOCKS = 72;
const SALT_SIZE = 80;
const SALT = 88;

/** The 512 superblock bytes for `sb`. */
export function encodeSuperblock(sb: VeritySuperblock): Buffer {
  if (sb.uuid.length !== 16) throw new RangeError(`uuid must be 16 bytes, not ${sb.uuid.length}`);
  if (sb.salt.length > VERITY_MAX_SALT_SIZE) throw new RangeError(`salt must be at most ${VERITY_MAX_SALT_SIZE} bytes, not ${sb.salt.length}`);
  if (Buffer.byteLength(sb.algorithm, 'latin1') >= ALGORITHM_SIZE) throw new RangeError(`algorithm name '${sb.algorithm}' is too long`);
  const out = Buffer.alloc(VERITY_SB_SIZE);
  const v = new DataView(out.buffer, out.byteOffset, out.length);
  out.set(VERITY_SIGNATURE, 0);
  v.setUint32(VERSION, sb.version, true);
  v.setUint32(HASH_TYPE, sb.hash_type, true);
  out.set(sb.uuid, UUID);
  out.write(sb.algorithm, ALGORITHM, 'latin1');
  v.setUint32(DATA_BLOCK_SIZE, sb.data_block_size, true);
  v.setUint32(HASH_BLOCK_SIZE, sb.hash_block_size, true);
  v.setBigUint64(DATA_BLOCKS, BigInt(sb.data_blocks), true);
  v.setUint16(SALT_SIZE, sb.salt.length, true);
  out.set(sb.salt, SALT);
  return out;
}

/**
 * Reads the superblock from `bytes` (at least 512), checking what veritysetup checks before it
 * trusts one: signature, version 1, a hash type and salt size in range, block sizes powers of two
 * from 512 to 512 KiB, data_blocks non-zero. Problems are VerityErrors naming `file` and `offset`.
 */
export function decodeSuperblock(bytes: Uint8Array, file: string, offset: number): VeritySuperblock {
  const bad = (problem: string) => new VerityError(file, `no dm-verity superblock at offset ${offset}: ${problem}`);
  if (bytes.length < VERITY_SB_SIZE) throw bad(`the file ends ${bytes.length} bytes after it`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, VERITY_SB_SIZE);
  if (!b.subarray(0, 8).equals(VERITY_SIGNATURE)) throw bad(`signature is ${JSON.stringify(b.subarray(0, 8).toString('latin1'))}, not "verity\\0\\0"`);
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const version = v.getUint32(VERSION, true);
  if (version !== VERITY_SB_VERSION) throw bad(`version ${version} (only ${VERITY_SB_VERSION} is defined)`);
  const hash_type = v.getUint32(HASH_TYPE, true);
  if (hash_type > 1) throw bad(`hash_type ${hash_type} (0 or 1)`);
  const algorithmBytes = b.subarray(ALGORITHM, ALGORITHM + ALGORITHM_SIZE);
  const nul = algorithmBytes.indexOf(0);
  const algorithm = algorithmBytes.subarray(0, nul < 0 ? ALGORITHM_SIZE : nul).toString('latin1');
  const data_block_size = v.getUint32(DATA_BLOCK_SIZE, true);
  const hash_block_size = v.getUint32(HASH_BLOCK_SIZE, true);
  for (const [name, size] of [['data_block_size', data_block_size], ['hash_block_size', hash_block_size]] as const) {
    if (!validBlockSize(size)) throw bad(`${name} ${size} (a power of two from 512 to 524288)`);
  }
  const data_blocks = v.getBigUint64(DATA_BLOCKS, true);
  if (data_blocks === 0n || data_blocks > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`data_blocks ${data_blocks}`);
  const salt_size = v.getUint16(SALT_SIZE, true);
  if (salt_size > VERITY_MAX_SALT_SIZE) throw bad(`salt_size ${salt_size} (at most ${VERITY_MAX_SALT_SIZE})`);
  return {
    version,
    hash_type,
    uuid: Uint8Array.prototype.slice.call(b, UUID, UUID + 16),
    algorithm,
    data_block_size,
    hash_block_size,
    data_blocks: Number(data_blocks),
    salt: Uint8Array.prototype.slice.call(b, SALT, SALT + salt_size),
  };
}

/** dm-verity's block sizes: powers of two from 512 bytes to 512 KiB (cryptsetup VERITY_BLOCK_SIZE_OK). */
export function validBlockSize(size: number): boolean {
  return Number.isInteger(size) && size >= 512 && size <= 512 * 1024 && (size & (size - 1)) === 0;
}
