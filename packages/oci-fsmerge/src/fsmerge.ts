import { closeSync, mkdirSync, openSync, readSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { checkOutputs, FsTree, InputError, makeTempDir, outputPath, removeTemp, renameTemp, tempBeside, trackTemp } from '@fstools/fstree';
import { checkErofsOptions } from '@fstools/erofs-writer';
import type { CompressionOptions } from '@fstools/erofs-writer';
import type { ImageDevice } from '@fstools/fstree';
import type { DiskPart } from './disk.js';
import { writeRaw, writeVmdk } from './disk.js';
import { writeFsmeta, writeStandalone } from './fsmeta.js';
import type { LayerSource, ResolvedImage } from './image.js';
import { layerLabel } from './image.js';
import type { LayerBlob } from './layer-blob.js';
import { BLOCK_SIZE, checkLayerBlob, ensureBlobDir } from './layer-blob.js';
import type { LayerImageTree } from './layer-image.js';
import { layerImageTree, readLayerIdentity } from './layer-image.js';
import { LayerPool } from './layer-pool.js';
import type { LayerLimits } from './limits.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { LayerTree } from './merge.js';
import { mergeLayers } from './merge.js';
import type { PulledImage } from './registry-source.js';
import type { RegistryAccess } from './remote-blob.js';
import { closeRegistryClients } from './registry-source.js';
import { imageFromLayerFiles, resolveImage, resolveReference } from './resolve.js';
import { preferKept, writeKeptImage } from './keep-blobs.js';
import type { ImageReference, Platform } from '@fstools/registry';
import { formatPlatform, parseReference, referenceName } from '@fstools/registry';
import { spoolArchive } from './stdin-archive.js';

/**
 * What to merge: an image container (a path), an image reference as skopeo writes them
 * (`docker://...` pulled from its registry, `oci:DIR[:REF|:@N]`, `oci-archive:FILE[:REF]`,
 * `docker-archive:FILE[:REF|:@N]`, or a plain path), one streamed in (an archive, `name` naming
 * it in errors), or layers in stack order (tars, or layer images to rebuild from).
 */
export type FsmergeInput = { image: string } | { reference: string | ImageReference } | { archive: AsyncIterable<Uint8Array>; name: string } | { layers: string[] };

export interface FsmergeOptions {
  /** fsmeta.erofs path (or the standalone image's path). */
  output: string;
  /** Layer-image cache; default "blobs" beside the output. */
  blobDir?: string;
  vmdk?: string;
  raw?: string;
  /** One self-contained EROFS with all data inside; no blobs kept (unless blobDir is given). */
  standalone?: boolean;
  /** With standalone: compress its regular files (mkfs.erofs -z and friends). Layer images referenced by an fsmeta stay uncompressed. */
  compression?: CompressionOptions;
  /** With compression: threads that compress (default: the CPU count); the image is the same for any number. */
  workers?: number;
  platform?: Platform;
  ref?: string;
  /** How to reach registries (TLS, credentials) for a `docker://` reference. */
  registry?: RegistryAccess;
  /** Keep the pulled image as an OCI layout here (blobs saved as they stream); its blobs are not fetched again. */
  keepBlobs?: string;
  /** Layers converted at once (this thread and parallel - 1 worker threads); default min(2, cores). */
  parallel?: number;
  limits?: Partial<LayerLimits>;
  onProgress?: (event: ProgressEvent) => void;
}

export type ProgressEvent =
  | { kind: 'layer-start'; index: number; label: string }
  | { kind: 'layer-fetch'; index: number; label: string; fetched: number; size: number }
  | { kind: 'layer-done'; index: number; label: string; diffId: string; bytes: number; reused: boolean; fetched: number; seconds: number }
  | { kind: 'merge' }
  | { kind: 'write'; path: string };

export interface LayerReport {
  index: number;
  diffId: string;
  /** The blob's digest and size, where the image states them. */
  digest?: string;
  size?: number;
  path: string;
  bytes: number;
  reused: boolean;
  /** Bytes of the blob fetched from a registry. */
  fetched: number;
  seconds: number;
}

/** What a `docker://` pull fetched. */
export interface PullReport {
  reference: string;
  /** The platform manifest's digest: the same image, pinned. */
  pinned: string;
  /** Bytes from the registry: manifests, config and layer blobs. */
  fetched: number;
  /** Layers whose image the blob dir already held (nothing of them fetched). */
  cacheHits: number;
  keptIn?: string;
}

export interface FsmergeResult {
  image: string;
  ref?: string;
  platform?: string;
  /** 'tar' for images and layer tars, 'rebuild' when given layer images. */
  mode: 'tar' | 'rebuild';
  standalone: boolean;
  pull?: PullReport;
  fsmeta: { path: string; bytes: number; inodes: number };
  layers: LayerReport[];
  /** Files of the one-disk layout in device order (fsmeta first); empty for standalone. */
  devices: string[];
  vmdk?: string;
  raw?: string;
  seconds: number;
}

const EROFS_MAGIC = 0xe0f5e1e2;

/**
 * OCI image -> layer images (content-addressed by diff ID, converted in parallel, reused when
 * present) -> merged tree -> fsmeta.erofs referencing the layer images, plus optional VMDK and
 * raw disks. Nothing is written at an output path unless everything succeeded.
 */
export async function fsmerge(input: FsmergeInput, opts: FsmergeOptions): Promise<FsmergeResult> {
  const started = process.hrtime.bigint();
  const outputs: Array<[string, string]> = [['-o', opts.output]];
  if (opts.vmdk) outputs.push(['--vmdk', opts.vmdk]);
  if (opts.raw) outputs.push(['--raw', opts.raw]);
  const reference = 'reference' in input ? (typeof input.reference === 'string' ? parseReference(input.reference) : input.reference) : undefined;
  const local = 'image' in input ? input.image : reference && reference.transport !== 'docker' ? reference.path : undefined;
  checkOutputs(outputs, local !== undefined ? [['IMAGE', local]] : 'layers' in input ? input.layers.map((l) => ['--layer', l]) : []);
  // Absolute, and through a symlink given as an output to where its file is (the VMDK's relative
  // names are computed from there).
  const final = (p: string): string => outputPath(resolve(p));
  const output = final(opts.output);
  const vmdk = opts.vmdk ? final(opts.vmdk) : undefined;
  const raw = opts.raw ? final(opts.raw) : undefined;
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const keepBlobs = opts.keepBlobs !== undefined ? resolve(opts.keepBlobs) : undefined;
  if ((opts.compression || opts.workers !== undefined) && !opts.standalone) throw new TypeError('compression and workers apply to a standalone image only: layer images stay uncompressed');
  // Bad compression options fail before any layer is read.
  if (opts.compression) checkErofsOptions({ blockSize: BLOCK_SIZE, compression: opts.compression });
  if (opts.keepBlobs !== undefined && reference?.transport !== 'docker') throw new TypeError('keepBlobs applies to a docker:// reference');
  const progress = opts.onProgress ?? (() => {});
  const rebuild = 'layers' in input && input.layers.length > 0 && input.layers.every(isErofs);
  if ('layers' in input && !rebuild && input.layers.some(isErofs)) throw new InputError('--layer', 'give either layer tars or layer images, not both');

  let image: ResolvedImage | PulledImage | undefined;
  let closing: Promise<void> = Promise.resolve();
  let blobs: LayerBlob[];
  let scratch: string | undefined;
  let spool: string | undefined;
  const removeOwnTemps = (): void => {
    if (scratch) removeTemp(scratch);
    if (spool) removeTemp(spool);
  };
  // A layer image's tree: the one it was just written from, or else read back from the image as
  // soon as the layer is done, while other layers are still converting.
  const trees = new Map<number, LayerImageTree>();
  const labelOf = (i: number, b: LayerBlob): string => `${image?.name ?? ('layers' in input ? input.layers[0] : '')}: ${image?.layers[i]?.label ?? layerLabel(i, b.path)}`;
  const read = (i: number, b: LayerBlob): LayerImageTree => {
    let got = trees.get(i);
    if (got) return got;
    try {
      got = b.written ? { tree: new FsTree(b.written.root), device: b.written.device } : layerImageTree(b.path, b.diffId);
    } catch (err) {
      throw err instanceof InputError ? new InputError(labelOf(i, b), err.problem) : err;
    }
    trees.set(i, got);
    return got;
  };
  if (rebuild) {
    blobs = input.layers.map(rebuildBlob);
  } else {
    const pool = new LayerPool(opts.parallel);
    try {
      const select = { ...(opts.platform && { platform: opts.platform }), ...(opts.ref !== undefined && { ref: opts.ref }) };
      if ('archive' in input) {
        spool = await spoolArchive(input.archive, input.name, output);
        image = await resolveImage(spool, select, input.name);
      } else if ('layers' in input) {
        image = imageFromLayerFiles(input.layers);
      } else if ('image' in input) {
        image = await resolveImage(input.image, select);
      } else {
        image = await resolveReference(reference!, select, opts.registry ?? {});
        if (keepBlobs && 'pulled' in image) image = preferKept(image, keepBlobs);
      }
      let blobDir = opts.blobDir;
      if (!blobDir && opts.standalone) {
        mkdirSync(dirname(output), { recursive: true });
        blobDir = scratch = makeTempDir(join(dirname(output), '.fsmerge-'));
      }
      blobDir = resolve(blobDir ?? join(dirname(output), 'blobs'));
      ensureBlobDir(blobDir); // a bad blob dir fails before any layer is read
      const name = image.name;
      const fetchedOf = new Map<number, number>();
      blobs = await pool.convert(
        image.layers.map((layer) => ({ image: name, layer, blobDir: blobDir!, limits, ...(keepBlobs && { keepBlobs }) })),
        {
          onStart: (l) => progress({ kind: 'layer-start', index: l.index, label: l.label }),
          onFetched: (l, n) => {
            const fetched = (fetchedOf.get(l.index) ?? 0) + n;
            fetchedOf.set(l.index, fetched);
            progress({ kind: 'layer-fetch', index: l.index, label: l.label, fetched, size: l.blob.size });
          },
          onDone: (l, b) => {
            progress({ kind: 'layer-done', index: l.index, label: l.label, diffId: b.diffId, bytes: b.bytes, reused: b.reused, fetched: b.fetched, seconds: b.seconds });
            read(l.index, b);
          },
        },
      );
      if (keepBlobs && 'pulled' in image) writeKeptImage(keepBlobs, image);
    } catch (err) {
      await Promise.all([pool.close(), closeRegistryClients()]);
      removeOwnTemps();
      throw err;
    }
    // The threads wind down while the merge runs (18 ms here); awaited before returning.
    closing = Promise.all([pool.close(), closeRegistryClients()]).then(() => {});
  }
  const imageName = image?.name ?? (input as { layers: string[] }).layers[0]!;

  try {
    progress({ kind: 'merge' });
    const devices = new Map<string, ImageDevice>();
    const layerTrees: LayerTree[] = blobs.map((b, i) => {
      const { tree, device } = read(i, b);
      if (!devices.has(b.diffId)) devices.set(b.diffId, device);
      else retarget(tree, devices.get(b.diffId)!);
      return { tree, label: labelOf(i, b) };
    });
    const merged = mergeLayers(layerTrees);

    const temps: Array<[string, string]> = [];
    const tmpOf = (final: string): string => {
      mkdirSync(dirname(final), { recursive: true });
      const t = tempBeside(final);
      trackTemp(t);
      temps.push([t, final]);
      return t;
    };
    try {
      const fsmetaTmp = tmpOf(output);
      progress({ kind: 'write', path: output });
      const r = opts.standalone ? await writeStandalone(merged, fsmetaTmp, { ...(opts.compression && { compression: opts.compression }), ...(opts.workers !== undefined && { workers: opts.workers }) }) : await writeFsmeta(merged, [...devices.values()], fsmetaTmp);
      const parts: DiskPart[] = [{ current: fsmetaTmp, final: output, bytes: r.bytes }, ...[...devices.values()].map((d) => ({ current: d.path, final: d.path, bytes: d.blocks * d.blockSize }))];
      if (opts.standalone) parts.length = 1;
      if (vmdk) writeVmdk(parts, vmdk, tmpOf(vmdk));
      if (raw) await writeRaw(parts, tmpOf(raw));
      for (const [tmp, final] of temps) renameTemp(tmp, final);
      temps.length = 0;
      return {
        image: imageName,
        ...(image?.ref !== undefined && { ref: image.ref }),
        ...(image?.platform && { platform: formatPlatform(image.platform) }),
        mode: rebuild ? 'rebuild' : 'tar',
        standalone: !!opts.standalone,
        ...(image && 'pulled' in image && { pull: pullReport(image, blobs, keepBlobs) }),
        fsmeta: { path: output, bytes: r.bytes, inodes: r.inodes },
        layers: scratch ? [] : blobs.map((b, index) => layerReport(b, index, image?.layers[index])),
        devices: opts.standalone ? [] : parts.map((p) => p.final),
        ...(vmdk && { vmdk }),
        ...(raw && { raw }),
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
      };
    } finally {
      for (const [tmp] of temps) removeTemp(tmp);
    }
  } finally {
    removeOwnTemps();
    await closing;
  }
}

/** Whether a file starts like an EROFS image (superblock magic at byte 1024); no for what cannot be read (reported where it is read as a tar). */
function isErofs(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 1024) === 4 && b.readUInt32LE(0) === EROFS_MAGIC;
  } catch {
    return false; // a directory (EISDIR), for one
  } finally {
    closeSync(fd);
  }
}

