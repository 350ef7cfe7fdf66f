/**
 * On-disk 64-bit fields (block numbers, sizes, nids) held in a JS number, which stays below 2^53:
 * the halves the formats store, often in separate _lo/_hi fields.
 */
export const lo32 = (v: number): number => v % 2 ** 32;
export const hi32 = (v: number): number => Math.floor(v / 2 ** 32);

/** Writes `v` as a __le64 at `off`. */
export function writeU64LE(buf: Buffer, v: number, off: number): void {
  buf.writeUInt32LE(lo32(v), off);
  buf.writeUInt32LE(hi32(v), off + 4);
}
