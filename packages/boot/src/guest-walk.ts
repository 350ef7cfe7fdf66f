import type { ByteString } from '@fstools/fstree';
import { byteString, InputError } from '@fstools/fstree';

/**
 * The guest side of a tree walk: a shell function (busybox find/xargs/stat/sha256sum and Debian's
 * getfattr) that records raw facts about every entry under a directory into a folder of files.
 * Names are carried NUL-separated and every other output is matched back to a known name, so any
 * byte in a name survives. The host turns the facts into canonical manifest entries. getfattr is
 * called by path: busybox's own getfattr applet (1.37) cannot dump every namespace in hex.
 * xargs runs `busybox stat`, not `stat`: busybox xargs runs a "nofork" applet such as stat inside
 * its own process, which garbles its argument buffer once the list spans several batches.
 *
 * Files written to OUT:
 *   paths    every path under ROOT (./-prefixed, "." first), NUL-terminated
 *   stat     one line per path, same order: %f %u %g %h %d %i %t %T %s %Y %y
 *   files    the regular files, NUL-terminated; sha256  "<hex>  <name>\n" per file, same order
 *   links    the symlinks, NUL-terminated;      targets "'<name>' -> '<target>'\n" per link
 *   xattrs   `getfattr -R -P -h -d -m - -e hex` output (trusted.* too: the guest is root)
 */
export const WALK_FUNCTION = `
walk() {
  mkdir -p "$2" && (
    cd "$1" || exit 1
    find . -xdev -print0 > "$2/paths" || exit 1
    xargs -0 busybox stat -c '%f %u %g %h %d %i %t %T %s %Y %y' < "$2/paths" > "$2/stat" || exit 1
    find . -xdev -type f -print0 > "$2/files" || exit 1
    xargs -0 -r busybox sha256sum < "$2/files" > "$2/sha256" || exit 1
    find . -xdev -type l -print0 > "$2/links" || exit 1
    xargs -0 -r busybox stat -c '%N' < "$2/links" > "$2/targets" || exit 1
    /usr/bin/getfattr -R -P -h -d -m - -e hex . > "$2/xattrs" || exit 1
  )
}
`;

/** Raw facts about one entry as the guest saw it (lstat, content hash, link target, xattrs). */
export interface GuestEntry {
  /** Relative path, "" for the root. */
  path: ByteString;
  /** Full st_mode (type and permission bits). */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  /** st_dev:st_ino, the identity hardlinks share. */
  id: string;
  rdevMajor: number;
  rdevMinor: number;
  size: number;
  mtime: bigint;
  sha256?: string;
  target?: ByteString;
  xattrs: Map<string, Uint8Array>;
}

export const WALK_FILES = ['paths', 'stat', 'files', 'sha256', 'links', 'targets', 'xattrs'] as const;
export type WalkFiles = Record<(typeof WALK_FILES)[number], Buffer>;

/** Parses the files one `walk` wrote. `source` names the walk in errors. */
export function parseWalk(files: WalkFiles, source: string): GuestEntry[] {
  const text = (k: keyof WalkFiles): ByteString => byteString(files[k]);
  const paths = nulList(text('paths'));
  const statLines = text('stat').split('\n');
  if (statLines.pop() !== '' || statLines.length !== paths.length) {
    throw new InputError(source, `walk output is inconsistent: ${paths.length} paths, ${statLines.length} stat lines`);
  }
  const byName = new Map<ByteString, GuestEntry>();
  const entries = paths.map((name, i) => {
    const e = parseStat(statLines[i]!, relative(name), `${source}: stat of ${JSON.stringify(name)}`);
    byName.set(name, e);
    return e;
  });
  const entryOf = (name: ByteString, what: string): GuestEntry => {
    const e = byName.get(name);
    if (!e) throw new InputError(source, `${what} names ${JSON.stringify(name)}, which the walk did not list`);
    return e;
  };
  let pos = 0;
  const sha = text('sha256');
  for (const name of nulList(text('files'))) {
    const hash = sha.slice(pos, pos + 64);
    const tail = `  ${name}\n`;
    if (!/^[0-9a-f]{64}$/.test(hash) || sha.slice(pos + 64, pos + 64 + tail.length) !== tail) throw new InputError(source, `sha256 output does not match the file list at ${JSON.stringify(name)}`);
    entryOf(name, 'sha256').sha256 = hash;
    pos += 64 + tail.length;
  }
  pos = 0;
  const targets = text('targets');
  for (const name of nulList(text('links'))) {
    const e = entryOf(name, 'the link list');
    const head = `'${name}' -> '`;
    const end = pos + head.length + e.size;
    if (targets.slice(pos, pos + head.length) !== head || targets.slice(end, end + 2) !== `'\n`) throw new InputError(source, `link target output does not match the link list at ${JSON.stringify(name)}`);
    e.target = targets.slice(pos + head.length, end);
    pos = end + 2;
  }
  for (const [name, xattrs] of parseGetfattr(text('xattrs'))) entryOf(name === '.' ? '.' : `./${name}`, 'getfattr').xattrs = xattrs;
  return entries;
}

