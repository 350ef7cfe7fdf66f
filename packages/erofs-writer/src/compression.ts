import { DEFLATE_DEFAULT_LEVEL, DEFLATE_MAX_LEVEL, LZ4_FAST_LEVEL, LZ4HC_DEFAULT_LEVEL, LZ4HC_MAX_LEVEL, LZMA_DEFAULT_LEVEL, LZMA_MAX_LEVEL, ZSTD_DEFAULT_LEVEL, ZSTD_MAX_LEVEL } from '@fstools/codecs';
import { InputError } from '@fstools/fstree';
import type { CompressionAlgorithm, CompressionSetup } from './encoders.js';
import { hasEncoder } from './encoders.js';
import {
  Z_EROFS_COMPRESSION_DEFLATE,
  Z_EROFS_COMPRESSION_LZ4,
  Z_EROFS_COMPRESSION_LZMA,
  Z_EROFS_COMPRESSION_ZSTD,
  Z_EROFS_LZMA_MAX_DICT_SIZE,
  Z_EROFS_PCLUSTER_MAX_SIZE,
  Z_EROFS_ZSTD_MAX_DICT_SIZE,
} from './constants.js';

export type { CompressionAlgorithm };

/** Compressed regular files (mkfs.erofs -z, -C and the compression -E options). */
export interface CompressionOptions {
  algorithm: CompressionAlgorithm;
  /** lz4hc 1..12 (default 9), deflate 0..9 (default 1), zstd 1..22 (default 3), lzma 0..9 (default 6); lz4 has none. */
  level?: number;
  /** Largest physical cluster in bytes (-C): a multiple of the block size up to 1 MiB (default one block). */
  pclusterSize?: number;
  /** Keep each file's compressed (or short uncompressed) tail inline after its inode (-E ztailpacking). */
  ztailpacking?: boolean;
  /** Put file tails in the packed inode (-E fragments); 'all' puts whole files there (-E all-fragments). */
  fragments?: boolean | 'all';
  /** Share pclusters whose bytes are already in the image (-E dedupe). */
  dedupe?: boolean;
}

interface Algorithm {
  id: number;
  /** Accepted levels and the default; none for plain lz4. */
  levels?: { min: number; max: number; default: number };
  dictSize(pclusterSize: number): number;
}

/** Window sizes are mkfs.erofs's defaults (lib/compressor_*.c). */
const algorithms: Record<CompressionAlgorithm, Algorithm> = {
  lz4: { id: Z_EROFS_COMPRESSION_LZ4, dictSize: () => 65536 },
  lz4hc: { id: Z_EROFS_COMPRESSION_LZ4, levels: { min: 1, max: LZ4HC_MAX_LEVEL, default: LZ4HC_DEFAULT_LEVEL }, dictSize: () => 65536 },
  deflate: { id: Z_EROFS_COMPRESSION_DEFLATE, levels: { min: 0, max: DEFLATE_MAX_LEVEL, default: DEFLATE_DEFAULT_LEVEL }, dictSize: () => 1 << 15 },
  zstd: { id: Z_EROFS_COMPRESSION_ZSTD, levels: { min: 1, max: ZSTD_MAX_LEVEL, default: ZSTD_DEFAULT_LEVEL }, dictSize: (p) => 2 ** Math.floor(Math.log2(Math.min(Z_EROFS_ZSTD_MAX_DICT_SIZE, p * 8))) },
  lzma: { id: Z_EROFS_COMPRESSION_LZMA, levels: { min: 0, max: LZMA_MAX_LEVEL, default: LZMA_DEFAULT_LEVEL }, dictSize: (p) => Math.max(32768, Math.min(Z_EROFS_LZMA_MAX_DICT_SIZE, p * 4)) },
};

/** The algorithms this build can write (@fstools/codecs has their encoders). */
export const compressionAlgorithms = (Object.keys(algorithms) as CompressionAlgorithm[]).filter(hasEncoder);

/**
 * Reads a -z value as mkfs.erofs 1.8 does: ALG, ALG,level=N, or the older ALG,N.
 */
export function parseCompressionSpec(text: string): { algorithm: CompressionAlgorithm; level?: number } {
  const [name, ...rest] = text.split(',');
  if (!(name! in algorithms)) throw new InputError('-z', `unknown compression algorithm '${name}' (available: ${compressionAlgorithms.join(', ')})`);
  const algorithm = name as CompressionAlgorithm;
  if (rest.length === 0) return { algorithm };
  if (rest.length > 1) throw new InputError('-z', `'${text}': one option after the algorithm, level=N`);
  const m = /^(?:level=)?(\d+)$/.exec(rest[0]!);
  if (!m) throw new InputError('-z', `'${text}': the option after the algorithm is level=N (or just N)`);
  return { algorithm, level: Number(m[1]) };
}

/** Checks the options against the block size and fills in the defaults. */
export function compressionSetup(o: CompressionOptions, blockSize: number): CompressionSetup {
  const alg = algorithms[o.algorithm];
  if (!alg) throw new InputError('-z', `unknown compression algorithm '${String(o.algorithm)}'`);
  let level = LZ4_FAST_LEVEL;
  if (alg.levels) {
    level = o.level ?? alg.levels.default;
    if (!Number.isInteger(level) || level < alg.levels.min || level > alg.levels.max) throw new InputError('-z', `${o.algorithm} level ${level} is not from ${alg.levels.min} to ${alg.levels.max}`);
  } else if (o.level !== undefined) {
    throw new InputError('-z', `${o.algorithm} takes no level (lz4hc does)`);
  }
  const pclusterSize = o.pclusterSize ?? blockSize;
  if (!Number.isInteger(pclusterSize) || pclusterSize < blockSize || pclusterSize % blockSize !== 0 || pclusterSize > Z_EROFS_PCLUSTER_MAX_SIZE) {
    throw new InputError('-C', `physical cluster size ${pclusterSize} is not a multiple of the block size (${blockSize}) up to ${Z_EROFS_PCLUSTER_MAX_SIZE}`);
  }
  const fragments = o.fragments === true || o.fragments === 'all';
  const dedupe = o.dedupe === true;
  const setup: CompressionSetup = {
    algorithm: o.algorithm,
    id: alg.id,
    level,
    dictSize: alg.dictSize(pclusterSize),
    // mkfs.erofs stores uncompressed blocks interlaced with fragments and without dedupe.
    plan: { blockSize, pclusterSize, ztailpacking: o.ztailpacking === true, fragments, allFragments: o.fragments === 'all', interlaced: fragments && !dedupe, dedupe },
  };
  if (!hasEncoder(setup.algorithm)) throw new InputError('-z', `${o.algorithm} compression is not available yet (available: ${compressionAlgorithms.join(', ')})`);
  return setup;
}
