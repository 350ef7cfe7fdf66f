import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffManifests } from '@fstools/fstree';
import { writeErofs } from '@fstools/erofs-writer';
import { cli } from './helpers/cli.js';
import { canFsck15, canFsck18, canMount, fsck15, fsck18, hostManifest, scratchDir, withErofsMount } from './helpers/erofs-oracles.js';
import { hostTree } from './helpers/host-xattrs.js';
import { oracle } from './helpers/oracles.js';

const PY = '/usr/lib/python3.11';
const dir = scratchDir('erofs-pystdlib');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('real input: the Python standard library', () => {
  const have = oracle('python stdlib', existsSync(PY), `${PY} is missing (apt-get install libpython3.11-stdlib)`);

  it.runIf(have)('as a directory: fsck clean, and the kernel mount walks to the same manifest as the source', async () => {
    const expected = hostManifest(PY);
    expect(expected.length).toBeGreaterThan(1000);
    const out = join(dir, 'dir.erofs');
    await writeErofs(hostTree(PY), out);
    if (canFsck15()) fsck15(out);
    if (canFsck18()) fsck18(out);
    if (canMount()) expect(diffManifests(expected, await withErofsMount(out, (m) => hostManifest(m)))).toEqual([]);
  });

  it.runIf(have)('as a pax tar with xattrs through mkerofs-ts --tar: the same tree', async () => {
    const tar = join(dir, 'py.tar');
    const t = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '--format=pax', '-C', PY, '-cf', tar, '.']);
    expect(t.status, t.stderr.toString()).toBe(0);
    const out = join(dir, 'tar.erofs');
    const r = cli('mkerofs-ts', ['--tar', '--json', out, tar]);
    expect(r.status, r.stderr).toBe(0);
    if (canFsck15()) fsck15(out);
    if (canFsck18()) fsck18(out);
    // GNU tar stores the root as "./" with its metadata, so the whole tree, root included, matches.
    if (canMount()) expect(diffManifests(hostManifest(PY), await withErofsMount(out, (m) => hostManifest(m)))).toEqual([]);
  });
});
