/**
 * The htree name hash, half-MD4 with signed chars (fs/ext4/hash.c; the superblock says
 * signed_directory_hash, as mke2fs sets on x86). Returns the major hash with bit 0 clear and the
 * minor hash.
 */

/** The hash seed used when s_hash_seed is all zero. */
const DEFAULT_SEED = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
const K2 = 0x5a827999; // 013240474631
const K3 = 0x6ed9eba1; // 015666365641
/** EXT4_HTREE_EOF_32BIT << 1: a hash the kernel reserves for end-of-directory. */
const EOF_HASH = 0xfffffffe;

const rotl = (x: number, s: number): number => ((x << s) | (x >>> (32 - s))) >>> 0;
const F = (x: number, y: number, z: number): number => z ^ (x & (y ^ z));
const G = (x: number, y: number, z: number): number => ((x & y) + ((x ^ y) & z)) >>> 0;
const H = (x: number, y: number, z: number): number => x ^ y ^ z;

function halfMd4Transform(buf: number[], inp: Uint32Array): void {
  let [a, b, c, d] = buf as [number, number, number, number];
  const round = (f: typeof F, w: number, x: number, y: number, z: number, k: number, s: number): number => rotl((w + f(x, y, z) + k) >>> 0, s);
  a = round(F, a, b, c, d, inp[0]!, 3);
  d = round(F, d, a, b, c, inp[1]!, 7);
  c = round(F, c, d, a, b, inp[2]!, 11);
  b = round(F, b, c, d, a, inp[3]!, 19);
  a = round(F, a, b, c, d, inp[4]!, 3);
  d = round(F, d, a, b, c, inp[5]!, 7);
  c = round(F, c, d, a, b, inp[6]!, 11);
  b = round(F, b, c, d, a, inp[7]!, 19);

  a = round(G, a, b, c, d, (inp[1]! + K2) >>> 0, 3);
  d = round(G, d, a, b, c, (inp[3]! + K2) >>> 0, 5);
  c = round(G, c, d, a, b, (inp[5]! + K2) >>> 0, 9);
  b = round(G, b, c, d, a, (inp[7]! + K2) >>> 0, 13);
  a = round(G, a, b, c, d, (inp[0]! + K2) >>> 0, 3);
  d = round(G, d, a, b, c, (inp[2]! + K2) >>> 0, 5);
  c = round(G, c, d, a, b, (inp[4]! + K2) >>> 0, 9);
  b = round(G, b, c, d, a, (inp[6]! + K2) >>> 0, 13);

  a = round(H, a, b, c, d, (inp[3]! + K3) >>> 0, 3);
  d = round(H, d, a, b, c, (inp[7]! + K3) >>> 0, 9);
  c = round(H, c, d, a, b, (inp[2]! + K3) >>> 0, 11);
  b = round(H, b, c, d, a, (inp[6]! + K3) >>> 0, 15);
  a = round(H, a, b, c, d, (inp[1]! + K3) >>> 0, 3);
  d = round(H, d, a, b, c, (inp[5]! + K3) >>> 0, 9);
  c = round(H, c, d, a, b, (inp[0]! + K3) >>> 0, 11);
  b = round(H, b, c, d, a, (inp[4]! + K3) >>> 0, 15);

  buf[0] = (buf[0]! + a) >>> 0;
  buf[1] = (buf[1]! + b) >>> 0;
  buf[2] = (buf[2]! + c) >>> 0;
  buf[3] = (buf[3]! + d) >>> 0;
}

/**
 * Packs up to num*4 bytes of the name into num words (str2hashbuf), padding with a word made
 * of the length; bytes are sign-extended.
 */
function str2hashbuf(msg: Uint8Array, off: number, len: number, out: Uint32Array, num: number): void {
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  const n = Math.min(len, num * 4);
  let w = 0;
  for (let i = 0; i < n; i++) {
    const c = (msg[off + i]! << 24) >> 24; // signed char
    val = (c + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) {
      out[w++] = val;
      val = pad;
    }
  }
  if (w < num) out[w++] = val;
  while (w < num) out[w++] = pad;
}

export interface NameHash {
  hash: number;
  minor: number;
}

/** s_hash_seed as four little-endian words. */
export function hashSeedWords(seed: Uint8Array): number[] {
  const dv = new DataView(seed.buffer, seed.byteOffset, 16);
  const words = [0, 1, 2, 3].map((i) => dv.getUint32(i * 4, true));
  return words.some((w) => w !== 0) ? words : DEFAULT_SEED;
}

export function halfMd4Hash(name: Uint8Array, seed: number[]): NameHash {
  const buf = [...seed];
  const inp = new Uint32Array(8);
  for (let off = 0; off < name.length; off += 32) {
    str2hashbuf(name, off, name.length - off, inp, 8);
    halfMd4Transform(buf, inp);
  }
  let hash = (buf[1]! & ~1) >>> 0;
  if (hash === EOF_HASH) hash = (EOF_HASH - 2) >>> 0; // (EXT4_HTREE_EOF_32BIT - 1) << 1
  return { hash, minor: buf[2]! };
}
