import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeErofsFromTarEntries } from '@fstools/erofs-writer';
import { describeSystemError, formatUuid, InputError } from '@fstools/fstree';
import type { LayerSource } from './image.js';
import type { LayerLimits } from './limits.js';
import type { LayerIo } from './layer-stream.js';
import { layerName, layerTar, normalizedLayer, verifiedBlob } from './layer-stream.js';
import type { DirInode, ImageDevice } from '@fstools/fstree';
import type { LayerIdentity } from './layer-image.js';
import { layerDevice, readLayerIdentity, writtenLayerTree } from './layer-image.js';

/** Block size of layer images and fsmeta (the page size the kernel mounts them with). */
export const BLOCK_SIZE = 4096;
/** Volume label every layer image fsmerge writes carries. */
export const LAYER_LABEL = 'oci-layer';

/** The blob-dir file of a layer image: content-addressed by diff ID. */
export function layerBlobPath(blobDir: string, diffId: string): string {
  return join(blobDir, `${diffId.replace(':', '-')}.erofs`);
}

/** Creates the blob dir if it is missing; a file in its place is an InputError naming it. */
export function ensureBlobDir(blobDir: string): void {
  try {
    mkdirSync(blobDir, { recursive: true });
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'EEXIST' ? 'a file is in the way' : describeSystemError(err);
    throw new InputError(blobDir, `cannot be the blob dir: ${why}`);
  }
}

/** The volume UUID recording a diff ID: its first 16 bytes. */
export function uuidOfDiffId(diffId: string): string {
  const hex = diffId.slice(diffId.indexOf(':') + 1);
  return formatUuid(Buffer.from(hex.slice(0, 32), 'hex'));
}

/** A blob-dir file's identity when it is a usable image of this diff ID, else why it is not. */
export function checkLayerBlob(path: string, diffId: string): LayerIdentity | string {
  const id = readLayerIdentity(path);
  if (typeof id === 'string') return id;
  if (id.label !== LAYER_LABEL || id.uuid !== uuidOfDiffId(diffId)) return `records another layer (uuid ${id.uuid}, label '${id.label}')`;
  if (id.blockSize !== BLOCK_SIZE) return `block size ${id.blockSize}, not ${BLOCK_SIZE}`;
  return id;
}

export interface LayerBlob {
  diffId: string;
  path: string;
  bytes: number;
  reused: boolean;
  /** Bytes of the blob fetched from a registry (0 for a host file, or a registry layer whose image was cached). */
  fetched: number;
  seconds: number;
  /** A freshly written image's tree (see writtenLayerTree), so it need not be read back. */
  written?: { root: DirInode; device: ImageDevice };
}

/**
 * Makes sure the blob dir holds the layer's image and returns it. A present image is reused
 * after checking it (size, superblock, recorded diff ID); a host file's blob is still read and
 * verified (its digest; the diff ID too where no digest is known), a registry's is not fetched
 * (unless `io.keepBlobs` wants its bytes). Otherwise the image is written from the tar through
 * the writer's OutputFile, which renames it into place only when complete; the tar is read to
 * its end, every digest checked, before that, so concurrent runs never see a partial or
 * unverified image.
 */
export async function ensureLayerBlob(image: string, layer: LayerSource, blobDir: string, limits: LayerLimits, given: LayerIo = {}): Promise<LayerBlob> {
  const started = process.hrtime.bigint();
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  let fetched = 0;
  const io: LayerIo = { ...given, onFetched: (n) => ((fetched += n), given.onFetched?.(n)) };
  const remote = 'remote' in layer.blob;
  // Without a diff ID to go by, a first pass computes it (and so checks the blob).
  const verified = layer.diffId === undefined;
  const diffId = layer.diffId ?? (await diffIdOf(image, layer));
  const path = layerBlobPath(blobDir, diffId);
  const cached = checkLayerBlob(path, diffId);
  if (typeof cached !== 'string') {
    // The image was made from verified content; the blob is still checked against the manifest.
    if (!verified && (!remote || io.keepBlobs)) await drain(layer.digest ? verifiedBlob(image, layer, undefined, io) : layerTar(image, { ...layer, diffId }));
    return { diffId, path, bytes: cached.bytes, reused: true, fetched, seconds: seconds() };
  }
  ensureBlobDir(blobDir);
  try {
    const r = await writeErofsFromTarEntries(normalizedLayer(image, { ...layer, diffId }, limits, io), layerName(image, layer), path, {
      blockSize: BLOCK_SIZE,
      inlineData: false,
      whiteouts: 'overlay',
      uuid: uuidOfDiffId(diffId),
      label: LAYER_LABEL,
    });
    const written = writtenLayerTree(r.tree, layerDevice(path, diffId, BLOCK_SIZE, r.blocks), r.flatOffset, layerName(image, layer));
    return { diffId, path, bytes: r.bytes, reused: false, fetched, seconds: seconds(), written };
  } catch (err) {
    // Bytes that fail to parse may simply be the wrong bytes: say so when the blob does not
    // match its digest (checked only once the stream ends). A registry's blob is not fetched
    // again for that.
    if (!(err instanceof InputError) || !layer.digest || remote) throw err;
    await drain(verifiedBlob(image, layer));
    throw err;
  }
}

/** Diff ID of a layer whose image gives none (bare --layer tars): one pass over it first. */
async function diffIdOf(image: string, layer: LayerSource): Promise<string> {
  let seen: string | undefined;
  await drain(layerTar(image, layer, (d) => (seen = d)));
  if (!seen) throw new InputError(layerName(image, layer), 'could not compute the diff ID');
  return seen;
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of stream) void chunk;
}
