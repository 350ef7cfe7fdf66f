import { credentialResolver, RegistryClient, referenceName } from '@fstools/registry';
import type { DockerReference, Platform, RegistryImage } from '@fstools/registry';
import type { RegistryAccess, RemoteBlob } from './remote-blob.js';
import { InputError } from '@fstools/fstree';
import type { ResolvedImage } from './image.js';
import { layerLabel } from './image.js';
import { diffIdsOf } from './json.js';
import { layerCompression } from './media-types.js';

/** An image resolved from a registry: its layers are RemoteBlobs; what was fetched to get there. */
export interface PulledImage extends ResolvedImage {
  pulled: RegistryImage;
  /** Bytes of the manifests and the config. */
  metadataBytes: number;
}

// One client per thread and access: requests share its connections and tokens.
const clients = new Map<string, RegistryClient>();

/** This thread's client for `access`. */
export function registryClient(access: RegistryAccess): RegistryClient {
  const key = JSON.stringify([access.tlsVerify ?? true, access.creds ?? null, access.authfile ?? null]);
  let c = clients.get(key);
  if (!c) {
    const credentials = credentialResolver({ ...(access.creds !== undefined && { creds: access.creds }), ...(access.authfile !== undefined && { authfile: access.authfile }) });
    c = new RegistryClient({ tlsVerify: access.tlsVerify ?? true, credentials, userAgent: 'fsmerge/0.1' });
    clients.set(key, c);
  }
  return c;
}

/** Closes this thread's registry connections (the clients stay usable). */
export async function closeRegistryClients(): Promise<void> {
  await Promise.all([...clients.values()].map((c) => c.close()));
}

/**
 * Resolves a registry image to its platform manifest (an index narrowed by `platform`, else the
 * host's), its config (verified against the manifest) and its layers, whose diff IDs the config
 * gives. Nothing of a layer is fetched here.
 */
export async function resolveRegistryImage(ref: DockerReference, name: string, access: RegistryAccess, platform?: Platform): Promise<PulledImage> {
  const pulled = await registryClient(access).resolveImage(ref, platform ? { platform } : {});
  const { manifest, config } = pulled;
  const what = `manifest ${manifest.digest}`;
  const diffIds = diffIdsOf(config.json, name);
  if (pulled.layers.length !== diffIds.length) throw new InputError(name, `${what} lists ${pulled.layers.length} layers but its config has ${diffIds.length} diff IDs`);
  return {
    name,
    ref: referenceName(pulled.pinned),
    ...(pulled.platform && { platform: pulled.platform }),
    pulled,
    metadataBytes: (pulled.index?.size ?? 0) + manifest.size + config.bytes.length,
    layers: pulled.layers.map((d, i) => {
      const label = layerLabel(i, d.digest);
      const compression = layerCompression(d.mediaType);
      if (!compression) throw new InputError(name, `${label}: unknown layer media type ${d.mediaType}`);
      const blob: RemoteBlob = { remote: ref, digest: d.digest, size: d.size, access };
      return { index: i, diffId: diffIds[i]!, blob, digest: d.digest, size: d.size, compression, label };
    }),
  };
}

/** A remote blob's bytes as they arrive; a wrong size or digest throws before the stream ends. */
export function remoteBlobStream(blob: RemoteBlob): AsyncIterable<Uint8Array> {
  return registryClient(blob.access).openBlob(blob.remote, blob);
}
