import { rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { FsTree, ManifestOptions } from '@fstools/fstree';
import { bytesOf, diffManifests, manifest, parseDisplayName } from '@fstools/fstree';
import { ErofsImage, fsck } from '@fstools/erofs-reader';
import { canFsck15, canFsck18, canMount, fsck15, fsck18, hostManifest, withErofsMount } from './erofs-oracles.js';

export interface JudgeOptions extends ManifestOptions {
  blockSize?: number;
  /** Also run fsck.erofs 1.5 (only for images without features newer than it, e.g. compression options after 1.5). */
  fsck15?: boolean;
  /** Where fsck.erofs 1.8 extracts to (inside the trixie chroot: a scratchDir). */
  scratch: string;
}

let extracted = 0;

/**
 * Every oracle this machine has on an image of `tree`: our reader's fsck and tree, fsck.erofs 1.5
 * and 1.8 (with --extract compared by contents), the kernel mount walked.
 */
export async function judgeImage(image: string, tree: FsTree, o: JudgeOptions): Promise<void> {
  const { blockSize = 4096, fsck15: with15 = true, scratch, ...opts } = o;
  const expected = manifest(tree, opts);
  // Our own reader, an independent implementation: fsck clean and the same tree back.
  expect(fsck(image).errors.map(String)).toEqual([]);
  const read = ErofsImage.open(image);
  try {
    expect(diffManifests(expected, manifest(read.toTree(), opts))).toEqual([]);
  } finally {
    read.close();
  }
  if (with15 && blockSize === 4096 && canFsck15()) fsck15(image);
  if (blockSize >= 2048 && canFsck18()) {
    const out = join(scratch, `x${extracted++}`);
    fsck18(image, [], out);
    // Extraction is compared by contents (the kernel judges metadata). fsck.erofs skips holes
    // without extending the file, so a file ending in a hole comes out short: extend it as the
    // missing ftruncate would.
    for (const e of expected) {
      if (e.type !== 'file' || (e.link !== undefined && e.link !== e.path)) continue;
      const p = Buffer.concat([Buffer.from(out + '/'), bytesOf(parseDisplayName(e.path))]);
      if (statSync(p).size < e.size!) truncateSync(p, e.size!);
    }
    const contents = (e: (typeof expected)[number]) => ({ path: e.path, type: e.type, size: e.size, sha256: e.sha256, target: e.target, rdev: e.rdev });
    const want = expected.filter((e) => e.path !== '.').map(contents);
    const got = hostManifest(out, opts).filter((e) => e.path !== '.').map(contents);
    expect(diffManifests(want as never, got as never)).toEqual([]);
    rmSync(out, { recursive: true, force: true });
  }
  if (canMount()) {
    const walked = await withErofsMount(image, (mnt) => hostManifest(mnt, opts));
    expect(diffManifests(expected, walked)).toEqual([]);
  }
}
