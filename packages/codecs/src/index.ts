export type { CompressedPrefix } from './result.js';
export { LZ4_FAST_LEVEL, LZ4HC_DEFAULT_LEVEL, LZ4HC_MAX_LEVEL, Lz4Encoder, Lz4Error, lz4CompressBound, lz4CompressDestSize, lz4Decompress } from './lz4.js';
export { DEFLATE_DEFAULT_LEVEL, DEFLATE_MAX_LEVEL, DeflateEncoder, DeflateError, deflateCompressBound, deflateCompressDestSize, deflateDecompress } from './deflate.js';
export {
  ZSTD_DEFAULT_LEVEL,
  ZSTD_DEFAULT_WINDOWLOG,
  ZSTD_MAX_LEVEL,
  ZSTD_MIN_LEVEL,
  ZSTD_WINDOWLOG_MAX,
  ZSTD_WINDOWLOG_MIN,
  ZstdEncoder,
  ZstdError,
  zstdAvailable,
  zstdCompressBound,
  zstdCompressDestSize,
  zstdDecompress,
} from './zstd.js';
export type { ZstdOptions } from './zstd.js';
export { LzmaError, decodeProps, microLzmaDecompress } from './lzma.js';
export type { LzmaProps } from './lzma.js';
export { LZMA_DEFAULT_LEVEL, LZMA_MAX_LEVEL, LzmaEncoder, lzmaCompressDestSize } from './lzma-encoder.js';
