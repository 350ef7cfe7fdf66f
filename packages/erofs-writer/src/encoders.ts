import { DeflateEncoder, Lz4Encoder, LzmaEncoder, zstdAvailable, ZstdEncoder } from '@fstools/codecs';
import type { PclusterEncoder, PlanOptions } from './compress-plan.js';

export type CompressionAlgorithm = 'lz4' | 'lz4hc' | 'deflate' | 'zstd' | 'lzma';

/**
 * Compression options resolved and checked (compression.ts): what the planner, the encoders and
 * the superblock need. Worker threads get a copy.
 */
export interface CompressionSetup {
  algorithm: CompressionAlgorithm;
  /** Z_EROFS_COMPRESSION_*. */
  id: number;
  level: number;
  /** The encoder's history window (the superblock's configuration record says it). */
  dictSize: number;
  plan: PlanOptions;
}

/** Per algorithm, how to make its fixed-output encoder from @fstools/codecs. */
const makers: Partial<Record<CompressionAlgorithm, (s: CompressionSetup) => PclusterEncoder>> = {
  lz4: (s) => wrap(new Lz4Encoder(s.level)),
  lz4hc: (s) => wrap(new Lz4Encoder(s.level)),
  // Raw DEFLATE within the window the configuration record names (windowbits).
  deflate: (s) => wrap(new DeflateEncoder(s.level)),
  // MicroLZMA, every distance below the configuration record's dict_size. Each call starts from a
  // fresh model and match finder, so the output depends on nothing but its input: no reset.
  lzma: (s) => wrap(new LzmaEncoder(s.level, s.dictSize)),
  // One frame per pcluster, its window no larger than the configuration record's windowlog
  // (node:zlib's zstd: Node 22.15 and later). The encoder starts its search from the ratio of its
  // last call: a fresh one per segment keeps the output independent of the thread's history.
  ...(zstdAvailable && { zstd: zstd }),
};

function zstd(s: CompressionSetup): PclusterEncoder {
  const make = (): ZstdEncoder => new ZstdEncoder(s.level, { windowLog: Math.log2(s.dictSize) });
  let enc = make();
  return {
    destSize: (src, capacity) => enc.compressDestSize(src, capacity),
    reset: () => {
      enc = make();
    },
  };
}

function wrap(enc: { compressDestSize(src: Uint8Array, capacity: number): { consumed: number; data: Uint8Array } }): PclusterEncoder {
  return { destSize: (src, capacity) => enc.compressDestSize(src, capacity) };
}

export function hasEncoder(algorithm: CompressionAlgorithm): boolean {
  return makers[algorithm] !== undefined;
}

/**
 * A fresh encoder for the setup: one per thread, encoders keep tables between calls. This module
 * and the planner are all a compression worker loads.
 */
export function createEncoder(s: CompressionSetup): PclusterEncoder {
  const make = makers[s.algorithm];
  if (!make) throw new Error(`no ${s.algorithm} encoder`);
  return make(s);
}
