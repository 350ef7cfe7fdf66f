import { InputError } from '@fstools/fstree';
import type { Platform } from '@fstools/registry';
import { formatDockerReference, formatPlatform, hostPlatform, parseDockerReference, platformMatches } from '@fstools/registry';

/** One image an archive or index offers: the names it goes by and, where known, its platform. */
export interface Candidate {
  refs: string[];
  platform?: Platform;
}

export interface SelectOptions {
  platform?: Platform;
  ref?: string;
  /** The N-th image the archive or index lists, 0 first (skopeo's `:@N`). */
  index?: number;
}

/**
 * Whether a user's --ref names an image known by `name` ("busybox" matches
 * "docker.io/library/busybox:latest", and "docker.io/library/busybox:latest" matches "busybox:latest").
 */
export function refMatches(name: string, ref: string): boolean {
  if (name === ref || sameDockerName(name, ref)) return true;
  const withTag = /:[^/]+$/.test(ref) || ref.includes('@') ? ref : `${ref}:latest`;
  return name === withTag || name.endsWith(`/${withTag}`) || name.endsWith(`/${ref}`) || name.endsWith(`:${ref}`);
}

/**
 * Chooses one image: --ref narrows by name, --platform by platform; with several left and no
 * --platform, the host's platform decides; anything still ambiguous is an error listing the
 * choices. `platformOf` fills in platforms the index does not state (read from the config).
 */
export async function selectImage<T extends Candidate>(
  candidates: T[],
  opts: SelectOptions,
  source: string,
  platformOf: (c: T) => Promise<Platform | undefined>,
): Promise<T> {
  if (candidates.length === 0) throw new InputError(source, 'the archive holds no image manifest');
  if (opts.index !== undefined) {
    const c = candidates[opts.index];
    if (!c) throw new InputError(source, `no image @${opts.index}: it lists ${candidates.length}`);
    return c;
  }
  let left = candidates;
  if (opts.ref !== undefined) {
    const ref = opts.ref;
    left = left.filter((c) => c.refs.some((n) => refMatches(n, ref)));
    if (left.length === 0) throw new InputError(source, `no image named '${ref}' (has: ${describe(candidates)})`);
  }
  const needPlatform = opts.platform !== undefined || left.length > 1;
  if (needPlatform) for (const c of left) c.platform ??= await platformOf(c);
  if (opts.platform) {
    const want = opts.platform;
    left = left.filter((c) => platformMatches(c.platform, want));
    if (left.length === 0) throw new InputError(source, `no image for platform ${formatPlatform(want)} (has: ${describe(candidates)})`);
  }
  if (left.length > 1 && !opts.platform && new Set(left.map((c) => formatPlatform(c.platform))).size === left.length) {
    const host = hostPlatform();
    const mine = left.filter((c) => platformMatches(c.platform, host));
    if (mine.length === 1) left = mine;
  }
  if (left.length > 1) {
    throw new InputError(source, `ambiguous: ${left.length} images (${describe(left)}); choose one with --ref or --platform`);
  }
  return left[0]!;
}

function describe(cs: Candidate[]): string {
  return cs.map((c) => `${c.refs[0] ?? '<unnamed>'} ${c.platform ? formatPlatform(c.platform) : ''}`.trim()).join(', ');
}

/** Both names read as the same docker reference once normalized (docker.io, library/, latest). */
function sameDockerName(a: string, b: string): boolean {
  try {
    return formatDockerReference(parseDockerReference(a)) === formatDockerReference(parseDockerReference(b));
  } catch {
    return false;
  }
}
