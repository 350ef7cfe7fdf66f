import { closeSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describeSystemError, displayName, InputError } from '@fstools/fstree';
import type { ByteString } from '@fstools/fstree';
import type { TarMember } from './tar-index.js';
import { indexTar, normalize } from './tar-index.js';

/** Where a blob's bytes live on the host: a whole file, or a range of an archive. */
export interface BlobLocation {
  file: string;
  offset: number;
  size: number;
}

/**
 * Read access to the files of an image container: an image-layout or docker-save directory,
 * or a tar archive of either (read in place, never extracted). Paths are relative and
 * '/'-separated; symlinks and hard links inside an archive are followed within it.
 */
export interface ImageSource {
  /** The name the user gave, for errors. */
  readonly name: string;
  has(path: string): boolean;
  locate(path: string): BlobLocation;
}

const MAX_LINKS = 40;

/** The image container at `path`; errors name it `name` (default: the path). */
export function openSource(path: string, name = path): ImageSource {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new InputError(name, 'no such file or directory');
  }
  return st.isDirectory() ? new DirSource(path) : new TarSource(path, name);
}

class DirSource implements ImageSource {
  private readonly root: string;
  constructor(readonly name: string) {
    this.root = realpathSync(name);
  }
  has(path: string): boolean {
    try {
      this.locate(path);
      return true;
    } catch {
      return false;
    }
  }
  locate(path: string): BlobLocation {
    const rel = checked(this.name, path);
    let real: string;
    try {
      real = realpathSync(join(this.root, rel));
    } catch {
      throw new InputError(this.name, `missing ${path}`);
    }
    if (real !== this.root && !real.startsWith(this.root + sep)) throw new InputError(this.name, `${path} points outside the image`);
    const st = statSync(real);
    if (!st.isFile()) throw new InputError(this.name, `${path} is not a regular file`);
    return { file: real, offset: 0, size: st.size };
  }
}

class TarSource implements ImageSource {
  private readonly members: Map<ByteString, TarMember>;
  constructor(
    private readonly file: string,
    readonly name: string,
  ) {
    this.members = indexTar(file, name);
  }
  has(path: string): boolean {
    return this.find(checked(this.name, path)) !== undefined;
  }
  locate(path: string): BlobLocation {
    const m = this.find(checked(this.name, path));
    if (!m) throw new InputError(this.name, `missing ${path}`);
    if (m.type !== 'file') throw new InputError(this.name, `${path} is not a regular file`);
    return { file: this.file, offset: m.offset, size: m.size };
  }
  /** The member at path, links followed (relative symlinks resolve against their directory). */
  private find(path: ByteString): TarMember | undefined {
    let m = this.members.get(path);
    for (let hops = 0; m && (m.type === 'symlink' || m.type === 'hardlink'); hops++) {
      if (hops === MAX_LINKS) throw new InputError(this.name, `too many links resolving ${displayName(path)}`);
      const base = m.type === 'symlink' && !m.linkname.startsWith('/') ? m.path.split('/').slice(0, -1).join('/') : '';
      const target = resolve(base, m.linkname);
      if (target === undefined) throw new InputError(this.name, `${displayName(m.path)} links outside the archive`);
      m = this.members.get(target);
    }
    return m;
  }
}

/** base + relative link target, '..' applied; undefined when it climbs out of the root. */
function resolve(base: ByteString, target: ByteString): ByteString | undefined {
  const parts = base ? base.split('/') : [];
  for (const p of target.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(p);
  }
  return parts.join('/');
}

/** A relative path named by image metadata, refused when it climbs out of the image. */
function checked(source: string, path: string): ByteString {
  const norm = normalize(path);
  if (path.startsWith('/') || norm.split('/').includes('..')) throw new InputError(source, `path ${path} escapes the image`);
  return norm;
}

/** Streams a blob's bytes, read into one reused buffer: a chunk lasts until the next is asked for. */
export async function* readBlob(loc: BlobLocation): AsyncGenerator<Uint8Array> {
  // Blocking reads: they cost no thread-pool round trip (and leave libuv's pool, shared by all
  // threads, alone).
  if (loc.size === 0) return;
  let fd: number;
  try {
    fd = openSync(loc.file, 'r');
  } catch (err) {
    throw new InputError(loc.file, `cannot read: ${describeSystemError(err)}`);
  }
  try {
    const buf = Buffer.allocUnsafe(Math.min(BLOB_CHUNK, loc.size));
    for (let pos = 0; pos < loc.size; ) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, loc.size - pos), loc.offset + pos);
      if (n === 0) throw new InputError(loc.file, `ends ${loc.size - pos} bytes short of the blob at byte ${loc.offset}`);
      pos += n;
      yield buf.subarray(0, n);
      // The event loop gets a turn per chunk: a thread converting a layer (the main thread among
      // them) still takes the other lanes' results and progress as they come.
      await new Promise(setImmediate);
    }
  } finally {
    closeSync(fd);
  }
}

const BLOB_CHUNK = 1 << 20;

/** A small blob (JSON) read whole; refuses anything over maxBytes. */
export function readSmallBlob(loc: BlobLocation, source: string, what: string, maxBytes = 16 << 20): Buffer {
  if (loc.size > maxBytes) throw new InputError(source, `${what} is too large (${loc.size} bytes)`);
  const buf = Buffer.alloc(loc.size);
  const fd = openSync(loc.file, 'r');
  try {
    let done = 0;
    while (done < loc.size) {
      const n = readSync(fd, buf, done, loc.size - done, loc.offset + done);
      if (n === 0) throw new InputError(source, `${what} is truncated`);
      done += n;
    }
  } finally {
    closeSync(fd);
  }
  return buf;
}
