import type { BlobOpenOptions, BlobTarget } from './blob-stream.js';
import { blobStream } from './blob-stream.js';
import type { ClientContext, RegistryEvent, Timeouts } from './context.js';
import { DEFAULT_TIMEOUTS, failure } from './context.js';
import type { CredentialResolver } from './credentials.js';
import { Credentials } from './credentials-value.js';
import { digestAlgorithm, digestOf, isDigest } from './digest.js';
import { Endpoint } from './endpoint.js';
import type { EndpointRequest } from './endpoint.js';
import { readLimited } from './http-send.js';
import { parseReference } from './image-reference.js';
import type { Descriptor, ImageManifest, Manifest } from './manifest.js';
import { parseJsonObject, parseManifest } from './manifest.js';
import { MANIFEST_ACCEPT, mediaTypeOf } from './media-types.js';
import type { Platform } from './platform.js';
import { formatPlatform, parsePlatform, platformFrom, platformMatches } from './platform.js';
import type { DockerReference } from './reference.js';
import { manifestKey, parseDockerReference, referenceName, withDigest } from './reference.js';
import { Redactor } from './redact.js';
import type { RetryPolicy } from './retry.js';
import { DEFAULT_RETRY } from './retry.js';
import { RegistryError } from './errors.js';
import { selectManifest } from './select.js';
import type { HttpAgent } from './http-agent.js';
import { httpAgent } from './http-agent.js';

export interface RegistryClientOptions {
  /** false = skopeo's --tls-verify=false: any certificate, and plain HTTP when HTTPS fails. Default true (system and Node trust). */
  tlsVerify?: boolean;
  /** One set of credentials for every registry, or a resolver (credentialResolver()); default: anonymous. */
  credentials?: Credentials | CredentialResolver;
  retry?: Partial<RetryPolicy>;
  timeouts?: Partial<Timeouts>;
  userAgent?: string;
  /** Told of schemes, requests, redirects, tokens, retries and resumes (never of secrets). */
  onEvent?: (e: RegistryEvent) => void;
}

/** A manifest or index as fetched: its bytes, their digest (verified when pinned) and a typed view. */
export interface FetchedManifest {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Uint8Array;
  json: Record<string, unknown>;
  manifest: Manifest;
}

/** One image, resolved down to its platform manifest, config and layers. */
export interface RegistryImage {
  /** As asked for. */
  reference: DockerReference;
  /** The same repository at the platform manifest's digest: what was pulled, reproducibly. */
  pinned: DockerReference;
  /** The index the reference named, when it named one. */
  index?: FetchedManifest;
  manifest: FetchedManifest & { manifest: ImageManifest };
  /** The index entry's platform, else the config's. */
  platform?: Platform;
  config: { descriptor: Descriptor; bytes: Uint8Array; json: Record<string, unknown> };
  /** Bottom layer first; each blob is read with openBlob. */
  layers: Descriptor[];
}

export interface ResolveOptions {
  /** `linux/arm64` or a Platform: which manifest of an index (default: the only one, else the host's). */
  platform?: Platform | string;
  signal?: AbortSignal;
}

/** Manifests and configs larger than this are refused (containers/image's limits). */
export const MAX_MANIFEST_BYTES = 4 << 20;
export const MAX_CONFIG_BYTES = 4 << 20;
const MAX_INDEX_DEPTH = 4;

function toReference(ref: DockerReference | string): DockerReference {
  if (typeof ref !== 'string') return ref;
  if (!ref.startsWith('docker://')) return parseDockerReference(ref);
  const parsed = parseReference(ref);
  if (parsed.transport !== 'docker') throw new RegistryError(ref, 'reference', 'not a docker:// reference');
  return parsed;
}

/**
 * A distribution API v2 client (pull only). Safe for concurrent use: requests to one registry
 * share its connection pool (HTTP/1.1 keep-alive), scheme and tokens.
 */
export class RegistryClient {
  readonly #ctx: ClientContext;
  readonly #endpoints = new Map<string, Endpoint>();
  #agent?: Promise<HttpAgent>;

  constructor(opts: RegistryClientOptions = {}) {
    const tlsVerify = opts.tlsVerify ?? true;
    const creds = opts.credentials;
    const resolver: CredentialResolver = creds instanceof Credentials ? () => ({ credentials: creds, source: '--creds' }) : (creds ?? (() => ({})));
    const timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.#ctx = {
      agent: () => (this.#agent ??= httpAgent(tlsVerify, timeouts.stallMs)),
      tlsVerify,
      credentials: resolver,
      retry: { ...DEFAULT_RETRY, ...opts.retry },
      timeouts,
      userAgent: opts.userAgent ?? 'fstools-registry/0.1',
      redactor: new Redactor(),
      onEvent: opts.onEvent ?? (() => undefined),
    };
  }

  #endpoint(registry: string): Endpoint {
    let ep = this.#endpoints.get(registry);
    if (!ep) {
      ep = new Endpoint(this.#ctx, registry);
      this.#endpoints.set(registry, ep);
    }
    return ep;
  }

