// Tar members with absolute names ("/etc/x", as some layer builders write them) are stored as
// relative ones ("etc/x") in every tar path, as GNU tar, containerd, moby and mkfs.erofs 1.8 do:
// mkerofs-ts --tar, mkext4-ts -d TAR and fsmerge --layer. The kernel judges: each image mounts as
// the image of the same tar written with relative names.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { endOfArchive } from '@fstools/fstree';
import { cli, tarMember } from './helpers/cli.js';
import { canMount, hostManifest, scratchDir, withErofsMount } from './helpers/erofs-oracles.js';
import { e2fsckProblems, mountedManifest, withMount } from './helpers/ext4-oracles.js';

const dir = scratchDir('tar-absolute');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The same members, named with a leading "/" (or "//") or without. */
function tar(name: string, abs: boolean): string {
  const p = (s: string) => (abs ? (s.startsWith('usr') ? '//' : '/') + s : s);
  const path = join(dir, name);
  writeFileSync(
    path,
    Buffer.concat([
      tarMember(p('etc/'), { type: 'dir' }),
      tarMember(p('etc/x'), { data: Buffer.from('hello\n') }),
      tarMember(p('etc/y'), { type: 'hardlink', linkname: p('etc/x') }),
      tarMember(p('usr/bin/sh'), { type: 'symlink', linkname: '/bin/busybox' }),
      endOfArchive(),
    ]),
  );
  return path;
}

const ok = (r: { status: number | null; stderr: string }) => expect(r.status, r.stderr).toBe(0);

describe.runIf(canMount())('absolute member names', () => {
  const abs = tar('abs.tar', true);
  const rel = tar('rel.tar', false);
  mkdirSync(join(dir, 'out'), { recursive: true });
  const out = (n: string) => join(dir, 'out', n);

  it('mkerofs-ts --tar', async () => {
    ok(cli('mkerofs-ts', ['-T0', '--tar', out('abs.erofs'), abs]));
    ok(cli('mkerofs-ts', ['-T0', '--tar', out('rel.erofs'), rel]));
    const got = await withErofsMount(out('abs.erofs'), (m) => hostManifest(m));
    expect(got.map((e) => e.path)).toEqual(['.', 'etc', 'etc/x', 'etc/y', 'usr', 'usr/bin', 'usr/bin/sh']);
    expect(got).toEqual(await withErofsMount(out('rel.erofs'), (m) => hostManifest(m)));
  });

  it('mkext4-ts -d TAR', async () => {
    ok(cli('mkext4-ts', ['-q', '-E', 'root_owner=0:0', '-d', abs, out('abs.ext4'), '8M']));
    ok(cli('mkext4-ts', ['-q', '-E', 'root_owner=0:0', '-d', rel, out('rel.ext4'), '8M']));
    expect(e2fsckProblems(out('abs.ext4'))).toBeUndefined();
    const got = await withMount(out('abs.ext4'), (m) => mountedManifest(m), { readonly: true });
    expect(got.map((e) => e.path)).toContain('etc/x');
    expect(got).toEqual(await withMount(out('rel.ext4'), (m) => mountedManifest(m), { readonly: true }));
  });

  it('fsmerge --layer', async () => {
    ok(cli('fsmerge', ['--standalone', '--layer', abs, '-o', out('abs-fsmerge.erofs')]));
    ok(cli('fsmerge', ['--standalone', '--layer', rel, '-o', out('rel-fsmerge.erofs')]));
    const got = await withErofsMount(out('abs-fsmerge.erofs'), (m) => hostManifest(m));
    expect(got.map((e) => e.path)).toContain('etc/y');
    expect(got).toEqual(await withErofsMount(out('rel-fsmerge.erofs'), (m) => hostManifest(m)));
  });
});
