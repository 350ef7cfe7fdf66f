import { availableParallelism } from 'node:os';
import { VerityError } from './errors.js';
import { parseSalt } from './salt.js';
import { validBlockSize, VERITY_MAX_SALT_SIZE } from './superblock.js';

/** What a dm-verity tree was built with; byte strings as lower-case hex. */
export interface VerityInfo {
  /** SHA-256 root hash: what `veritysetup open/verify` and the dm table take. */
  rootHash: string;
  /** May be "" (no salt). */
  salt: string;
  /** Where the superblock is in the hash file (the image itself when appended); the tree follows it. */
  hashOffset: number;
  dataBlocks: number;
  dataBlockSize: number;
  hashBlockSize: number;
  algorithm: 'sha256';
  hashType: 1;
  /** The superblock's UUID, 8-4-4-4-12. */
  uuid: string;
}

/** Options shared by appendVerityTree and writeVerityTree. */
export interface TreeOptions {
  /** Hex (veritysetup --salt: "" or "-" for none) or bytes, at most 256. Default: defaultSalt(). */
  salt?: string | Uint8Array;
  /** 8-4-4-4-12 hex. Default: deriveUuid(salt, data size). */
  uuid?: string;
  /** Default 4096. */
  dataBlockSize?: number;
  /** Default 4096. */
  hashBlockSize?: number;
  /** How many data blocks to hash, from the file's start. Default: all (the size / dataBlockSize). */
  dataBlocks?: number;
  /** Where the superblock goes, a multiple of 512. Default: appended, the data size rounded up to 4096; 0 in a separate hash file. */
  hashOffset?: number;
  /** Zero-fill a data file whose size is not a multiple of dataBlockSize up to the next block, rather than refuse it. */
  pad?: boolean;
  /**
   * Threads hashing the data blocks: 1 hashes them on this thread (asynchronously); n > 1 also
   * starts n - 1 worker threads, all taking 32 MiB pieces in turn. Default: availableParallelism(),
   * at most 4, for 512 MiB of data or more (starting a worker costs ~0.1 s); else 1. Never changes
   * the result.
   */
  threads?: number;
}

/** Below this much data, worker threads cost about what they save (measured on 2 cores: even at 384 MiB, 20% faster at 512 MiB). */
export const PARALLEL_MIN_BYTES = 512 << 20;

export function threadsFor(threads: number | undefined, dataBytes: number): number {
  if (threads !== undefined) return Math.max(1, Math.floor(threads));
  return dataBytes >= PARALLEL_MIN_BYTES ? Math.min(4, availableParallelism()) : 1;
}

/** The salt option as bytes, or undefined for the default; a bad one is a VerityError naming `file`. */
export function saltOption(salt: string | Uint8Array | undefined, file: string): Buffer | undefined {
  if (salt === undefined) return undefined;
  if (typeof salt !== 'string') {
    if (salt.length > VERITY_MAX_SALT_SIZE) throw new VerityError(file, `salt of ${salt.length} bytes: at most ${VERITY_MAX_SALT_SIZE}`);
    return Buffer.from(salt);
  }
  const bytes = parseSalt(salt);
  if (!bytes) throw new VerityError(file, `salt '${salt}' is not hex of at most ${VERITY_MAX_SALT_SIZE} bytes (or "-" for none)`);
  return bytes;
}

export function blockSizeOption(size: number | undefined, name: string, file: string): number {
  const s = size ?? 4096;
  if (!validBlockSize(s)) throw new VerityError(file, `${name} ${s} is not a power of two from 512 to 524288`);
  return s;
}
