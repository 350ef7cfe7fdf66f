import { RegistryError } from './errors.js';
import { Credentials } from './credentials-value.js';

/** One `auths` entry of a containers auth.json or docker config.json. */
export interface AuthEntry {
  /** The key as written: `HOST`, `HOST:PORT`, `HOST/NS/REPO`, `https://index.docker.io/v1/`. */
  key: string;
  /** From `auth` (base64 `user:pass`) or the `username` / `password` fields; absent for an empty entry. */
  credentials?: Credentials;
  /** The entry holds an `identitytoken` (an OAuth2 refresh token, which this package does not use). */
  identityToken: boolean;
}

export interface AuthFile {
  path: string;
  auths: Map<string, AuthEntry>;
  /** `credHelpers`: registry -> helper name. */
  credHelpers: Map<string, string>;
  /** `credsStore`: the helper for every registry. */
  credsStore?: string;
}

/** What an auth file says about one repository. */
export type AuthMatch = { entry: AuthEntry & { credentials: Credentials } } | { helper: string; via: 'credHelpers' | 'credsStore' } | undefined;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A key as it would appear in an error: hostnames and paths only, cut short. */
function shown(key: string): string {
  return JSON.stringify(key.length > 100 ? `${key.slice(0, 100)}...` : key);
}

function entryOf(key: string, v: unknown, path: string): AuthEntry {
  const fail = (problem: string) => new RegistryError(path, 'credentials', `auths[${shown(key)}]: ${problem}`);
  if (!isObject(v)) throw fail('is not a JSON object');
  const entry: AuthEntry = { key, identityToken: typeof v.identitytoken === 'string' && v.identitytoken !== '' };
  if (v.auth !== undefined && v.auth !== '') {
    if (typeof v.auth !== 'string' || !BASE64.test(v.auth)) throw fail('"auth" is not base64 (of user:password)');
    const decoded = Buffer.from(v.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Like docker and containers/image: an auth without a colon is skipped, not an error.
    if (colon > 0) entry.credentials = new Credentials(decoded.slice(0, colon), decoded.slice(colon + 1).replace(/^\0+|\0+$/g, ''));
  } else if (v.username !== undefined || v.password !== undefined) {
    if (typeof v.username !== 'string' || typeof v.password !== 'string') throw fail('"username" and "password" must both be strings');
    if (v.username !== '') entry.credentials = new Credentials(v.username, v.password);
  }
  return entry;
}

/**
 * Parses a containers-auth.json / docker config.json text. `path` names the file in errors, which
 * never quote a credential (JSON syntax errors give no excerpt of the text).
 */
export function parseAuthFile(text: string, path: string): AuthFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new RegistryError(path, 'credentials', 'not valid JSON');
  }
  if (!isObject(v)) throw new RegistryError(path, 'credentials', 'not a JSON object');
  const file: AuthFile = { path, auths: new Map(), credHelpers: new Map() };
  if (v.auths !== undefined && v.auths !== null) {
    if (!isObject(v.auths)) throw new RegistryError(path, 'credentials', '"auths" is not a JSON object');
    for (const [key, entry] of Object.entries(v.auths)) file.auths.set(key, entryOf(key, entry, path));
  }
  if (v.credHelpers !== undefined && v.credHelpers !== null) {
    if (!isObject(v.credHelpers)) throw new RegistryError(path, 'credentials', '"credHelpers" is not a JSON object');
    for (const [registry, helper] of Object.entries(v.credHelpers)) if (typeof helper === 'string' && helper !== '') file.credHelpers.set(registry, helper);
  }
  if (typeof v.credsStore === 'string' && v.credsStore !== '') file.credsStore = v.credsStore;
  return file;
}

/** docker.io's other names, as auth files key them (containers/image normalizeRegistry). */
function normalizeRegistry(registry: string): string {
  return registry === 'docker.io' || registry === 'registry-1.docker.io' ? 'index.docker.io' : registry;
}

/** The registry a key stands for: URLs (`https://index.docker.io/v1/`) give their host. */
function normalizeKey(key: string): string {
  const stripped = key.replace(/^https?:\/\//, '');
  return normalizeRegistry(stripped === key ? stripped : stripped.split('/')[0]!);
}

/**
 * The entry for `registry/repository`, most specific first: a credHelpers entry for the registry
 * (reported, not run), then the keys `registry/repository`, each parent namespace, `registry`;
 * then any key naming the same registry another way (URL keys, docker.io's aliases). An entry
 * without credentials counts as none.
 */
export function findAuth(file: AuthFile, registry: string, repository: string): AuthMatch {
  const helper = file.credHelpers.get(registry);
  if (helper !== undefined) return { helper, via: 'credHelpers' };
  const usable = (e: AuthEntry | undefined) => (e?.credentials ? { entry: e as AuthEntry & { credentials: Credentials } } : undefined);
  let key = `${registry}/${repository}`;
  for (;;) {
    const hit = usable(file.auths.get(key));
    if (hit) return hit;
    const slash = key.lastIndexOf('/');
    if (slash === -1) break;
    key = key.slice(0, slash);
  }
  const wanted = normalizeRegistry(registry);
  for (const [k, e] of file.auths) {
    if (normalizeKey(k) !== wanted) continue;
    const hit = usable(e);
    if (hit) return hit;
  }
  if (file.credsStore !== undefined) return { helper: file.credsStore, via: 'credsStore' };
  return undefined;
}
