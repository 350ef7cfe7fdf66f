import { openData } from './data.js';
import type { Inode } from './model.js';
import { contentSize } from './model.js';
import type { TarHeader } from './tar-header.js';
import { encodeHeader, endOfArchive, padding } from './tar-header.js';
import type { FsTree } from './tree.js';

const CHUNK = 1 << 20;

/**
 * Streams a tree as a pax tar: the root as "./", directories before their children in byte
 * order, the second and later names of an inode as hard links to the first.
 */
export async function* treeToTar(tree: FsTree): AsyncGenerator<Buffer> {
  const firstPath = new Map<Inode, string>();
  for (const { path, inode } of tree.walk()) {
    const tarPath = path === '' ? './' : path;
    const first = firstPath.get(inode);
    const base = { path: tarPath, mode: inode.mode, uid: inode.uid, gid: inode.gid, mtime: inode.mtime, xattrs: inode.xattrs };
    const header: TarHeader = { ...base, type: 'file', size: 0, linkname: '', major: 0, minor: 0 };
    if (first !== undefined) {
      yield encodeHeader({ ...header, type: 'hardlink', linkname: first, xattrs: new Map() });
      continue;
    }
    if (inode.type !== 'dir') firstPath.set(inode, tarPath);
    switch (inode.type) {
      case 'file':
        yield encodeHeader({ ...header, size: contentSize(inode) });
        if (inode.size > 0) {
          const r = openData(inode);
          try {
            for (let pos = 0; pos < inode.size; pos += CHUNK) {
              const chunk = Buffer.allocUnsafe(Math.min(CHUNK, inode.size - pos));
              r.read(chunk, pos);
              yield chunk;
            }
          } finally {
            r.close();
          }
          yield padding(inode.size);
        }
        break;
      case 'dir':
      case 'fifo':
        yield encodeHeader({ ...header, type: inode.type });
        break;
      case 'symlink':
        yield encodeHeader({ ...header, type: 'symlink', linkname: inode.target });
        break;
      case 'chr':
      case 'blk':
        yield encodeHeader({ ...header, type: inode.type, major: inode.major, minor: inode.minor });
        break;
      case 'sock':
        break; // tar cannot hold sockets
    }
  }
  yield endOfArchive();
}
