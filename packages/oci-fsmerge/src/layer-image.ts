import { statSync } from 'node:fs';
import { ErofsImage } from '@fstools/erofs-reader';
import type { ByteString, DirInode, FileData, FsTree, ImageDevice } from '@fstools/fstree';
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

/** A layer image's tree with its regular files pointing into the image (see layerImageTree). */
export interface LayerImageTree {
  tree: FsTree;
  device: ImageDevice;
}

/** The device a layer image is to the images that reference it: tagged with its diff ID's hex. */
export function layerDevice(path: string, diffId: string, blockSize: number, blocks: number): ImageDevice {
  return { tag: diffId.replace(/^sha256:/, ''), path, blockSize, blocks };
}

/**
 * What layerImageTree would read back from a layer image just written, without reading it: the
 * tree it was written from, its regular files pointed at their data (`offset` says where each
 * file's single run went). The result is plain data (a root and a device), so it can be posted
 * from a worker thread.
 */
export function writtenLayerTree(tree: FsTree, device: ImageDevice, offset: (data: FileData) => number | undefined, image: string): { root: DirInode; device: ImageDevice } {
  tree.forEachEntry((inode) => {
    if (inode.type !== 'file' || inode.data.kind === 'device') return; // a hardlink's second name
    const at = inode.size === 0 ? 0 : offset(inode.data);
    if (at === undefined) throw notFlat(image, tree.pathOf(inode)!);
    inode.data = { kind: 'device', device, offset: at };
  });
  return { root: tree.root, device };
}

/**
 * A layer image as a tree whose regular files point into the image itself
 * ({kind: 'device'} at their block-aligned byte offset), ready to be merged and referenced from
 * fsmeta. The image must keep every file's data as one block-aligned run (FLAT_PLAIN), which is
 * how fsmerge writes layer images; `tag` names the device (the diff ID).
 */
export function layerImageTree(path: string, diffId: string): LayerImageTree {
  const img = ErofsImage.open(path);
  try {
    const device = layerDevice(path, diffId, img.blockSize, img.imageSize / img.blockSize);
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
    if (e.kind !== 'data' || e.device !== 0 || (start !== undefined && e.physical !== start + end) || e.offset !== end) throw notFlat(image, name);
    start ??= e.physical;
    end = e.offset + e.length;
  }
  if (start === undefined || end < size || start % img.blockSize !== 0) throw notFlat(image, name);
  return start;
}

function notFlat(image: string, name: ByteString): InputError {
  return new InputError(image, `file ${displayName(name)}: data is not one flat block-aligned run (not a layer image fsmerge can reference)`);
}
