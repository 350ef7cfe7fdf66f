import type { Compression } from '@fstools/fstree';
import type { BlobLocation } from './archive.js';
import type { Platform } from '@fstools/registry';
import type { RemoteBlob } from './remote-blob.js';

/** One layer of an image, bottom first, with everything needed to read and verify it. */
export interface LayerSource {
  /** Position in the stack, 0 = bottom. */
  index: number;
  /** The diff ID the config promises (sha256 of the uncompressed tar); unknown for bare --layer tars. */
  diffId?: string;
  /** Where its bytes are: a file on the host, or a registry (fetched as they are read). */
  blob: BlobLocation | RemoteBlob;
  /** Compressed blob digest and size, where a descriptor states them. */
  digest?: string;
  size?: number;
  compression: Compression | 'detect';
  /** How errors name this layer: "layer 2 (blobs/sha256/ab12...)". */
  label: string;
}

export interface ResolvedImage {
  /** The input as the user named it. */
  name: string;
  ref?: string;
  platform?: Platform;
  layers: LayerSource[];
}

export function layerLabel(index: number, where: string): string {
  return `layer ${index} (${where})`;
}
