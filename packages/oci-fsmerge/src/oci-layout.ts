import { InputError } from '@fstools/fstree';
import type { ImageSource } from './archive.js';
import { readSmallBlob } from './archive.js';
import { verifyBytes } from './blob-verify.js';
import { blobPath, parseDigest } from './digest.js';
import type { ResolvedImage } from './image.js';
import { layerLabel } from './image.js';
import type { Candidate, SelectOptions } from './index-select.js';
import { selectImage } from './index-select.js';
import type { Json } from './json.js';
import { diffIdsOf, parseAny, parseObject } from './json.js';
import { INDEX_TYPES, layerCompression, MANIFEST_TYPES } from './media-types.js';
import { platformFrom } from '@fstools/registry';

/** Annotations that name an image in an index (OCI ref name; containerd's and Docker 25's image name). */
const REF_ANNOTATIONS = ['io.containerd.image.name', 'org.opencontainers.image.ref.name'];
const MAX_INDEX_DEPTH = 8;

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}

interface ManifestCandidate extends Candidate {
  descriptor: Descriptor;
}

/**
 * Whether the source is an image layout with something in it: index.json with a manifests list.
 * (Docker 25 archives whose index says "manifests": null are read through manifest.json.)
 */
export function hasOciIndex(src: ImageSource): boolean {
  if (!src.has('index.json')) return false;
  const index = parseAny(readSmallBlob(src.locate('index.json'), src.name, 'index.json'), src.name, 'index.json');
  return !!index && typeof index === 'object' && Array.isArray((index as Json).manifests);
}

/** Resolves an OCI image layout (directory or archive) to one image's verified layer list. */
export async function resolveOciLayout(src: ImageSource, opts: SelectOptions): Promise<ResolvedImage> {
  checkLayoutMarker(src);
  const index = parseObject(readSmallBlob(src.locate('index.json'), src.name, 'index.json'), src.name, 'index.json');
  const candidates = collect(src, index, 'index.json', [], 0);
  const chosen = await selectImage(candidates, opts, src.name, async (c) => platformFrom(configOf(src, manifestOf(src, c.descriptor))));
  const manifest = manifestOf(src, chosen.descriptor);
  const config = configOf(src, manifest);
  const diffIds = diffIdsOf(config, src.name);
  const layers = manifest.layers as unknown[];
  if (layers.length !== diffIds.length) {
    throw new InputError(src.name, `manifest ${chosen.descriptor.digest} lists ${layers.length} layers but its config has ${diffIds.length} diff IDs`);
  }
  const platform = chosen.platform ?? platformFrom(config);
  return {
    name: src.name,
    ...(chosen.refs[0] !== undefined && { ref: chosen.refs[0] }),
    ...(platform && { platform }),
    layers: layers.map((l, i) => {
      const d = descriptor(l, src.name, `manifest ${chosen.descriptor.digest} layer ${i}`);
      const label = layerLabel(i, d.digest);
      const compression = layerCompression(d.mediaType);
      if (!compression) throw new InputError(src.name, `${label}: unknown layer media type ${d.mediaType}`);
      if (!src.has(blobPath(d.digest))) throw new InputError(src.name, `${label}: missing blob ${blobPath(d.digest)}`);
      return { index: i, diffId: diffIds[i]!, blob: src.locate(blobPath(d.digest)), digest: d.digest, size: d.size, compression, label };
    }),
  };
}

function checkLayoutMarker(src: ImageSource): void {
  if (!src.has('oci-layout')) return; // Docker 25 writes it; some tools do not: index.json is enough
  const marker = parseObject(readSmallBlob(src.locate('oci-layout'), src.name, 'oci-layout'), src.name, 'oci-layout');
  if (typeof marker.imageLayoutVersion !== 'string' || !marker.imageLayoutVersion.startsWith('1.')) {
    throw new InputError(src.name, `unsupported imageLayoutVersion ${JSON.stringify(marker.imageLayoutVersion)}`);
  }
}

/** The manifests an index offers, nested indexes followed, attestations left out. */
function collect(src: ImageSource, index: Json, where: string, inherited: string[], depth: number): ManifestCandidate[] {
  if (depth > MAX_INDEX_DEPTH) throw new InputError(src.name, `${where}: indexes nested too deep`);
  const list = index.manifests;
  if (!Array.isArray(list)) throw new InputError(src.name, `${where} has no manifests list`);
  const out: ManifestCandidate[] = [];
  list.forEach((entry, i) => {
    const d = descriptor(entry, src.name, `${where} manifest ${i}`);
    const annotations = ((entry as Json).annotations ?? {}) as Record<string, unknown>;
    if (annotations['vnd.docker.reference.type'] === 'attestation-manifest') return;
    const platform = platformFrom((entry as Json).platform);
    if (platform?.os === 'unknown') return; // BuildKit's attestation entries
    const own = REF_ANNOTATIONS.map((k) => annotations[k]).filter((v): v is string => typeof v === 'string' && v !== '');
    const refs = own.length ? own : inherited;
    if (d.mediaType && INDEX_TYPES.has(d.mediaType)) {
      const nested = parseObject(readVerified(src, d, `index ${d.digest}`), src.name, `index ${d.digest}`);
      out.push(...collect(src, nested, `index ${d.digest}`, refs, depth + 1));
    } else if (!d.mediaType || MANIFEST_TYPES.has(d.mediaType)) {
      out.push({ refs, ...(platform && { platform }), descriptor: d });
    }
    // other artifact types (signatures, SBOMs) are not images
  });
  return out;
}

function manifestOf(src: ImageSource, d: Descriptor): Json {
  const what = `manifest ${d.digest}`;
  const m = parseObject(readVerified(src, d, what), src.name, what);
  if (m.mediaType !== undefined && !MANIFEST_TYPES.has(m.mediaType as string)) throw new InputError(src.name, `${what}: not an image manifest (${String(m.mediaType)})`);
  if (!Array.isArray(m.layers) || !m.config) throw new InputError(src.name, `${what}: no config or layers`);
  return m;
}

function configOf(src: ImageSource, manifest: Json): Json {
  const d = descriptor(manifest.config, src.name, 'manifest config');
  const what = `config ${d.digest}`;
  return parseObject(readVerified(src, d, what), src.name, what);
}

/** Reads a metadata blob and checks it against its descriptor. */
function readVerified(src: ImageSource, d: Descriptor, what: string): Buffer {
  const path = blobPath(d.digest);
  if (!src.has(path)) throw new InputError(src.name, `${what}: missing blob ${path}`);
  const bytes = readSmallBlob(src.locate(path), src.name, what);
  verifyBytes(bytes, d, src.name, what);
  return bytes;
}

function descriptor(v: unknown, source: string, what: string): Descriptor {
  if (!v || typeof v !== 'object') throw new InputError(source, `${what}: not a descriptor`);
  const o = v as Json;
  parseDigest(o.digest, source, what);
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) throw new InputError(source, `${what}: invalid size ${JSON.stringify(o.size)}`);
  if (o.mediaType !== undefined && typeof o.mediaType !== 'string') throw new InputError(source, `${what}: invalid mediaType`);
  return { digest: o.digest as string, size: o.size, ...(typeof o.mediaType === 'string' && { mediaType: o.mediaType }) };
}

