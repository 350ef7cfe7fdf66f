import { decompress, detectCompression, InputError } from '@fstools/fstree';
import type { Compression, TarEntry } from '@fstools/fstree';
import { readBlob } from './archive.js';
import { digestMismatch, verifyStream } from './blob-verify.js';
import type { LayerSource } from './image.js';
import { keepStream } from './keep-blobs.js';
import type { LayerLimits } from './limits.js';
import { normalizeLayerTar } from './layer-tar.js';
import { remoteBlobStream } from './registry-source.js';

/** How a layer's blob is read beyond the blob itself. */
export interface LayerIo {
  /** A registry blob is also saved into this OCI layout directory as it streams (--keep-blobs). */
  keepBlobs?: string;
  /** Told of each chunk fetched from a registry: its size. */
  onFetched?: (bytes: number) => void;
}

/** How errors name a layer: "<image>: layer 2 (sha256:...)". */
export function layerName(image: string, layer: LayerSource): string {
  return `${image}: ${layer.label}`;
}

/**
 * The compressed blob, checked against its descriptor (size, digest) as it streams: a host
 * file's here, a registry's by the registry client (which throws before the stream ends).
 */
export function verifiedBlob(image: string, layer: LayerSource, onDigest?: (digest: string) => void, io: LayerIo = {}): AsyncIterable<Uint8Array> {
  const blob = layer.blob;
  if ('remote' in blob) {
    let stream = counted(remoteBlobStream(blob), io.onFetched);
    if (io.keepBlobs) stream = keepStream(stream, io.keepBlobs, blob.digest);
    return onDigest ? thenDigest(stream, () => onDigest(blob.digest)) : stream;
  }
  const expect = { ...(layer.digest && { digest: layer.digest }), ...(layer.size !== undefined && { size: layer.size }) };
  return verifyStream(readBlob(blob), expect, image, `${layer.label} blob`, onDigest);
}

async function* counted(stream: AsyncIterable<Uint8Array>, onFetched?: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of stream) {
    onFetched?.(chunk.length);
    yield chunk;
  }
}

async function* thenDigest(stream: AsyncIterable<Uint8Array>, done: () => void): AsyncGenerator<Uint8Array> {
  yield* stream;
  done();
}

/**
 * The layer's uncompressed tar: blob verified, decompressed (the compression its media type
 * declares must match the magic bytes), and checked against the diff ID when one is expected;
 * `onDiffId` receives the diff ID actually seen once the stream has ended. A chunk is valid only
 * until the next is asked for.
 */
export function layerTar(image: string, layer: LayerSource, onDiffId?: (diffId: string) => void, io: LayerIo = {}): AsyncIterable<Uint8Array> {
  const name = layerName(image, layer);
  // A plain tar (declared, or undeclared with a digest equal to the diff ID): one hash checks both.
  if (layer.compression === 'none' || (layer.compression === 'detect' && layer.digest !== undefined && layer.digest === layer.diffId)) {
    const blob = verifiedBlob(
      image,
      layer,
      (digest) => {
        if (layer.diffId && digest !== layer.diffId) throw digestMismatch(image, `${layer.label} diff ID`, digest, layer.diffId);
        onDiffId?.(digest);
      },
      io,
    );
    return checkCompression(blob, 'none', name, layer.compression === 'none' ? 'media type says none' : 'digest is the diff ID (a plain tar)');
  }
  const plain = decompress(checkCompression(verifiedBlob(image, layer, undefined, io), layer.compression, name), name);
  return verifyStream(plain, layer.diffId ? { digest: layer.diffId } : {}, image, `${layer.label} diff ID`, (d) => onDiffId?.(d));
}

/** The normalized members a layer image is written from (see layer-tar.ts). */
export function normalizedLayer(image: string, layer: LayerSource, limits: LayerLimits, io: LayerIo = {}): AsyncIterable<TarEntry> {
  return normalizeLayerTar(layerTar(image, layer, undefined, io), layerName(image, layer), limits);
}

/** Passes the blob through once its first bytes show the compression `why` (a reason) says it has. */
async function* checkCompression(stream: AsyncIterable<Uint8Array>, declared: Compression | 'detect', name: string, why = `media type says ${declared}`): AsyncGenerator<Uint8Array> {
  let checked = declared === 'detect';
  for await (const chunk of stream) {
    if (!checked && chunk.length > 0) {
      const seen = detectCompression(chunk, name);
      if (seen !== declared) throw new InputError(name, `${why} but the blob is ${seen === 'none' ? 'not compressed' : seen}`);
      checked = true;
    }
    yield chunk;
  }
}