  /**
   * A manifest or index by tag or digest, asking for `accept` (default: OCI and Docker indexes and
   * manifests). A pinned reference's digest is checked against the bytes; by tag, the bytes'
   * sha256 must agree with the registry's Docker-Content-Digest when it sends one.
   */
  async getManifest(reference: DockerReference | string, accept: readonly string[] = MANIFEST_ACCEPT, opts: { signal?: AbortSignal } = {}): Promise<FetchedManifest> {
    const ctx = this.#ctx;
    const ref = toReference(reference);
    const source = referenceName(ref);
    const ep = this.#endpoint(ref.registry);
    const what = ref.digest !== undefined ? `manifest ${ref.digest}` : `manifest for tag '${ref.tag}'`;
    const req: EndpointRequest = {
      method: 'GET',
      path: `/v2/${ref.repository}/manifests/${manifestKey(ref)}`,
      headers: { accept: accept.join(', ') },
      repository: ref.repository,
      what,
      source,
      ...(opts.signal && { signal: opts.signal }),
    };
    const res = await ep.request(req);
    if (res.status !== 200) throw await ep.statusError(req, res);
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES);
    if (!bytes) throw failure(ctx, source, 'protocol', `${what}: larger than ${MAX_MANIFEST_BYTES} bytes`);
    let digest: string;
    if (ref.digest !== undefined) {
      digest = digestOf(bytes, digestAlgorithm(ref.digest));
      if (digest !== ref.digest) throw failure(ctx, source, 'integrity', `${what}: digest mismatch: content is ${digest}`);
    } else {
      digest = digestOf(bytes);
      const served = res.header('docker-content-digest');
      if (served !== null && isDigest(served) && served.startsWith('sha256:') && served !== digest) {
        throw failure(ctx, source, 'integrity', `${what}: digest mismatch: content is ${digest}, the registry says ${served}`);
      }
    }
    const { json, manifest } = parseManifest(bytes, mediaTypeOf(res.header('content-type')), source, what);
    if (!accept.includes(manifest.mediaType)) throw failure(ctx, source, 'unsupported', `${what}: the registry sent ${manifest.mediaType}, which was not asked for`);
    return { mediaType: manifest.mediaType, digest, size: bytes.length, bytes, json, manifest };
  }

  /**
   * Resolves a reference to one image: an index is narrowed to the platform's manifest (fetched by
   * the digest the index gives, and checked against it and its size), then the config is fetched
   * and verified. With a platform asked for and a single-manifest image, the config's platform
   * must match it.
   */
  async resolveImage(reference: DockerReference | string, opts: ResolveOptions = {}): Promise<RegistryImage> {
    const ctx = this.#ctx;
    const ref = toReference(reference);
    const source = referenceName(ref);
    const platform = typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
    const signal = opts.signal ? { signal: opts.signal } : {};
    let fetched = await this.getManifest(ref, MANIFEST_ACCEPT, signal);
    let index: FetchedManifest | undefined;
    let chosen: Platform | undefined;
    for (let depth = 0; fetched.manifest.kind === 'index'; depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw failure(ctx, source, 'protocol', `indexes nested deeper than ${MAX_INDEX_DEPTH}`);
      index ??= fetched;
      const entry = selectManifest(fetched.manifest, platform, source);
      chosen = entry.platform ?? chosen;
      const next = await this.getManifest(withDigest(ref, entry.digest), MANIFEST_ACCEPT, signal);
      if (next.size !== entry.size) throw failure(ctx, source, 'integrity', `manifest ${entry.digest}: size mismatch: ${next.size} bytes, the index says ${entry.size}`);
      fetched = next;
    }
    const manifest = fetched.manifest;
    const configBytes = await this.fetchBlob(ref, manifest.config, { limit: MAX_CONFIG_BYTES, ...signal });
    const config = parseJsonObject(configBytes, source, `config ${manifest.config.digest}`);
    const configPlatform = platformFrom(config);
    if (platform && !index && configPlatform && !platformMatches(configPlatform, platform)) {
      throw failure(ctx, source, 'not-found', `the image is for ${formatPlatform(configPlatform)}, not the requested ${formatPlatform(platform)}`);
    }
    const resolvedPlatform = chosen ?? configPlatform;
    return {
      reference: ref,
      pinned: withDigest(ref, fetched.digest),
      ...(index && { index }),
      manifest: { ...fetched, manifest },
      ...(resolvedPlatform && { platform: resolvedPlatform }),
      config: { descriptor: manifest.config, bytes: configBytes, json: config },
      layers: manifest.layers,
    };
  }

  /**
   * A blob's bytes, streamed and verified (see blobStream): iterate it with for await, or wrap it
   * in ReadableStream.from(). Nothing is requested until the first chunk is asked for.
   */
  openBlob(reference: DockerReference | string, descriptor: BlobTarget, opts: BlobOpenOptions = {}): AsyncIterable<Uint8Array> {
    const ref = toReference(reference);
    return blobStream(this.#ctx, this.#endpoint(ref.registry), ref.repository, referenceName(ref), descriptor, opts);
  }

  /** A small blob (a config) in memory, verified; larger than `limit` (default MAX_CONFIG_BYTES) is refused before it is fetched. */
  async fetchBlob(reference: DockerReference | string, descriptor: BlobTarget, opts: { limit?: number; signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const ref = toReference(reference);
    const limit = opts.limit ?? MAX_CONFIG_BYTES;
    if (descriptor.size > limit) throw failure(this.#ctx, referenceName(ref), 'protocol', `blob ${descriptor.digest}: ${descriptor.size} bytes, more than the ${limit} allowed here`);
    const out = new Uint8Array(descriptor.size);
    let at = 0;
    for await (const chunk of this.openBlob(ref, descriptor, opts.signal ? { signal: opts.signal } : {})) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** Closes the client's connections; the client stays usable (it connects again when asked). */
  async close(): Promise<void> {
    const agent = this.#agent;
    this.#agent = undefined;
    await (await agent?.catch(() => undefined))?.close();
  }

  toJSON(): string {
    return '<RegistryClient>';
  }
}
