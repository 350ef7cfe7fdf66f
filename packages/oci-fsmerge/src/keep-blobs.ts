import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describeSystemError, InputError, removeTemp, renameTemp, tempBeside, trackTemp } from '@fstools/fstree';
import { referenceName } from '@fstools/registry';
import { blobPath } from './digest.js';
import type { LayerSource } from './image.js';
import type { Json } from './json.js';
import { parseObject } from './json.js';
import type { PulledImage } from './registry-source.js';

// --keep-blobs DIR: what was pulled, kept as an OCI image layout (blobs/sha256/HEX, index.json,
// oci-layout; image-spec image-layout.md) that fsmerge, skopeo and containerd read back. Every
// file is written beside its place and renamed in once complete and verified.

const REF_NAME = 'org.opencontainers.image.ref.name';

function keptPath(dir: string, digest: string): string {
  return join(dir, blobPath(digest));
}

/**
 * The image with each remote layer whose blob DIR already holds (by digest, the size agreeing)
 * read from there instead: verified as any local blob, and not fetched.
 */
export function preferKept(image: PulledImage, dir: string): PulledImage {
  const layers = image.layers.map((l): LayerSource => {
    if (!('remote' in l.blob)) return l;
    const file = keptPath(dir, l.blob.digest);
    let size: number | undefined;
    try {
      size = statSync(file).size;
    } catch {
      return l;
    }
    return size === l.blob.size ? { ...l, blob: { file, offset: 0, size } } : l;
  });
  return { ...image, layers };
}

/** Writes a blob's bytes into DIR as they pass; renamed into place only when the stream ends (verified), removed otherwise. */
export async function* keepStream(stream: AsyncIterable<Uint8Array>, dir: string, digest: string): AsyncGenerator<Uint8Array> {
  const final = keptPath(dir, digest);
  const tmp = tempIn(final);
  let fd: number | undefined = openSync(tmp, 'w');
  try {
    for await (const chunk of stream) {
      for (let at = 0; at < chunk.length; ) at += writeSync(fd, chunk, at);
      yield chunk;
    }
    closeSync(fd);
    fd = undefined;
    renameTemp(tmp, final);
  } finally {
    if (fd !== undefined) closeSync(fd);
    removeTemp(tmp);
  }
}

/**
 * Completes the layout once every layer blob is in: the config and manifest blobs, oci-layout,
 * and index.json listing the manifest (named by the reference's tag, as `skopeo copy ... oci:DIR:TAG`
 * does), entries for other images kept.
 */
export function writeKeptImage(dir: string, image: PulledImage): void {
  const { manifest, config, reference } = image.pulled;
  putBlob(dir, config.descriptor.digest, config.bytes);
  putBlob(dir, manifest.digest, manifest.bytes);
  const layoutFile = join(dir, 'oci-layout');
  if (!existsSync(layoutFile)) putFile(layoutFile, Buffer.from('{"imageLayoutVersion":"1.0.0"}\n'));
  const indexFile = join(dir, 'index.json');
  let index: Json = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
  if (existsSync(indexFile)) {
    index = parseObject(readFileSync(indexFile), indexFile, 'index.json');
    if (!Array.isArray(index.manifests)) throw new InputError(indexFile, 'has no manifests list: not an image layout fsmerge can add to');
  }
  const tag = reference.digest === undefined ? reference.tag : undefined;
  const entry: Json = {
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    ...(image.platform && { platform: image.platform }),
    annotations: { ...(tag !== undefined && { [REF_NAME]: tag }), 'io.containerd.image.name': referenceName(reference).slice('docker://'.length) },
  };
  // The tag now names this manifest; other entries stay (one per digest).
  const others = (index.manifests as Json[]).filter((m) => m.digest !== manifest.digest && (tag === undefined || ((m.annotations ?? {}) as Json)[REF_NAME] !== tag));
  putFile(indexFile, Buffer.from(JSON.stringify({ ...index, manifests: [...others, entry] }, null, 2) + '\n'));
}

function putBlob(dir: string, digest: string, bytes: Uint8Array): void {
  const file = keptPath(dir, digest);
  if (!existsSync(file)) putFile(file, bytes);
}

function putFile(file: string, bytes: Uint8Array): void {
  const tmp = tempIn(file);
  try {
    writeFileSync(tmp, bytes);
    renameTemp(tmp, file);
  } finally {
    removeTemp(tmp);
  }
}

/** A tracked temporary file beside `final`, its directory made; a directory that cannot be made is an InputError naming it. */
function tempIn(final: string): string {
  try {
    mkdirSync(dirname(final), { recursive: true });
  } catch (err) {
    throw new InputError(dirname(final), `cannot keep blobs here: ${describeSystemError(err)}`);
  }
  const tmp = tempBeside(final);
  trackTemp(tmp);
  return tmp;
}
