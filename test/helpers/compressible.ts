import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A small deterministic PRNG (xorshift32), so generated contents are the same on every run. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

const WORDS = 'the of and to in is that for it as with was on be by this are from or at an not have which but were one all we can there been has more if will their when so would no its about into than them only other new some could time these two may then do first any like now my such make over our even most after also did many before must through back years where much your way well down should because each just those people how too'.split(' ');

/** Text-like bytes: words drawn from a small vocabulary (LZ4 takes them to a third or so). */
export function textBytes(size: number, seed: number): Buffer {
  const next = prng(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const w = WORDS[next() % WORDS.length]! + (next() % 11 === 0 ? '.\n' : ' ');
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

/** Bytes no compressor shrinks. */
export function randomBytes(size: number, seed: number): Buffer {
  const next = prng(seed);
  const out = Buffer.alloc(size);
  let i = 0;
  for (; i + 4 <= size; i += 4) out.writeUInt32LE(next(), i);
  for (; i < size; i++) out[i] = next() & 0xff;
  return out;
}

/** Alternating stretches of text and random bytes (pclusters of both kinds in one file). */
export function mixedBytes(size: number, seed: number, stretch = 9000): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < size; at += stretch, i++) {
    const n = Math.min(stretch, size - at);
    parts.push(i % 2 ? randomBytes(n, seed + i) : textBytes(n, seed + i));
  }
  return Buffer.concat(parts);
}

/** Named contents covering what compression must get right: tiny, block edges, incompressible, mixed, repeated, zero. */
export function compressionCorpus(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const sizes = [1, 100, 4095, 4096, 4097, 5000, 8191, 8192, 12289, 20000, 65536, 70001, 300000];
  for (const [i, size] of sizes.entries()) {
    files.set(`text-${size}`, textBytes(size, 100 + i));
    files.set(`random-${size}`, randomBytes(size, 200 + i));
    files.set(`mixed-${size}`, mixedBytes(size, 300 + i));
  }
  files.set('text-1.5M', textBytes(1_500_000, 7));
  files.set('mixed-2M', mixedBytes(2_000_000, 8, 50_000));
  files.set('zeros-1M', Buffer.alloc(1 << 20));
  const chunk = mixedBytes(40_000, 9);
  files.set('repeated', Buffer.concat([chunk, chunk, textBytes(3000, 10), chunk]));
  files.set('copy-of-text-20000', Buffer.from(files.get('text-20000')!));
  files.set('tail-of-mixed-300000', files.get('mixed-300000')!.subarray(100_000));
  return files;
}

/** Writes the corpus into `dir` (one file per entry). */
export function writeCorpus(dir: string, files = compressionCorpus()): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
}
