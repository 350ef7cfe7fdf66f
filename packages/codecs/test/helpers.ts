import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { hasCommand } from '../../../test/helpers/oracles.js';
import type { CompressedPrefix } from '../src/result.js';

/** Deterministic pseudo-random bytes (xorshift32). */
export function noise(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Compressible bytes: words from a small vocabulary, runs of one byte, copies of earlier spans
 * (some further back than LZ4's 64 KiB window) and a little noise, all from `seed`.
 */
export function compressible(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  const words = ['erofs', 'pcluster', 'inode', 'lz4', 'deflate', 'zstd', 'lzma', ' ', '\n', 'def ', 'return ', '(self)'].map((w) => Buffer.from(w));
  let x = seed | 1;
  const rnd = (m: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % m;
  };
  let i = 0;
  while (i < n) {
    const kind = rnd(10);
    if (kind < 5) {
      const w = words[rnd(words.length)]!;
      for (let j = 0; j < w.length && i < n; j++) out[i++] = w[j]!;
    } else if (kind < 6) {
      const b = rnd(3) === 0 ? 0 : rnd(256);
      for (let j = rnd(300); j > 0 && i < n; j--) out[i++] = b;
    } else if (kind < 9 && i > 0) {
      const dist = 1 + rnd(Math.min(i, rnd(4) === 0 ? 100_000 : 2000));
      for (let j = 4 + rnd(rnd(8) === 0 ? 2000 : 40); j > 0 && i < n; j--, i++) out[i] = out[i - dist]!;
    } else out[i++] = rnd(256);
  }
  return out;
}

export type Kind = 'random' | 'compressible' | 'zeros' | 'text';

/** An input of the given kind and size from `seed`. */
export function input(kind: Kind, seed: number, n: number): Uint8Array {
  switch (kind) {
    case 'random':
      return noise(seed, n);
    case 'zeros':
      return new Uint8Array(n);
    case 'compressible':
      return compressible(seed, n);
    case 'text': {
      // Mostly text with long repeats, like source files.
      const base = compressible(seed, Math.min(n, 3000));
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += base.length) out.set(base.subarray(0, Math.min(base.length, n - i)), i);
      if (n > 0) for (let k = 0; k < n / 500; k++) out[(k * 7919 + seed) % n] = k & 0xff;
      return out;
    }
  }
}

/** Input sizes 0..256 KiB, most of them small. */
export const sizeArb = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 256 * 1024 }));
/** Output capacities 1 byte .. 1 MiB, with the EROFS block sizes likely. */
export const capArb = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 10_000 }), fc.constantFrom(512, 4096, 8192, 16384, 65536), fc.integer({ min: 1, max: 1 << 20 }));
export const kindArb = fc.constantFrom<Kind>('random', 'compressible', 'zeros', 'text');

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A python3 that imports `modules` (the system one first: Debian's python3-lz4 installs there), or undefined. */
export function python(...modules: string[]): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (!hasCommand(py)) continue;
    const r = spawnSync(py, ['-c', modules.map((m) => `import ${m}`).join('; ') || 'pass']);
    if (r.status === 0) return py;
  }
  return undefined;
}

/** One stream for a batch oracle: the compressed bytes and how many bytes they must decode to. */
export interface Case {
  data: Uint8Array;
  size: number;
}

/**
 * Streams for a batch oracle: 40 inputs of every kind, size and capacity (from `seed`) compressed
 * at each level; `keep` chooses which results the oracle checks, each with its consumed prefix's hash.
 */
export function oracleCases(seed: number, levels: number[], encoder: (level: number) => { compressDestSize(src: Uint8Array, capacity: number): CompressedPrefix }, keep: (r: CompressedPrefix) => boolean): Array<Case & { want: string }> {
  const cases: Array<Case & { want: string }> = [];
  const rnd = fc.sample(fc.tuple(kindArb, fc.integer(), sizeArb, capArb), { seed, numRuns: 40 });
  for (const level of levels) {
    const enc = encoder(level);
    for (const [kind, s, size, cap] of rnd) {
      const src = input(kind, s, size);
      const r = enc.compressDestSize(src, cap);
      if (keep(r)) cases.push({ data: r.data, size: r.consumed, want: sha256(src.subarray(0, r.consumed)) });
    }
  }
  return cases;
}

/**
 * Runs a python decoder over many streams in one process: `decode` is a python expression over
 * `data` (bytes) and `size` (int) giving the decoded bytes. Returns each result's sha256, or
 * 'error: ...' for a stream it refused.
 */
export function pythonBatch(py: string, imports: string, decode: string, cases: Case[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'codecs-oracle-'));
  try {
    const parts: Buffer[] = [];
    for (const c of cases) {
      const h = Buffer.alloc(8);
      h.writeUInt32LE(c.size, 0);
      h.writeUInt32LE(c.data.length, 4);
      parts.push(h, Buffer.from(c.data));
    }
    writeFileSync(join(dir, 'in'), Buffer.concat(parts));
    const script = `
import sys, struct, hashlib
${imports}
d = open(sys.argv[1], 'rb').read()
i = 0
out = []
while i < len(d):
    size, n = struct.unpack_from('<II', d, i)
    data = d[i + 8:i + 8 + n]
    i += 8 + n
    try:
        out.append(hashlib.sha256(${decode}).hexdigest())
    except Exception as e:
        out.append('error: ' + str(e).replace('\\n', ' '))
open(sys.argv[2], 'w').write('\\n'.join(out))
`;
    const r = spawnSync(py, ['-c', script, join(dir, 'in'), join(dir, 'out')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`python oracle failed: ${r.stderr}`);
    const text = readFileSync(join(dir, 'out'), 'utf8');
    return cases.length ? text.split('\n') : [];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
