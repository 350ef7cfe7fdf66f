import { spawnSync } from 'node:child_process';
import type { ByteString, FsTree, ManifestEntry, ManifestOptions, XattrReader } from '@fstools/fstree';
import { manifest, treeFromDirectory } from '@fstools/fstree';

/**
 * Test-only xattr reader for host trees (Node has no xattr API): one `getfattr -R` over the tree,
 * parsed into a map by path bytes. getfattr prints names with octal escapes for unprintable
 * bytes and "\\" for a backslash.
 */
export function hostXattrReader(root: string): XattrReader {
  const r = spawnSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], {
    maxBuffer: 1 << 30,
  });
  if (r.error) throw r.error;
  const byPath = new Map<string, Map<string, Uint8Array>>();
  let current: Map<string, Uint8Array> | undefined;
  for (const line of r.stdout.toString('latin1').split('\n')) {
    if (line.startsWith('# file: ')) {
      current = new Map();
      byPath.set(unescape(line.slice(8)).toString('latin1'), current);
    } else if (current && line.includes('=')) {
      const eq = line.indexOf('=');
      const value = line.slice(eq + 1);
      current.set(unescape(line.slice(0, eq)).toString('utf8'), value.startsWith('0x') ? new Uint8Array(Buffer.from(value.slice(2), 'hex')) : new Uint8Array(0));
    }
  }
  return (hostPath) => byPath.get(hostPath.toString('latin1')) ?? new Map();
}

function unescape(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === '\\') {
      out.push(0x5c);
      i++;
    } else if (s[i] === '\\' && /^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      out.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

/** A host directory (a mount point, an extraction) as a tree, xattrs included. */
export function hostTree(dir: string, exclude?: (path: ByteString) => boolean): FsTree {
  return treeFromDirectory(dir, { xattrs: hostXattrReader(dir), exclude });
}

/** The canonical manifest of a host directory tree, xattrs included. */
export function hostManifest(dir: string, opts: ManifestOptions = {}): ManifestEntry[] {
  return manifest(hostTree(dir), opts);
}
