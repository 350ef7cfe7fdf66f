export type { CompressionAlgorithm, CompressionOptions } from './compression.js';
export { compressionAlgorithms, parseCompressionSpec } from './compression.js';
export type { CompressionArgs } from './compression-args.js';
export { compressionFromArgs, compressionOptionHelp } from './compression-args.js';
export type { ErofsOptions, ErofsResult, TarOptions, TarResult } from './writer.js';
export { checkErofsOptions, writeErofs, writeErofsFromTar, writeErofsFromTarEntries } from './writer.js';
export { writeErofsTarIndex } from './tar-index.js';
