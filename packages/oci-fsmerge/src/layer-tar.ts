import { canonical, readTar } from '@fstools/fstree';
import type { ByteString, TarEntry, TarHeader } from '@fstools/fstree';
import type { LayerLimits } from './limits.js';
import { checkLimits } from './limits.js';
import { HARDLINK, IMPLIED, IMPLIED_META, OPAQUE_MARKER, WHITEOUT_PREFIX } from './whiteout.js';

type Seen = 'dir' | 'implied' | 'other';

const Y = new Uint8Array([0x79]);
const LISTED = new Uint8Array(Buffer.from('listed'));

/**
 * Rewrites one layer's tar into the form its layer image is written from, so that the image
 * alone says everything the merge needs (see whiteout.ts for the markers):
 * - every directory is listed: the root and parents the tar only implies come first, marked
 *   IMPLIED ("y"; "listed" once the tar lists it after using it as a parent);
 * - a hard link to a file this layer does not hold becomes an empty file marked HARDLINK;
 * - whiteouts act on lower layers only (OCI): one naming a non-directory of this layer is
 *   dropped, one naming a directory of this layer makes it opaque, and a directory this layer
 *   creates where it whited a name out (or put a non-directory) is opaque and carries no
 *   IMPLIED mark;
 * - aufs bookkeeping (.wh..wh.*) is dropped; limits are enforced member by member.
 * `archive` names the layer in errors. The output is tar members (a file's data is its input
 * member's, read as it passes); the input is read to its end.
 */
export async function* normalizeLayerTar(tar: AsyncIterable<Uint8Array>, archive: string, limits: LayerLimits): AsyncGenerator<TarEntry> {
  const seen = new Map<ByteString, Seen>([['', 'implied']]);
  const whited = new Set<ByteString>();
  const usedFirst = new Map<ByteString, TarHeader>();
  yield dirHeader('', true);
  let count = 0;

  function* parents(dir: ByteString): Generator<TarEntry> {
    const parts = dir === '' ? [] : dir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (seen.has(p)) continue;
      if (whited.has(p)) {
        yield dirHeader(p, false);
        yield opaque(p);
        seen.set(p, 'dir');
      } else {
        yield dirHeader(p, true);
        seen.set(p, 'implied');
      }
    }
  }

  const it = tar[Symbol.asyncIterator]();
  for await (const entry of readTar({ [Symbol.asyncIterator]: () => it }, archive)) {
    checkLimits(entry, ++count, limits, archive);
    const path = canonical(entry.path, archive, 'member');
    const slash = path.lastIndexOf('/');
    const parent = slash < 0 ? '' : path.slice(0, slash);
    const name = path.slice(slash + 1);
    // Every path in `seen` has its parents there too (a subtree leaves it whole), so a parent
    // already seen needs no walk up.
    if (path !== '' && !seen.has(parent)) yield* parents(parent);
    if (name.startsWith(WHITEOUT_PREFIX)) {
      if (name === OPAQUE_MARKER) yield opaque(parent);
      else if (!name.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
        const target = (parent ? parent + '/' : '') + name.slice(WHITEOUT_PREFIX.length);
        const was = seen.get(target);
        if (was === undefined) {
          whited.add(target);
          yield member({ ...entry, type: 'file', size: 0, xattrs: new Map() });
        } else if (was !== 'other') {
          // This layer's own directory survives; the whiteout hides the lower one's contents,
          // and with the lower path gone nothing was reached through it.
          const listed = usedFirst.get(target);
          if (listed) yield member(listed);
          else if (was === 'implied') yield dirHeader(target, false);
          yield opaque(target);
          seen.set(target, 'dir');
        }
      }
      continue;
    }
    switch (entry.type) {
      case 'dir':
        // Listed after being used as a parent: its metadata counts, but it still went through
        // whatever the lower layers have at this path.
        if ((seen.get(path) === 'implied' || usedFirst.has(path)) && path !== '') {
          usedFirst.set(path, entry);
          yield member({ ...entry, xattrs: new Map([...entry.xattrs, [IMPLIED, LISTED]]) });
        } else yield member(entry);
        // Over a whiteout, or over a non-directory of this layer (which removed the lower
        // subtree): nothing of the lower directory shows through.
        if (whited.has(path) || seen.get(path) === 'other') yield opaque(path);
        seen.set(path, 'dir');
        continue;
      case 'hardlink': {
        const target = canonical(entry.linkname, archive, `member ${entry.path}: link target`);
        if (seen.has(target)) yield member(entry);
        else yield member({ ...entry, type: 'file', size: 0, linkname: '', xattrs: new Map([[HARDLINK, Buffer.from(target, 'latin1')]]) });
        break;
      }
      case 'file':
        yield entry; // its data streams through to the writer
        break;
      default:
        yield member(entry);
    }
    const was = seen.get(path);
    if (was === 'dir' || was === 'implied') {
      // A non-directory replaced a directory of this layer: what was below it is gone.
      for (const k of seen.keys()) if (k.startsWith(path + '/')) seen.delete(k);
      for (const k of usedFirst.keys()) if (k === path || k.startsWith(path + '/')) usedFirst.delete(k);
    }
    seen.set(path, 'other');
  }
  // Read to the end (padding after the end-of-archive blocks) so digests see every byte.
  while (!(await it.next()).done);
}

const NO_DATA: AsyncIterable<Buffer> = { async *[Symbol.asyncIterator]() {} };

/** A member without data, made from (or instead of) an input member. */
function member(h: TarHeader & { offset?: number; dataOffset?: number }): TarEntry {
  return { ...h, offset: h.offset ?? 0, dataOffset: h.dataOffset ?? 0, body: NO_DATA };
}

function dirHeader(path: ByteString, implied: boolean): TarEntry {
  const h: TarHeader = {
    path: path === '' ? './' : path,
    type: 'dir',
    ...IMPLIED_META,
    size: 0,
    linkname: '',
    major: 0,
    minor: 0,
    xattrs: implied ? new Map([[IMPLIED, Y]]) : new Map(),
  };
  return member(h);
}

function opaque(dir: ByteString): TarEntry {
  return member({ path: (dir ? dir + '/' : '') + OPAQUE_MARKER, type: 'file', ...IMPLIED_META, mode: 0o644, size: 0, linkname: '', major: 0, minor: 0, xattrs: new Map() });
}
