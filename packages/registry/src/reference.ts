import { isDigest } from './digest.js';
import { RegistryError } from './errors.js';

/**
 * An image in a registry, normalized the way docker, skopeo and containerd read a name:
 * no registry means `docker.io`, a one-part name on docker.io gets `library/`, and neither tag nor
 * digest means the tag `latest`. With a digest, the digest decides what is pulled (the tag, kept
 * when both are written, is only a label).
 */
export interface DockerReference {
  transport: 'docker';
  /** `docker.io`, `ghcr.io`, `127.0.0.1:5000`, `[::1]:5000`, `localhost`: as written, except index.docker.io -> docker.io. */
  registry: string;
  /** The repository path, lowercase: `library/busybox`. */
  repository: string;
  tag?: string;
  /** `sha256:<hex>` (or sha512): the content is checked against it. */
  digest?: string;
}

/** The registry docker.io names. */
export const DOCKER_HUB = 'docker.io';
/** Where docker.io's distribution API answers. */
export const DOCKER_HUB_API = 'registry-1.docker.io';
const LEGACY_DOCKER_HUB = 'index.docker.io';
export const DEFAULT_TAG = 'latest';
/** Longest repository name (registry/path) docker's reference grammar allows. */
export const NAME_MAX = 255;

// The grammar of github.com/distribution/reference (regexp.go), written out here.
const DOMAIN_NAME = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*$/;
const IPV6 = /^\[[a-fA-F0-9:]+\]$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ANY_DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IDENTIFIER = /^[a-f0-9]{64}$/;

function bad(source: string, problem: string): RegistryError {
  return new RegistryError(source, 'reference', problem);
}

/** Whether `domain` (`host[:port]`) is a valid registry name. */
export function isRegistryName(domain: string): boolean {
  const m = /^(\[[^\]]*\]|[^:]*)(?::([0-9]+))?$/.exec(domain);
  if (!m) return false;
  const host = m[1]!;
  if (m[2] !== undefined && (m[2].length > 5 || Number(m[2]) > 65535)) return false;
  return IPV6.test(host) || DOMAIN_NAME.test(host);
}

/**
 * Parses a docker reference without a transport prefix, as containerd and docker write them:
 * `[REGISTRY[:PORT]/]REPO[:TAG][@DIGEST]`. `source` names the input in errors (default: `text`).
 * Bad input is a one-line RegistryError (kind 'reference').
 */
export function parseDockerReference(text: string, source = text): DockerReference {
  if (text === '') throw bad(source, 'empty image reference');
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!ANY_DIGEST.test(digest)) throw bad(source, `invalid digest '${digest}' (expected sha256:<64 hex digits>)`);
    const algorithm = digest.slice(0, digest.indexOf(':'));
    if (!isDigest(digest)) {
      throw bad(source, algorithm === 'sha256' || algorithm === 'sha512' ? `invalid ${algorithm} digest length or case` : `unsupported digest algorithm '${algorithm}' (sha256 and sha512 are supported)`);
    }
  }
  if (IDENTIFIER.test(rest)) throw bad(source, 'a 64-hex-digit image ID is not a repository name');

  // The first component is a registry when it has a dot or a port, or is localhost (or [IPv6]).
  let registry = DOCKER_HUB;
  const slash = rest.indexOf('/');
  if (slash !== -1) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first.startsWith('[')) {
      registry = first;
      rest = rest.slice(slash + 1);
      if (!isRegistryName(registry)) throw bad(source, `invalid registry name '${registry}'`);
    }
  }
  if (registry === LEGACY_DOCKER_HUB) registry = DOCKER_HUB;

  let tag: string | undefined;
  const colon = rest.indexOf(':');
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(source, `invalid tag '${tag}' (letters, digits, _ . -; at most 128, not starting with . or -)`);
  }
  if (rest === '') throw bad(source, 'no repository name');
  for (const component of rest.split('/')) {
    if (PATH_COMPONENT.test(component)) continue;
    if (PATH_COMPONENT.test(component.toLowerCase())) throw bad(source, 'repository name must be lowercase');
    throw bad(source, component === '' ? 'empty path component in the repository name' : `invalid repository name component '${component}'`);
  }
  if (registry === DOCKER_HUB && !rest.includes('/')) rest = `library/${rest}`;
  if (registry.length + 1 + rest.length > NAME_MAX) throw bad(source, `repository name longer than ${NAME_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { transport: 'docker', registry, repository: rest, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** `registry/repository[:tag][@digest]`, fully qualified (what parseDockerReference reads back). */
export function formatDockerReference(ref: DockerReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** How errors and logs name a reference: `docker://registry/repository[:tag][@digest]`. */
export function referenceName(ref: DockerReference): string {
  return `docker://${formatDockerReference(ref)}`;
}

/** What the distribution API is asked for: the digest when there is one, else the tag. */
export function manifestKey(ref: DockerReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** The same repository pinned to `digest` (no tag). */
export function withDigest(ref: DockerReference, digest: string): DockerReference {
  return { transport: 'docker', registry: ref.registry, repository: ref.repository, digest };
}

/** The host[:port] the distribution API of a registry answers on (docker.io -> registry-1.docker.io). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}
