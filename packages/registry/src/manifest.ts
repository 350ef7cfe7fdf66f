import { isDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, INDEX_TYPES, MANIFEST_TYPES, OCI_INDEX, OCI_MANIFEST } from './media-types.js';
import type { Platform } from './platform.js';
import { platformFrom } from './platform.js';

/** A content descriptor: what a manifest or index says about a blob or manifest it names. */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
  artifactType?: string;
}

export interface ImageManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  /** Bottom layer first. */
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type Manifest = ImageManifest | ImageIndex;

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown): Record<string, string> | undefined {
  if (!isObject(v)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(v)) if (typeof s === 'string') out[k] = s;
  return out;
}

/**
 * A descriptor from untrusted JSON; `where` names it in errors ("layers[2]"). Checks mediaType,
 * digest (one this package can verify) and size; keeps platform, annotations, urls when well formed.
 */
export function parseDescriptor(v: unknown, source: string, where: string): Descriptor {
  const fail = (problem: string) => new RegistryError(source, 'protocol', `${where}: ${problem}`);
  if (!isObject(v)) throw fail('not a JSON object');
  if (typeof v.mediaType !== 'string' || v.mediaType === '') throw fail('no mediaType');
  if (!isDigest(v.digest)) throw fail(typeof v.digest === 'string' ? `invalid or unsupported digest '${v.digest.slice(0, 140)}'` : 'no digest');
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw fail('size is not a non-negative integer');
  const d: Descriptor = { mediaType: v.mediaType, digest: v.digest, size: v.size };
  const platform = platformFrom(v.platform);
  if (platform) d.platform = platform;
  const annotations = stringMap(v.annotations);
  if (annotations) d.annotations = annotations;
  if (Array.isArray(v.urls) && v.urls.every((u) => typeof u === 'string')) d.urls = v.urls as string[];
  if (typeof v.artifactType === 'string') d.artifactType = v.artifactType;
  return d;
}

function descriptorList(v: unknown, source: string, field: string): Descriptor[] {
  if (!Array.isArray(v)) throw new RegistryError(source, 'protocol', `${field} is not a list`);
  return v.map((d, i) => parseDescriptor(d, source, `${field}[${i}]`));
}

/** The JSON object in `bytes`; anything else is a one-line error naming `what`. */
export function parseJsonObject(bytes: Uint8Array, source: string, what: string): Json {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    // JSON.parse quotes the text around the fault; say only that it is broken.
    throw new RegistryError(source, 'protocol', `${what} is not valid UTF-8 JSON`);
  }
  if (!isObject(v)) throw new RegistryError(source, 'protocol', `${what} is not a JSON object`);
  return v;
}

/**
 * Reads a manifest or index (OCI or Docker schema 2) from its bytes. The media type is the
 * document's own `mediaType`, else the Content-Type it was served with, else what its fields
 * show. Schema 1 and unknown types are refused; so is anything malformed, in one line naming
 * `source` and `what` ("manifest sha256:...").
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, source: string, what = 'manifest'): { json: Json; manifest: Manifest } {
  const json = parseJsonObject(bytes, source, what);
  const fail = (kind: 'protocol' | 'unsupported', problem: string) => new RegistryError(source, kind, `${what}: ${problem}`);
  const declared = typeof json.mediaType === 'string' && json.mediaType !== '' ? json.mediaType : undefined;
  if (json.schemaVersion === 1 || declared === DOCKER_SCHEMA1 || declared === DOCKER_SCHEMA1_SIGNED || contentType === DOCKER_SCHEMA1 || contentType === DOCKER_SCHEMA1_SIGNED) {
    throw fail('unsupported', 'Docker schema 1 manifests are not supported (push the image again with a current client)');
  }
  if (json.schemaVersion !== 2) throw fail('protocol', 'schemaVersion is not 2');
  let mediaType = declared;
  if (mediaType === undefined && contentType !== undefined && (INDEX_TYPES.has(contentType) || MANIFEST_TYPES.has(contentType))) mediaType = contentType;
  if (mediaType === undefined) mediaType = Array.isArray(json.manifests) ? OCI_INDEX : OCI_MANIFEST;
  const annotations = stringMap(json.annotations);
  const sub = (field: string) => `${what}: ${field}`;
  if (INDEX_TYPES.has(mediaType)) {
    const manifest: ImageIndex = { kind: 'index', mediaType, manifests: descriptorList(json.manifests, source, sub('manifests')) };
    if (annotations) manifest.annotations = annotations;
    return { json, manifest };
  }
  if (MANIFEST_TYPES.has(mediaType)) {
    const manifest: ImageManifest = {
      kind: 'manifest',
      mediaType,
      config: parseDescriptor(json.config, source, sub('config')),
      layers: descriptorList(json.layers, source, sub('layers')),
    };
    if (annotations) manifest.annotations = annotations;
    return { json, manifest };
  }
  throw fail('unsupported', `unsupported media type '${mediaType.slice(0, 140)}'`);
}
