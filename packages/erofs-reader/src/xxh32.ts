import xxhash from 'xxhash-wasm';

// xxhash-wasm instantiates asynchronously; a top-level await keeps the reader's API synchronous.
const api = await xxhash();

/** XXH32 of raw bytes with a 32-bit seed. */
export function xxh32(data: Uint8Array, seed: number): number {
  return api.h32Raw(data, seed) >>> 0;
}
