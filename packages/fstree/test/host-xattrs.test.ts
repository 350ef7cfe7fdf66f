import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { InodeType, XattrApi } from '../src/index.js';
import { hostXattrsUnavailable, InputError, manifest, readHostXattrs, readXattrsWith, treeFromDirectory } from '../src/index.js';
import { isRoot, oracle } from '../../../test/helpers/oracles.js';

const work = mkdtempSync(join(tmpdir(), 'fstree-xattrs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Addon extends XattrApi {
  setAttributeSync(path: string, name: string, value: Uint8Array | string): void;
  removeAttributeSync(path: string, name: string): void;
}

const unavailable = hostXattrsUnavailable();
const addon = oracle('@napi-rs/xattr', unavailable === undefined, unavailable ?? '') ? (createRequire(import.meta.url)('@napi-rs/xattr') as Addon) : undefined;

/** A stand-in for the addon: names listed, values (null: gone by the time it is read). */
function fake(values: Record<string, Buffer | null | Error>): XattrApi {
  return {
    listAttributesSync: () => Object.keys(values),
    getAttributeSync: (_path, name) => {
      const v = values[name]!;
      if (v instanceof Error) throw v;
      return v;
    },
  };
}

describe('reading host xattrs', () => {
  const file = Buffer.from('/some/file');

  it('reads each listed name once, into plain byte arrays', () => {
    const got = readXattrsWith(fake({ 'user.b': Buffer.from('2'), 'user.a': Buffer.alloc(0) }), file, 'file');
    expect([...got.keys()]).toEqual(['user.a', 'user.b']);
    expect(got.get('user.b')).toEqual(Uint8Array.of(0x32));
    expect(Buffer.isBuffer(got.get('user.b'))).toBe(false);
  });

  it('a name that vanishes between the listing and the read is one error naming the file and the name', () => {
    expect(() => readXattrsWith(fake({ 'user.a': Buffer.from('1'), 'user.b': null }), file, 'file')).toThrow(new InputError('/some/file', 'xattr user.b vanished while being read'));
    const enodata = Object.assign(new Error('No data available (os error 61)'), { code: 'GenericFailure' });
    expect(() => readXattrsWith(fake({ 'user.c': enodata }), file, 'file')).toThrow('/some/file: xattr user.c vanished while being read');
    const eacces = Object.assign(new Error('Permission denied (os error 13)'), { code: 'GenericFailure' });
    expect(() => readXattrsWith(fake({ 'user.d': eacces }), file, 'file')).toThrow('/some/file: cannot read xattr user.d: permission denied (EACCES)');
    const gone: XattrApi = { listAttributesSync: () => { throw new Error('No such file or directory (os error 2)'); }, getAttributeSync: () => null };
    expect(() => readXattrsWith(gone, file, 'file')).toThrow('/some/file: cannot list xattrs: no such file or directory (ENOENT)');
  });

  it('an entry other than a directory whose own name is not UTF-8 cannot be named to the addon: an error saying so', () => {
    const raw = Buffer.from([0x2f, 0x78, 0x2f, 0xff]); // "/x/\xff"
    for (const type of ['file', 'symlink', 'chr', 'fifo'] as InodeType[]) {
      expect(() => readXattrsWith(fake({}), raw, type)).toThrow(`b64:${raw.toString('base64')}: xattrs cannot be read: the name is not UTF-8 and @napi-rs/xattr takes only text paths (-x -1 leaves host xattrs out)`);
    }
  });
});

describe.runIf(addon)('reading host xattrs through @napi-rs/xattr', () => {
  const a = addon!;

  it('treeFromDirectory reads them by default, not with xattrs: false, and hands a reader the entry type', () => {
    const src = join(work, 'plain');
    mkdirSync(join(src, 'd'), { recursive: true });
    writeFileSync(join(src, 'f'), 'x');
    symlinkSync('f', join(src, 'l'));
    a.setAttributeSync(join(src, 'f'), 'user.f', Buffer.from([0, 1, 2]));
    a.setAttributeSync(join(src, 'd'), 'user.d', 'dir');
    a.setAttributeSync(src, 'user.root', 'r');
    const m = manifest(treeFromDirectory(src));
    expect(Object.fromEntries(m.map((e) => [e.path, e.xattrs]))).toEqual({ '.': { 'user.root': '72' }, d: { 'user.d': '646972' }, f: { 'user.f': '000102' }, l: undefined });
    expect(manifest(treeFromDirectory(src, { xattrs: false })).filter((e) => e.xattrs)).toEqual([]);
    const seen: string[] = [];
    treeFromDirectory(src, { xattrs: (p, type) => (seen.push(`${p.toString().slice(src.length) || '/'} ${type}`), new Map()) });
    expect(seen.sort()).toEqual(['/ dir', '/d dir', '/f file', '/l symlink']);
  });

  it('a root given as a symlink is read as the directory it names; symlinks below are not followed', () => {
    const dir = join(work, 'target');
    mkdirSync(dir);
    writeFileSync(join(dir, 'f'), 'x');
    a.setAttributeSync(dir, 'user.where', 'dir');
    a.setAttributeSync(join(dir, 'f'), 'user.where', 'file');
    symlinkSync('f', join(dir, 'l'));
    if (isRoot) a.setAttributeSync(join(dir, 'l'), 'trusted.where', 'link'); // user.* cannot sit on a symlink
    const link = join(work, 'root-link');
    symlinkSync(dir, link);
    const m = manifest(treeFromDirectory(link));
    expect(m.find((e) => e.path === '.')?.xattrs).toEqual({ 'user.where': Buffer.from('dir').toString('hex') });
    expect(m.find((e) => e.path === 'l')?.xattrs).toEqual(isRoot ? { 'trusted.where': Buffer.from('link').toString('hex') } : undefined);
  });

  it('paths that are not UTF-8: through /proc/self/fd for a directory and for what is under it', () => {
    const base = Buffer.from(join(work, 'raw'));
    const odd = Buffer.concat([base, Buffer.from([0x2f, 0xe9])]); // raw/\xe9
    mkdirSync(odd, { recursive: true });
    const inner = Buffer.concat([odd, Buffer.from('/inner')]);
    writeFileSync(inner, 'x');
    const viaFd = (p: Buffer, fn: (path: string) => void): void => {
      // The test sets them the same way the reader gets them: the parent's fd, a text leaf.
      const fd = openSync(p, 'r');
      try {
        fn(`/proc/self/fd/${fd}`);
      } finally {
        closeSync(fd);
      }
    };
    viaFd(odd, (d) => {
      a.setAttributeSync(`${d}/.`, 'user.odd', 'd');
      a.setAttributeSync(`${d}/inner`, 'user.inner', 'f');
    });
    expect(readHostXattrs(odd, 'dir')).toEqual(new Map([['user.odd', Uint8Array.of(0x64)]]));
    expect(readHostXattrs(inner, 'file')).toEqual(new Map([['user.inner', Uint8Array.of(0x66)]]));
    const m = manifest(treeFromDirectory(base.toString()));
    expect(m.filter((e) => e.xattrs).map((e) => e.path)).toEqual(['b64:6Q==', 'b64:6S9pbm5lcg==']);
  });

  it('an xattr removed between the listing and the read: one error naming it (what was listed is what is written)', () => {
    const f = join(work, 'vanishing');
    writeFileSync(f, 'x');
    a.setAttributeSync(f, 'user.stays', '1');
    a.setAttributeSync(f, 'user.goes', '2');
    const racing: XattrApi = {
      listAttributesSync: (p) => {
        const names = a.listAttributesSync(p);
        a.removeAttributeSync(p, 'user.goes'); // another process, just after the listing
        return names;
      },
      getAttributeSync: (p, name) => a.getAttributeSync(p, name),
    };
    expect(() => readXattrsWith(racing, Buffer.from(f), 'file')).toThrow(`${f}: xattr user.goes vanished while being read`);
  });
});
