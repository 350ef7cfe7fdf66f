import { statSync } from 'node:fs';
import { ErofsImage } from '@fstools/erofs-reader';
import type { ByteString, FsTree, ImageDevice } from '@fstools/fstree';
import { displayName, formatUuid, InputError } from '@fstools/fstree';

/** What a layer image's superblock says about itself. */
export interface LayerIdentity {
  uuid: string;
  label: string;
  bytes: number;
  blockSize: number;
}

/**
 * A layer image's identity, or why it is unusable: missing, unreadable, a bad superblock, or a
 * size that is not the block count the superblock records (a truncated copy).
 */
export function readLayerIdentity(path: string): LayerIdentity | string {
  try {
    statSync(path);
  } catch {
    return 'missing';
  }
  let img: ErofsImage;
  try {
    img = ErofsImage.open(path);
  } catch (err) {
    return (err as Error).message;
  }
  try {
    const sb = img.superblock;
    const bytes = img.imageSize;
    if (bytes !== sb.blocks * img.blockSize) return `size ${bytes} is not the ${sb.blocks} blocks its superblock records`;
    return { uuid: formatUuid(sb.uuid), label: sb.volume_name, bytes, blockSize: img.blockSize };
  } finally {
    img.close();
  }
}


/**
 * A layer image as a tree whose regular files point into the image itself
 * ({kind: 'device'} at their block-aligned byte offset), ready to be merged and referenced from
 * fsmeta. The image must keep every file's data as one block-aligned run (FLAT_PLAIN), which is
 * how fsmerge writes layer images; `tag` names the device (the diff ID).
 */
export function layerImageTree(path: string, tag: string): { tree: FsTree; device: ImageDevice } {
  const img = ErofsImage.open(path);
  try {
    const device: ImageDevice = { tag, path, blockSize: img.blockSize, blocks: img.imageSize / img.blockSize };
    const tree = img.toTree({ fileData: (nid, size, name) => ({ kind: 'device', device, offset: dataOffset(img, nid, size, name, path) }) });
    return { tree, device };
  } finally {
    img.close();
  }
}

/** Byte offset of a file's single block-aligned data run in its image (0 for an empty file). */
function dataOffset(img: ErofsImage, nid: number, size: number, name: ByteString, image: string): number {
  if (size === 0) return 0;
  const extents = img.fileExtents(nid);
  let start: number | undefined;
  let end = 0;
  for (const e of extents) {
    if (e.kind !== 'data' || e.device !== 0 || (start !== undefined && e.physical !== start + end) || e.offset !== end) {
      throw new InputError(image, `file ${displayName(name)}: data is not one flat block-aligned run (not a layer image fsmerge can reference)`);
    }
    start ??= e.physical;
    end = e.offset + e.length;
  }
  if (start === undefined || end < size || start % img.blockSize !== 0) {
    throw new InputError(image, `file ${displayName(name)}: data is not one flat block-aligned run (not a layer image fsmerge can reference)`);
  }
  return start;
}
