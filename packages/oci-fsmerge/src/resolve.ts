import { InputError } from '@fstools/fstree';
import { openSource } from './archive.js';
import { resolveDockerSave } from './docker-save.js';
import type { ResolvedImage } from './image.js';
import { layerLabel } from './image.js';
import type { SelectOptions } from './index-select.js';
import { hasOciIndex, resolveOciLayout } from './oci-layout.js';
import { statSync } from 'node:fs';

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