function nulList(s: ByteString): ByteString[] {
  const parts = s.split('\0');
  parts.pop();
  return parts;
}

function relative(name: ByteString): ByteString {
  return name === '.' ? '' : name.replace(/^\.\//, '');
}

function parseStat(line: ByteString, path: ByteString, where: string): GuestEntry {
  const f = line.split(' ');
  // %f %u %g %h %d %i %t %T %s %Y then %y: "YYYY-MM-DD hh:mm:ss.nnnnnnnnn +zzzz"
  const frac = /\.(\d{9})$/.exec(f[11] ?? '');
  if (f.length !== 13 || !frac) throw new InputError(where, `unexpected stat line ${JSON.stringify(line)}`);
  return {
    path,
    mode: parseInt(f[0]!, 16),
    uid: Number(f[1]),
    gid: Number(f[2]),
    nlink: Number(f[3]),
    id: `${f[4]}:${f[5]}`,
    rdevMajor: parseInt(f[6]!, 16),
    rdevMinor: parseInt(f[7]!, 16),
    size: Number(f[8]),
    mtime: BigInt(f[9]!) * 1_000_000_000n + BigInt(frac[1]!),
    xattrs: new Map(),
  };
}

/**
 * The xattrs in a `getfattr -d -e hex` dump, by file name: "# file: NAME" then "name=0xHEX" lines.
 * Names are raw bytes except for getfattr's octal escapes \ooo (attr 2.5 escapes a backslash, a
 * newline and a CR, and "=" in xattr names); "\\" (libacl's form of a backslash) is read as one
 * backslash too. File names stay byte strings; xattr names are taken as UTF-8 text.
 */
export function parseGetfattr(out: ByteString): Map<ByteString, Map<string, Uint8Array>> {
  const result = new Map<ByteString, Map<string, Uint8Array>>();
  let current: Map<string, Uint8Array> | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      result.set(unescapeGetfattr(line.slice(8)), current);
    } else if (current && line.includes('=')) {
      const eq = line.indexOf('=');
      const value = line.slice(eq + 1);
      const name = Buffer.from(unescapeGetfattr(line.slice(0, eq)), 'latin1').toString('utf8');
      current.set(name, new Uint8Array(value.startsWith('0x') ? Buffer.from(value.slice(2), 'hex') : Buffer.alloc(0)));
    }
  }
  return result;
}

function unescapeGetfattr(s: ByteString): ByteString {
  return s.replace(/\\(\\|[0-3][0-7]{2})/g, (_, esc: string) => (esc === '\\' ? esc : String.fromCharCode(parseInt(esc, 8))));
}

/** The entries of the walk the guest wrote to /out/<dir> (`walk ROOT /out/<dir>`). */
export function walkOutputs(outputs: ReadonlyMap<string, Buffer>, dir: string, source: string): GuestEntry[] {
  const files = {} as WalkFiles;
  for (const k of WALK_FILES) {
    const b = outputs.get(`${dir}/${k}`);
    if (!b) throw new InputError(source, `the guest returned no ${dir}/${k}`);
    files[k] = b;
  }
  return parseWalk(files, `${source} (${dir})`);
}
