import { RegistryError } from './errors.js';
import type { DockerReference } from './reference.js';
import { formatDockerReference, parseDockerReference } from './reference.js';

/** `oci:DIR[:REF]` / `oci-archive:FILE[:REF]`: an OCI image layout (directory or tar). */
export interface OciReference {
  transport: 'oci' | 'oci-archive';
  path: string;
  /** The image's `org.opencontainers.image.ref.name` in index.json. */
  image?: string;
  /** `:@N`: the N-th (0-based) manifest of index.json. */
  index?: number;
}

/** `docker-archive:FILE[:REF|:@N]`: a `docker save` tar. */
export interface DockerArchiveReference {
  transport: 'docker-archive';
  path: string;
  /** The image tagged so in the archive's manifest.json (always tagged; `latest` when only a name is given). */
  ref?: DockerReference;
  /** `:@N`: the N-th (0-based) image of manifest.json. */
  index?: number;
}

/** Text with no transport prefix: a file or directory, whose contents say what it is. */
export interface PathReference {
  transport: 'path';
  path: string;
}

export type ImageReference = DockerReference | OciReference | DockerArchiveReference | PathReference;

// Image names in an OCI layout (containers/image oci/internal: annotation ref names).
const OCI_REF = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

/** skopeo transports this package names but does not read. */
const UNSUPPORTED = ['containers-storage', 'docker-daemon', 'dir', 'sif', 'tarball'];
const SUPPORTED = 'docker://, oci:, oci-archive:, docker-archive: or a plain path';

function bad(source: string, problem: string): RegistryError {
  return new RegistryError(source, 'reference', problem);
}

/** `@N` as a source index, or undefined when `s` is not of that form. */
function sourceIndex(s: string, source: string): number | undefined {
  if (!s.startsWith('@')) return undefined;
  const digits = s.slice(1);
  if (!/^[0-9]{1,9}$/.test(digits)) throw bad(source, `invalid source index '${s}' (expected @N, N >= 0)`);
  return Number(digits);
}

function splitPath(rest: string, transport: string, source: string): [string, string | undefined] {
  const colon = rest.indexOf(':');
  const path = colon === -1 ? rest : rest.slice(0, colon);
  const tail = colon === -1 ? undefined : rest.slice(colon + 1);
  if (path === '') throw bad(source, `${transport}: needs a path (${transport}:PATH[:REF])`);
  return [path, tail === '' ? undefined : tail];
}

function parseOci(transport: 'oci' | 'oci-archive', rest: string, source: string): OciReference {
  const [path, tail] = splitPath(rest, transport, source);
  if (tail === undefined) return { transport, path };
  const index = sourceIndex(tail, source);
  if (index !== undefined) return { transport, path, index };
  if (!OCI_REF.test(tail)) throw bad(source, `invalid image name '${tail}' in the layout`);
  return { transport, path, image: tail };
}

function parseDockerArchive(rest: string, source: string): DockerArchiveReference {
  const [path, tail] = splitPath(rest, 'docker-archive', source);
  if (tail === undefined) return { transport: 'docker-archive', path };
  const index = sourceIndex(tail, source);
  if (index !== undefined) return { transport: 'docker-archive', path, index };
  const ref = parseDockerReference(tail, source);
  if (ref.digest !== undefined) throw bad(source, 'docker-archive: names images by tag, not digest');
  return { transport: 'docker-archive', path, ref };
}

/**
 * Parses an image reference as skopeo writes them: `docker://[REGISTRY[:PORT]/]REPO[:TAG|@DIGEST]`,
 * `oci:DIR[:REF|:@N]`, `oci-archive:FILE[:REF|:@N]`, `docker-archive:FILE[:REF|:@N]`. Text with no
 * transport prefix is a plain path (`./oci:x` is how to name a file whose name has a colon). Bad
 * input is a one-line RegistryError (kind 'reference') naming the text.
 */
export function parseReference(text: string): ImageReference {
  if (text === '') throw bad(text, 'empty image reference');
  const m = /^([a-z][a-z0-9-]*):/.exec(text);
  const transport = m?.[1];
  const rest = m ? text.slice(m[0].length) : text;
  switch (transport) {
    case 'docker':
      if (!rest.startsWith('//')) throw bad(text, 'docker: references start with docker://');
      return parseDockerReference(rest.slice(2), text);
    case 'oci':
    case 'oci-archive':
      return parseOci(transport, rest, text);
    case 'docker-archive':
      return parseDockerArchive(rest, text);
    default:
      if (transport !== undefined && UNSUPPORTED.includes(transport)) throw bad(text, `the ${transport}: transport is not supported (use ${SUPPORTED})`);
      return { transport: 'path', path: text };
  }
}

/** The text parseReference reads back as the same value. */
export function formatReference(ref: ImageReference): string {
  switch (ref.transport) {
    case 'docker':
      return `docker://${formatDockerReference(ref)}`;
    case 'oci':
    case 'oci-archive':
      return `${ref.transport}:${ref.path}${ref.image !== undefined ? `:${ref.image}` : ref.index !== undefined ? `:@${ref.index}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${ref.path}${ref.ref ? `:${formatDockerReference(ref.ref)}` : ref.index !== undefined ? `:@${ref.index}` : ''}`;
    case 'path':
      return ref.path;
  }
}
