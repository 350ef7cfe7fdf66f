import { InputError } from '@fstools/fstree';
import { openSource } from './archive.js';
import { resolveDockerSave } from './docker-save.js';
import type { ResolvedImage } from './image.js';
import { layerLabel } from './image.js';
import type { SelectOptions } from './index-select.js';
import { hasOciIndex, resolveOciLayout } from './oci-layout.js';
import { statSync } from 'node:fs';
import type { ImageReference } from '@fstools/registry';
import { formatDockerReference, formatReference } from '@fstools/registry';
import type { PulledImage } from './registry-source.js';
import type { RegistryAccess } from './remote-blob.js';
import { resolveRegistryImage } from './registry-source.js';

/**
 * Reads an image container and picks one image: an OCI image layout directory, an OCI archive,
 * or a docker-save archive or directory (legacy, or Docker 25's OCI layout with manifest.json).
 * Errors name the image `name` (default: the path).
 */
export async function resolveImage(input: string, opts: SelectOptions = {}, name = input): Promise<ResolvedImage> {
  const src = openSource(input, name);
  if (hasOciIndex(src)) return resolveOciLayout(src, opts);
  if (src.has('manifest.json')) return resolveDockerSave(src, opts);
  if (src.has('repositories')) throw new InputError(src.name, 'docker save archive without manifest.json (the pre-1.10 format) is not supported');
  if (src.has('index.json')) throw new InputError(src.name, 'index.json lists no manifests');
  throw new InputError(src.name, 'not an OCI image layout, OCI archive or docker-save archive (no index.json or manifest.json)');
}

/**
 * Resolves an image reference: `docker://` from its registry (layers left there, fetched as
 * they are converted), the others from the host as resolveImage does, the reference's own
 * image name or `@N` choosing the image. Errors name the reference as written.
 */
export async function resolveReference(ref: ImageReference, opts: SelectOptions, access: RegistryAccess): Promise<ResolvedImage | PulledImage> {
  const name = formatReference(ref);
  if (ref.transport === 'path') return resolveImage(ref.path, opts);
  const own = ref.transport === 'docker' ? undefined : ref.transport === 'docker-archive' ? (ref.ref && formatDockerReference(ref.ref)) : ref.image;
  if ((own !== undefined || ('index' in ref && ref.index !== undefined)) && opts.ref !== undefined) throw new InputError(name, 'names its image already: --ref does not apply');
  if (ref.transport === 'docker') return resolveRegistryImage(ref, name, access, opts.platform);
  const select: SelectOptions = { ...opts, ...(own !== undefined && { ref: own }), ...(ref.index !== undefined && { index: ref.index }) };
  return resolveImage(ref.path, select, name);
}

/** Bare layer tars (plain, gzip or zstd) in stack order, bottom first, as an image. */
export function imageFromLayerFiles(paths: string[]): ResolvedImage {
  if (paths.length === 0) throw new InputError('--layer', 'no layers given');
  return {
    name: paths.length === 1 ? paths[0]! : `${paths[0]} (+${paths.length - 1} layers)`,
    layers: paths.map((file, index) => {
      let st;
      try {
        st = statSync(file);
      } catch {
        throw new InputError(file, 'missing layer file');
      }
      if (!st.isFile()) throw new InputError(file, 'not a layer file (not a regular file)');
      const size = st.size;
      return { index, blob: { file, offset: 0, size }, compression: 'detect' as const, label: layerLabel(index, file) };
    }),
  };
}
