import type { Compression } from '@fstools/fstree';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

export const INDEX_TYPES = new Set([OCI_INDEX, DOCKER_LIST]);
export const MANIFEST_TYPES = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);

/**
 * Layer media types and the compression each declares; 'detect' means the name does not say
 * and the magic bytes decide (docker-save layers, which carry no media type at all, too).
 */
const LAYER_TYPES: Record<string, Compression | 'detect'> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  // Docker's schema 2 has one layer type for gzip and plain tars alike (docker and containerd read
  // either by its magic bytes): `skopeo copy --preserve-digests docker-archive:...` pushes plain
  // tars under it.
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'detect',
  'application/vnd.docker.image.rootfs.diff.tar.zstd': 'zstd',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
  'application/x-tar': 'detect',
};

/** The compression a layer media type declares, or undefined for a type that is not a layer we read. */
export function layerCompression(mediaType: string | undefined): Compression | 'detect' | undefined {
  if (mediaType === undefined) return 'detect';
  return LAYER_TYPES[mediaType];
}
