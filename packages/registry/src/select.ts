import { RegistryError } from './errors.js';
import type { Descriptor, ImageIndex } from './manifest.js';
import { INDEX_TYPES, MANIFEST_TYPES } from './media-types.js';
import type { Platform } from './platform.js';
import { effectiveVariant, formatPlatform, hostPlatform, platformMatches } from './platform.js';

/** Entries of an index that are images: manifests or nested indexes, not attestations or artifacts. */
export function imageEntries(index: ImageIndex): Descriptor[] {
  return index.manifests.filter((d) => {
    if (!MANIFEST_TYPES.has(d.mediaType) && !INDEX_TYPES.has(d.mediaType)) return false;
    if (d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return false;
    return !(d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
  });
}

function describe(ds: Descriptor[]): string {
  return ds.map((d) => formatPlatform(d.platform)).join(', ');
}

/** Of several entries matching a platform, the first that states the architecture's default variant (or none). */
function best(matches: Descriptor[], want: Platform): Descriptor {
  if (want.variant !== undefined) return matches[0]!;
  const wanted = effectiveVariant(want);
  return matches.find((d) => d.platform && effectiveVariant(d.platform) === wanted) ?? matches[0]!;
}

/**
 * Chooses the entry of an index for a platform (`--platform`): os and architecture must match, and
 * the variant when one is asked for (arm64 means v8, arm v7, when unstated). Without a platform, a
 * single image is taken as it is and several are narrowed to the host's platform. No match or an
 * ambiguous choice is a one-line RegistryError naming `source` and listing what the index offers.
 */
export function selectManifest(index: ImageIndex, platform: Platform | undefined, source: string): Descriptor {
  const candidates = imageEntries(index);
  if (candidates.length === 0) throw new RegistryError(source, 'not-found', 'the index lists no image manifest');
  if (platform) {
    const matches = candidates.filter((d) => platformMatches(d.platform, platform));
    if (matches.length === 0) throw new RegistryError(source, 'not-found', `no image for platform ${formatPlatform(platform)} (the index has: ${describe(candidates)})`);
    return best(matches, platform);
  }
  if (candidates.length === 1) return candidates[0]!;
  const host = hostPlatform();
  const mine = candidates.filter((d) => platformMatches(d.platform, host));
  if (mine.length === 0) throw new RegistryError(source, 'not-found', `no image for this host's platform ${formatPlatform(host)} (the index has: ${describe(candidates)}); choose one with --platform`);
  return best(mine, host);
}
