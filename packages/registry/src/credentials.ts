import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describeSystemError } from '@fstools/fstree';
import type { AuthFile } from './auth-file.js';
import { findAuth, parseAuthFile } from './auth-file.js';
import type { Credentials } from './credentials-value.js';
import { parseCreds } from './credentials-value.js';
import { RegistryError } from './errors.js';

/** Where credentials may come from, as skopeo takes them. */
export interface CredentialOptions {
  /** `--creds USER:PASS`: used for every registry, before any file. */
  creds?: string;
  /** `--authfile FILE`: the only file read (so is REGISTRY_AUTH_FILE's, when this is not given). */
  authfile?: string;
  /** The environment (default process.env): REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, DOCKER_CONFIG. */
  env?: Record<string, string | undefined>;
  /** The home directory (default os.homedir()). */
  home?: string;
}

/** The outcome of a credentials lookup for one repository. */
export interface CredentialLookup {
  credentials?: Credentials;
  /** Where they came from: `--creds`, or `FILE (key KEY)`. */
  source?: string;
  /** Why none were found although some are configured where this package cannot read them (credential helpers). */
  unsupported?: string;
}

/** What a registry client asks for the credentials of one repository. */
export type CredentialResolver = (registry: string, repository: string) => CredentialLookup;

export interface AuthFileList {
  paths: string[];
  /** True when the user named the file (--authfile or REGISTRY_AUTH_FILE): it must exist. */
  explicit: boolean;
}

/**
 * The auth files searched, in order (containers/image's order): --authfile, else
 * REGISTRY_AUTH_FILE, each on its own; otherwise ${XDG_RUNTIME_DIR}/containers/auth.json (on Linux
 * without XDG_RUNTIME_DIR: /run/containers/UID/auth.json), ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json,
 * then ${DOCKER_CONFIG:-~/.docker}/config.json.
 */
export function authFilePaths(opts: CredentialOptions = {}): AuthFileList {
  const env = opts.env ?? process.env;
  const home = opts.home ?? homedir();
  const named = opts.authfile ?? (env.REGISTRY_AUTH_FILE || undefined);
  if (named !== undefined) return { paths: [named], explicit: true };
  const paths: string[] = [];
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers/auth.json'));
  else if (process.platform === 'linux' && process.getuid) paths.push(`/run/containers/${process.getuid()}/auth.json`);
  paths.push(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers/auth.json'));
  paths.push(join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json'));
  return { paths, explicit: false };
}

/** Reads and parses one auth file; undefined when it does not exist (and need not). */
function readAuthFile(path: string, explicit: boolean, option: string): AuthFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && (code === 'ENOENT' || code === 'ENOTDIR')) return undefined;
    throw new RegistryError(explicit ? `${option} ${path}` : path, 'credentials', `cannot read the auth file: ${describeSystemError(err)}`);
  }
  return parseAuthFile(text, path);
}

/**
 * A resolver that answers from --creds, else the first auth file with usable credentials for the
 * repository (most specific key first, see findAuth). Files are read once, on first use. A
 * credential helper (credHelpers / credsStore) is not run: when it is all there is, the lookup
 * says so in `unsupported`, which a 401 error then repeats.
 */
export function credentialResolver(opts: CredentialOptions = {}): CredentialResolver {
  const fixed = opts.creds !== undefined ? parseCreds(opts.creds) : undefined;
  let files: AuthFile[] | undefined;
  const load = (): AuthFile[] => {
    if (files) return files;
    const { paths, explicit } = authFilePaths(opts);
    const option = opts.authfile !== undefined ? '--authfile' : 'REGISTRY_AUTH_FILE';
    files = paths.map((p) => readAuthFile(p, explicit, option)).filter((f): f is AuthFile => f !== undefined);
    return files;
  };
  return (registry, repository) => {
    if (fixed) return { credentials: fixed, source: '--creds' };
    let unsupported: string | undefined;
    for (const file of load()) {
      const match = findAuth(file, registry, repository);
      if (match === undefined) continue;
      if ('entry' in match) return { credentials: match.entry.credentials, source: `${file.path} (key ${match.entry.key})` };
      unsupported ??= `${file.path} names the credential helper '${match.helper}' (${match.via}) for ${registry}, and credential helpers are not supported: give --creds or an auth file with an "auths" entry`;
    }
    return unsupported !== undefined ? { unsupported } : {};
  };
}

/** The credentials for one repository of a registry (see credentialResolver). */
export function resolveCredentials(opts: CredentialOptions, ref: { registry: string; repository: string }): CredentialLookup {
  return credentialResolver(opts)(ref.registry, ref.repository);
}
