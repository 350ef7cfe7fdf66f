import { spawnSync } from 'node:child_process';
import type { ByteString, FsTree, ManifestEntry, ManifestOptions, XattrReader } from '@fstools/fstree';
import { manifest, treeFromDirectory } from '@fstools/fstree';
import { parseGetfattr } from '@fstools/boot';

/**
 * Test-only xattr reader for host trees (Node has no xattr API): one `getfattr -R` over the tree,
 * parsed (boot's parseGetfattr, the guest walk's parser) into a map by path bytes.
 */
export function hostXattrReader(root: string): XattrReader {
  const r = spawnSync('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], {
    maxBuffer: 1 << 30,
  });
  if (r.error) throw r.error;
  const byPath = parseGetfattr(r.stdout.toString('latin1'));
  return (hostPath) => byPath.get(hostPath.toString('latin1')) ?? new Map();
}

/** A host directory (a mount point, an extraction) as a tree, xattrs included. */
export function hostTree(dir: string, exclude?: (path: ByteString) => boolean): FsTree {
  return treeFromDirectory(dir, { xattrs: hostXattrReader(dir), exclude });
}

/** The canonical manifest of a host directory tree, xattrs included. */
export function hostManifest(dir: string, opts: ManifestOptions = {}): ManifestEntry[] {
  return manifest(hostTree(dir), opts);
}
