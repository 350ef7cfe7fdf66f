import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from '@fstools/fstree';
import { FsTree, makeDir, makeFile, makeSymlink, manifest, utf8 } from '@fstools/fstree';
import type { GuestEntry } from '@fstools/boot';
import { Expectations, mergeUpper } from '@fstools/boot';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

/** The lower image: /a (hardlinked as /b), /etc/{x,y}, /old/{p,q}, /file-then-dir. */
function lower(): ManifestEntry[] {
  const t = new FsTree(makeDir({ mtime: 10n }));
  const dir = () => ({ mode: 0o755, mtime: 20n });
  const shared = makeFile(Buffer.from('shared'), { mtime: 30n });
  t.set(utf8('a'), shared);
  t.set(utf8('b'), shared);
  t.set(utf8('etc/x'), makeFile(Buffer.from('x'), { mtime: 40n }), dir);
  t.set(utf8('etc/y'), makeSymlink(utf8('x'), { mtime: 41n }), dir);
  t.set(utf8('old/p'), makeFile(Buffer.from('p'), { mtime: 50n }), dir);
  t.set(utf8('old/q'), makeFile(Buffer.from('q'), { mtime: 51n }), dir);
  t.set(utf8('file-then-dir'), makeFile(Buffer.from('f'), { mtime: 60n }));
  return manifest(t);
}

let ino = 100;
function upper(path: string, kind: 'dir' | 'file' | 'whiteout', more: Partial<GuestEntry> & { text?: string } = {}): GuestEntry {
  const mode = kind === 'dir' ? S_IFDIR | 0o755 : kind === 'file' ? S_IFREG | 0o644 : S_IFCHR;
  const text = more.text ?? '';
  return {
    path,
    mode,
    uid: 0,
    gid: 0,
    nlink: 1,
    id: `9:${ino++}`,
    rdevMajor: 0,
    rdevMinor: 0,
    size: text.length,
    mtime: 999n,
    ...(kind === 'file' ? { sha256: createHash('sha256').update(text).digest('hex') } : {}),
    xattrs: new Map(),
    ...more,
  };
}
const xattr = (name: string, value: string): Map<string, Uint8Array> => new Map([[`trusted.overlay.${name}`, new Uint8Array(Buffer.from(value))]]);
const byPath = (m: ManifestEntry[]): Map<string, ManifestEntry> => new Map(m.map((e) => [e.path, e]));

describe('overlay model (the merged view the kernel must show)', () => {
  it('a fresh upper changes nothing but the root, which comes from upper/', () => {
    const merged = mergeUpper(lower(), [upper('', 'dir')], 'u');
    const want = lower().map((e) => (e.path === '.' ? { ...e, mtime: '999' } : e));
    expect(merged).toEqual(want);
  });

  it('whiteouts delete files and whole directories', () => {
    const m = byPath(mergeUpper(lower(), [upper('', 'dir'), upper('etc', 'dir'), upper('etc/x', 'whiteout'), upper('old', 'whiteout')], 'u'));
    expect(m.has('etc/x')).toBe(false);
    expect(m.has('etc/y')).toBe(true);
    expect([...m.keys()].some((p) => p === 'old' || p.startsWith('old/'))).toBe(false);
    expect(m.get('etc')!.mtime).toBe('999');
  });

  it('an opaque directory hides the lower children; a directory over a file replaces it', () => {
    const m = byPath(
      mergeUpper(lower(), [upper('', 'dir'), upper('old', 'dir', { xattrs: xattr('opaque', 'y') }), upper('old/new', 'file', { text: 'n' }), upper('file-then-dir', 'dir'), upper('file-then-dir/in', 'file')], 'u'),
    );
    expect(m.has('old/p')).toBe(false);
    expect(m.has('old/new')).toBe(true);
    expect(m.get('old')!.xattrs).toBeUndefined();
    expect(m.get('file-then-dir')!.type).toBe('dir');
    expect(m.has('file-then-dir/in')).toBe(true);
  });

  it('a copied-up hardlink leaves its group; upper hardlinks form their own', () => {
    const c1 = upper('c1', 'file', { text: 'c' });
    const m = byPath(mergeUpper(lower(), [upper('', 'dir'), upper('a', 'file', { text: 'shared!' }), c1, { ...c1, path: 'c2' }], 'u'));
    expect(lower().find((e) => e.path === 'b')!.link).toBe('a');
    expect(m.get('a')!.link).toBeUndefined();
    expect(m.get('b')!.link).toBeUndefined();
    expect(m.get('c1')!.link).toBe('c1');
    expect(m.get('c2')!.link).toBe('c1');
  });

  it('a redirected directory shows the lower tree it names; a metacopy file keeps the lower data', () => {
    const l = byPath(lower());
    const m = byPath(
      mergeUpper(
        lower(),
        [upper('', 'dir'), upper('moved', 'dir', { xattrs: xattr('redirect', '/old') }), upper('old', 'whiteout'), upper('etc', 'dir'), upper('etc/x', 'file', { xattrs: xattr('metacopy', ''), mode: S_IFREG | 0o600, size: 1 })],
        'u',
      ),
    );
    expect(m.get('moved/p')).toEqual({ ...l.get('old/p')!, path: 'moved/p' });
    expect(m.has('old/p')).toBe(false);
    expect(m.get('etc/x')).toMatchObject({ mode: '0600', sha256: l.get('etc/x')!.sha256 });
  });
});

describe('expectations', () => {
  it('compare with free mtimes where the workload set them, and report missing and extra paths', () => {
    const x = new Expectations(lower());
    x.touch('etc');
    x.remove('old');
    x.set({ path: 'new', type: 'file', mode: '0644', uid: 0, gid: 0, size: 1, sha256: 'aa' }, true);
    const actual = lower()
      .filter((e) => !e.path.startsWith('old'))
      .map((e) => (e.path === 'etc' ? { ...e, mtime: '12345' } : e));
    expect(x.differences([...actual, { path: 'new', type: 'file', mode: '0644', uid: 0, gid: 0, mtime: '5', size: 1, sha256: 'aa' }])).toEqual([]);
    const diff = x.differences(actual.filter((e) => e.path !== 'etc/x'));
    expect(diff).toHaveLength(4);
    expect(diff).toContain('+ (no etc/x)');
    expect(diff).toContain('+ (no new)');
    expect(diff).toContain('- {"gid":0,"mode":"0644","path":"new","sha256":"aa","size":1,"type":"file","uid":0}');
    expect(diff.find((l) => l.includes('"path":"etc/x"'))).toMatch(/"mtime":"40"/);
  });
});
