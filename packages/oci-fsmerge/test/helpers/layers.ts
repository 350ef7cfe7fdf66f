// Layer trees without any image: the normalized tar read back in overlay form, which is what a
// layer image holds. Lets the merge be tested fast and in bulk.
import { treeFromTarEntries } from '@fstools/fstree';
import type { FsTree } from '@fstools/fstree';
import { DEFAULT_LIMITS, mergeLayers, normalizeLayerTar } from '@fstools/oci-fsmerge';
// @ts-expect-error: plain JS tool
import { layerTar } from '../../../../tools/oci-fixture.mjs';
import type { Entry } from './model.js';

async function* once(b: Buffer): AsyncGenerator<Uint8Array> {
  yield b;
}

export async function layerTree(entries: Entry[], label = 'test: layer'): Promise<FsTree> {
  return treeFromTarEntries(normalizeLayerTar(once(layerTar(entries) as Buffer), label, DEFAULT_LIMITS), label, { whiteouts: 'overlay' });
}

export async function mergeEntries(layers: Entry[][]): Promise<FsTree> {
  const trees = [];
  for (const [i, l] of layers.entries()) trees.push({ tree: await layerTree(l, `test: layer ${i}`), label: `test: layer ${i}` });
  return mergeLayers(trees);
}
