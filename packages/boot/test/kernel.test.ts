import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@fstools/fstree';
import { BOOT_MODULES, defaultKitDir, loadKit, moduleLoadOrder } from '@fstools/boot';

const work = mkdtempSync(join(tmpdir(), 'boot-kernel-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function modulesDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(work, 'mods-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('module load order', () => {
  const dir = modulesDir({
    'modules.dep': [
      'kernel/fs/erofs/erofs.ko.xz: kernel/lib/libcrc32c.ko.xz',
      'kernel/lib/libcrc32c.ko.xz:',
      'kernel/crypto/crc32c_generic.ko.xz:',
      'kernel/fs/ext4/ext4.ko.xz: kernel/fs/jbd2/jbd2.ko.xz kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz',
      'kernel/fs/jbd2/jbd2.ko.xz:',
      'kernel/lib/crc16.ko.xz:',
      'kernel/fs/mbcache.ko.xz:',
      'kernel/fs/overlayfs/overlay.ko.gz:',
      'kernel/drivers/block/virtio_blk.ko:',
      '',
    ].join('\n'),
    'modules.softdep': '# soft dependencies\nsoftdep libcrc32c pre: crc32c\nsoftdep ext4 pre: crypto-crc32c\n',
    'modules.alias': 'alias crc32c crc32c_generic\nalias crypto-crc32c crc32c_generic\nalias fs-erofs erofs\n',
    'modules.builtin': 'kernel/drivers/virtio/virtio_pci.ko\n',
  });

  it('loads dependencies first and soft "pre" dependencies (resolved through aliases) before them', () => {
    const order = moduleLoadOrder(dir, BOOT_MODULES).map((p) => basename(p).replace(/\.ko.*$/, ''));
    expect(new Set(order)).toEqual(new Set(['virtio_blk', 'erofs', 'libcrc32c', 'crc32c_generic', 'overlay', 'ext4', 'jbd2', 'crc16', 'mbcache']));
    expect(order).toHaveLength(9);
    const before = (a: string, b: string): boolean => order.indexOf(a) < order.indexOf(b);
    expect(before('crc32c_generic', 'libcrc32c')).toBe(true);
    expect(before('libcrc32c', 'erofs')).toBe(true);
    for (const d of ['jbd2', 'crc16', 'mbcache']) expect(before(d, 'ext4')).toBe(true);
  });

  it('skips built-in modules and refuses a module that is neither', () => {
    expect(moduleLoadOrder(dir, ['virtio_pci'])).toEqual([]);
    expect(moduleLoadOrder(dir, ['virtio-blk'])).toEqual(['kernel/drivers/block/virtio_blk.ko']);
    expect(() => moduleLoadOrder(dir, ['squashfs'])).toThrow(/modules\.dep: has no module squashfs and it is not built in/);
    const noDep = mkdtempSync(join(work, 'none-'));
    expect(() => moduleLoadOrder(noDep, ['erofs'])).toThrow(InputError);
    expect(() => moduleLoadOrder(noDep, ['erofs'])).toThrow(/modules\.dep: missing/);
  });
});

describe('guest kit', () => {
  it('names what is missing and how to get it', () => {
    const empty = join(work, 'empty-kit');
    mkdirSync(empty);
    expect(() => loadKit({ kitDir: empty })).toThrow(`${empty}/vmlinuz: guest kernel not found (run tools/fetch-guest-kernel.sh, or pass --kernel)`);
    writeFileSync(join(empty, 'vmlinuz'), 'k');
    expect(() => loadKit({ kitDir: empty })).toThrow(/guest\/bin\/busybox: guest userland missing \(run tools\/fetch-guest-kernel\.sh\)/);
    expect(() => loadKit({ kitDir: empty, kernel: join(work, 'none') })).toThrow(`${join(work, 'none')}: kernel not found`);
  });

  it('defaults to $FSTOOLS_KERNEL_DIR', () => {
    const saved = process.env.FSTOOLS_KERNEL_DIR;
    process.env.FSTOOLS_KERNEL_DIR = '/some/where';
    try {
      expect(defaultKitDir()).toBe('/some/where');
    } finally {
      if (saved === undefined) delete process.env.FSTOOLS_KERNEL_DIR;
      else process.env.FSTOOLS_KERNEL_DIR = saved;
    }
  });

  it.runIf(existsSync(join(defaultKitDir(), 'kit.json')))('a kernel of your own loads no modules unless given a modules folder', () => {
    const kit = loadKit();
    expect(loadKit({ kernel: kit.kernel }).modules).toEqual([]);
    expect(loadKit({ kernel: kit.kernel, modules: join(defaultKitDir(), 'modules') }).modules).toEqual(kit.modules);
  });

  it.runIf(existsSync(join(defaultKitDir(), 'kit.json')))('the fetched kit loads crc32c_generic before libcrc32c and every boot module', () => {
    const kit = loadKit();
    const names = kit.modules.map((p) => basename(p).replace(/\.ko.*$/, ''));
    expect(names.indexOf('crc32c_generic')).toBeLessThan(names.indexOf('libcrc32c'));
    expect(names.indexOf('libcrc32c')).toBeLessThan(names.indexOf('erofs'));
    for (const m of BOOT_MODULES) expect(names).toContain(m);
    expect(kit.modules.every((p) => existsSync(p))).toBe(true);
  });
});
