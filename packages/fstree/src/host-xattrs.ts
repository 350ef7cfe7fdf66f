import { isUtf8 } from 'node:buffer';
import { closeSync, constants, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { byteString, displayName } from './bytestring.js';
import { describeSystemError, InputError } from './errors.js';
import type { InodeType } from './model.js';

/**
 * Reads a host entry's extended attributes, the entry's own (symlinks are not followed): full
 * names ("user.x", "security.capability") to raw values. `type` is what lstat said the entry is.
 */
export type XattrReader = (hostPath: Buffer, type: InodeType) => Map<string, Uint8Array>;

/** The part of @napi-rs/xattr used here; both calls act on the path itself, never a symlink's target. */
export interface XattrApi {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
}

/** The addon, or why it did not load; loaded at first use, once per thread. */
let addon: { api: XattrApi } | { reason: string } | undefined;

function load(): { api: XattrApi } | { reason: string } {
  if (addon) return addon;
  const name = '@napi-rs/xattr';
  try {
    // Resolved from this module: in a bundled command line, from the bundle's own place, which
    // finds it where npm hoisted it (node_modules/@napi-rs/xattr above the command's package).
    addon = { api: createRequire(import.meta.url)(name) as XattrApi };
  } catch (first) {
    // Not hoisted (npm nests a package when versions clash): look beside @fstools/fstree.
    try {
      const require = createRequire(import.meta.url);
      addon = { api: createRequire(require.resolve('@fstools/fstree'))(name) as XattrApi };
    } catch {
      addon = { reason: loadFailure(first, name) };
    }
  }
  return addon;
}

/** A one-line reason the addon did not load. */
function loadFailure(err: unknown, name: string): string {
  const code = err && typeof err === 'object' && 'code' in err ? err.code : undefined;
  if (code === 'MODULE_NOT_FOUND' && err instanceof Error && err.message.includes(`'${name}'`)) {
    return `${name} is not installed (an optional dependency of @fstools/fstree)`;
  }
  // @napi-rs loaders say "Cannot find native binding" when no prebuilt binary fits this platform.
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  if (first.startsWith('Cannot find native binding')) return `${name} has no binary for ${process.platform}-${process.arch} here`;
  return `${name} did not load: ${first.split(/\. /)[0]}`;
}

/**
 * Why host xattrs cannot be read in this process (the optional @napi-rs/xattr addon did not
 * load: not installed, as with `npm install --omit=optional`, or no binary for this platform),
 * as one line; undefined when they can. Loads the addon on first call.
 */
export function hostXattrsUnavailable(): string | undefined {
  const a = load();
  return 'reason' in a ? a.reason : undefined;
}

/**
 * The host's own xattrs of one entry, through @napi-rs/xattr; an Error when the addon did not
 * load (check hostXattrsUnavailable() first to go on without them). Every listed name is read
 * once: what was listed is what is returned, and a name that vanishes between the listing and
 * the read is an InputError naming the file and the attribute. On macOS, `com.apple.*` names
 * (the system's own bookkeeping: quarantine, provenance, Finder info) are left out; every other
 * name is returned, so a writer that cannot store it says so. trusted.* is listed only for root
 * (CAP_SYS_ADMIN), as for mkfs.erofs.
 */
export const readHostXattrs: XattrReader = (hostPath, type) => {
  const a = load();
  if ('reason' in a) throw new Error(`host xattrs cannot be read: ${a.reason}`);
  return readXattrsWith(a.api, hostPath, type);
};

/** readHostXattrs over a given API (the addon, or a stand-in in tests). */
export function readXattrsWith(api: XattrApi, hostPath: Buffer, type: InodeType): Map<string, Uint8Array> {
  const file = displayName(byteString(hostPath));
  return withTextPath(hostPath, type, file, (path) => {
    let names: string[];
    try {
      names = api.listAttributesSync(path);
    } catch (err) {
      throw new InputError(file, `cannot list xattrs: ${addonError(err)}`);
    }
    const out = new Map<string, Uint8Array>();
    for (const name of names.sort()) {
      if (process.platform === 'darwin' && name.startsWith('com.apple.')) continue;
      let value: Buffer | null;
      try {
        value = api.getAttributeSync(path, name);
      } catch (err) {
        if (/\(os error 61\)|ENODATA|No data available|Attribute not found/.test(String(err))) value = null;
        else throw new InputError(file, `cannot read xattr ${name}: ${addonError(err)}`);
      }
      if (value === null) throw new InputError(file, `xattr ${name} vanished while being read`);
      out.set(name, new Uint8Array(value));
    }
    return out;
  });
}

/** Errno names by number ("os error 13" is EACCES). */
const errnoNames = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/**
 * The addon's message in describeSystemError's form: "Permission denied (os error 13)" becomes
 * "permission denied (EACCES)"; for an xattr name that is not UTF-8, says so.
 */
function addonError(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (err && typeof err === 'object' && 'code' in err && err.code === 'InvalidArg' && msg.startsWith('Invalid attribute')) {
    return `a name is not UTF-8, which the image's xattr names must be (${msg.slice('Invalid attribute: '.length)})`;
  }
  const m = /^(.+) \(os error (\d+)\)$/.exec(msg);
  if (!m) return msg;
  return `${m[1]![0]!.toLowerCase()}${m[1]!.slice(1)} (${errnoNames.get(Number(m[2])) ?? `errno ${m[2]}`})`;
}

/**
 * Runs `use` with a text path naming the entry itself (the addon takes strings; host paths are
 * bytes). A UTF-8 path is used as it is. Otherwise, on Linux: an entry whose own name is UTF-8 as
 * /proc/self/fd/<its parent>/<name> (the last part is not followed); a directory whose name is
 * not UTF-8 through an fd of it, /proc/self/fd/<it>/. ; any other entry whose name is not UTF-8
 * has no text path: an InputError saying so.
 */
function withTextPath<T>(host: Buffer, type: InodeType, file: string, use: (path: string) => T): T {
  if (isUtf8(host)) return use(host.toString());
  const slash = host.lastIndexOf(0x2f);
  const leaf = host.subarray(slash + 1);
  const textLeaf = isUtf8(leaf) && leaf.length > 0;
  if (process.platform !== 'linux' || (!textLeaf && type !== 'dir')) {
    throw new InputError(file, 'xattrs cannot be read: the name is not UTF-8 and @napi-rs/xattr takes only text paths (-x -1 leaves host xattrs out)');
  }
  const [dir, rest, flags] = textLeaf
    ? [slash < 0 ? Buffer.from('.') : host.subarray(0, Math.max(slash, 1)), leaf.toString(), constants.O_RDONLY | constants.O_DIRECTORY]
    : [host, '.', constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW];
  let fd: number;
  try {
    fd = openSync(dir, flags);
  } catch (err) {
    throw new InputError(file, `cannot read xattrs: ${describeSystemError(err)}`);
  }
  try {
    return use(`/proc/self/fd/${fd}/${rest}`);
  } finally {
    closeSync(fd);
  }
}
