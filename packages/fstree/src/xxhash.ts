import xxhash from 'xxhash-wasm';
import type { XXHash, XXHashAPI } from 'xxhash-wasm';

/** A streaming xxh64 (from `xxh.create64`). */
export type Xxh64 = XXHash<bigint>;

/**
 * xxHash: xxh32 for EROFS's xattr name filter, xxh64 for content fingerprints (several times
 * faster than sha256 here). xxhash-wasm instantiates asynchronously; one top-level await at load
 * keeps every user synchronous.
 */
export const xxh: XXHashAPI = await xxhash();
