import { list, parseSize, parseWhole } from '@fstools/cli-kit';
import { InputError } from '@fstools/fstree';
import type { CompressionOptions } from './compression.js';
import { compressionAlgorithms, parseCompressionSpec } from './compression.js';

/** mkfs.erofs 1.8's compression options as yargs hands them over (-z, -C, -E, --workers). */
export interface CompressionArgs {
  z?: unknown;
  C?: unknown;
  E?: unknown;
  workers?: unknown;
}

/** The -E values that belong to compression. */
const COMPRESSION_EXTENDED = ['ztailpacking', 'fragments', 'all-fragments', 'dedupe'];

/**
 * The yargs descriptions of -z, -C, -E and --workers, shared by every CLI that takes them. `when`
 * names what they need ('-z', or '--standalone -z'); `otherExtended` are the caller's own -E values.
 */
export function compressionOptionHelp(when: string, otherExtended: string[] = []): Record<'z' | 'C' | 'E' | 'workers', string> {
  const compression = COMPRESSION_EXTENDED.join(', ');
  return {
    z: `compress regular files: ALG[,level=N] with ALG ${compressionAlgorithms.join(', ')} (levels: lz4hc 1-12, default 9; deflate 0-9, default 1; zstd 1-22, default 3; lzma 0-9, default 6); what does not shrink by a block stays uncompressed`,
    C: `with ${when}: largest physical cluster in bytes, a multiple of the block size up to 1M (default one block)`,
    E: otherExtended.length ? `extended options, comma separated: ${otherExtended.join(', ')}; with ${when} also ${compression}` : `with ${when}: extended options, comma separated: ${compression}`,
    workers: `with ${when}: threads that compress (default: the CPU count); the image is the same for any number`,
  };
}

/**
 * Reads -z, -C, -E and --workers as mkfs.erofs 1.8 does. `otherExtended` names the -E values the
 * caller handles itself (they are returned in `extended`); anything else is an InputError.
 */
export function compressionFromArgs(args: CompressionArgs, otherExtended: string[] = []): { compression?: CompressionOptions; workers?: number; extended: string[] } {
  const z: Partial<CompressionOptions> = {};
  const needsZ: string[] = [];
  const extended: string[] = [];
  for (const e of list(args.E).flatMap((x) => x.split(','))) {
    if (e === '') continue;
    if (otherExtended.includes(e)) {
      extended.push(e);
      continue;
    }
    if (e === 'ztailpacking') z.ztailpacking = true;
    else if (e === 'fragments') z.fragments = z.fragments || true;
    else if (e === 'all-fragments') z.fragments = 'all';
    else if (e === 'dedupe') z.dedupe = true;
    else throw new InputError('-E', `unknown extended option '${e}' (supported: ${[...otherExtended, ...COMPRESSION_EXTENDED].join(', ')})`);
    needsZ.push(`-E ${e}`);
  }
  if (args.C !== undefined) {
    z.pclusterSize = parseSize(String(args.C), '-C');
    needsZ.push('-C');
  }
  let workers: number | undefined;
  if (args.workers !== undefined) {
    workers = parseWhole(String(args.workers), '--workers');
    needsZ.push('--workers');
  }
  if (args.z === undefined) {
    if (needsZ.length > 0) throw new InputError(needsZ[0]!, 'only applies with -z (compression)');
    return { extended };
  }
  return { compression: { ...parseCompressionSpec(String(args.z)), ...z }, ...(workers !== undefined && { workers }), extended };
}
