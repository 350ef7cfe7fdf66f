import xxhash from 'xxhash-wasm';
import type { XXHashAPI } from 'xxhash-wasm';

let api: Promise<XXHashAPI> | undefined;

/** The xxhash functions (xxh32 for the xattr name filter, xxh64 for content fingerprints). */
export function xxhashApi(): Promise<XXHashAPI> {
  api ??= xxhash();
  return api;
}
