import xxhash from 'xxhash-wasm';
import type { XXHashAPI } from 'xxhash-wasm';

/**
 * xxHash: xxh32 for EROFS's xattr name filter, xxh64 for content fingerprints (several times
 * faster than sha256 here). xxhash-wasm instantiates asynchronously; one top-level await at load
 * keeps every user synchronous.
 */
export const xxh: XXHashAPI = await xxhash();