/**
 * A given layer image (rebuild mode). Its diff ID comes from a blob-dir name
 * ("sha256-<hex>.erofs") when the image's recorded UUID agrees; otherwise the tag is the UUID.
 */
function rebuildBlob(path: string): LayerBlob {
  const id = readLayerIdentity(path);
  if (typeof id === 'string') throw new InputError(path, `not a usable layer image: ${id}`);
  const m = /^sha256-([0-9a-f]{64})\.erofs$/.exec(basename(path));
  const named = m ? `sha256:${m[1]}` : undefined;
  const diffId = named && typeof checkLayerBlob(path, named) !== 'string' ? named : `uuid:${id.uuid.replace(/-/g, '')}`;
  return { diffId, path: resolve(path), bytes: id.bytes, reused: true, fetched: 0, seconds: 0 };
}

function layerReport(b: LayerBlob, index: number, layer: LayerSource | undefined): LayerReport {
  const stated = { ...(layer?.digest !== undefined && { digest: layer.digest }), ...(layer?.size !== undefined && { size: layer.size }) };
  return { index, diffId: b.diffId, ...stated, path: b.path, bytes: b.bytes, reused: b.reused, fetched: b.fetched, seconds: b.seconds };
}

function pullReport(image: PulledImage, blobs: LayerBlob[], keptIn: string | undefined): PullReport {
  const { reference, pinned } = image.pulled;
  return {
    reference: referenceName(reference),
    pinned: referenceName(pinned),
    fetched: image.metadataBytes + blobs.reduce((sum, b) => sum + b.fetched, 0),
    cacheHits: blobs.filter((b) => b.reused && b.fetched === 0).length,
    ...(keptIn && { keptIn }),
  };
}

/** Points a layer tree's files at an already registered device of the same content. */
function retarget(tree: FsTree, device: ImageDevice): void {
  tree.forEachEntry((inode) => {
    if (inode.type === 'file' && inode.data.kind === 'device') inode.data = { ...inode.data, device };
  });
}
