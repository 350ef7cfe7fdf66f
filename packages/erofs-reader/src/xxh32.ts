import { xxh } from '@fstools/fstree';

/** XXH32 of raw bytes with a 32-bit seed. */
export function xxh32(data: Uint8Array, seed: number): number {
  return xxh.h32Raw(data, seed) >>> 0;
}
