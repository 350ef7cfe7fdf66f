import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '@fstools/fstree';
import { formatDescriptor, openDisk, parseDescriptor, writeDescriptor, writeRawDisk } from '@fstools/vmdk';
import { expectCleanInterrupt, sparseFile } from '../../../test/helpers/cli.js';
import { runs } from '../../../test/helpers/arbitrary-tree.js';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';

const work = mkdtempSync(join(tmpdir(), 'vmdk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const haveQemuImg = oracle('qemu-img', hasCommand('qemu-img'), 'apt-get install qemu-utils');
const cli = join(import.meta.dirname, '../bin/vmdk-ts.cjs');

let seq = 0;
/** A fresh folder holding files of the given sizes with distinct, non-zero content (some zero runs). */
function filesOf(sizes: number[]): { dir: string; files: string[] } {
  const dir = join(work, `d${seq++}`);
  mkdirSync(dir);
  const files = sizes.map((size, i) => {
    const buf = Buffer.alloc(size);
    for (let p = 0; p < size; p += 4096) buf.writeUInt32LE((i + 1) * 0x01010101 + p, p);
    const f = join(dir, `part${i}.img`);
    writeFileSync(f, buf);
    return f;
  });
  return { dir, files };
}

function qemuImg(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

function errorOf(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).not.toContain('\n');
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

describe('descriptor writer', () => {
  it('writes the portable subset with relative names and a content-derived CID', () => {
    const { dir, files } = filesOf([8192, 1 << 20, 512]);
    const vmdk = join(dir, 'disk.vmdk');
    writeDescriptor(vmdk, files);
    const text = readFileSync(vmdk, 'utf8');
    expect(text.startsWith('# Disk DescriptorFile\nversion=1\nCID=')).toBe(true);
    expect(text).toContain('parentCID=ffffffff\ncreateType="twoGbMaxExtentFlat"\n\n# Extent description\n');
    expect(text).toContain('RW 16 FLAT "part0.img" 0\nRW 2048 FLAT "part1.img" 0\nRW 1 FLAT "part2.img" 0\n');
    expect(text).toContain('# The Disk Data Base\n');
    expect(text).toMatch(/ddb\.adapterType = "ide"/);
    expect(text).not.toMatch(/encoding/i);
    // Same extents, same bytes; different extents, different CID.
    writeDescriptor(join(dir, 'again.vmdk'), files);
    expect(readFileSync(join(dir, 'again.vmdk'), 'utf8')).toBe(text);
    const other = formatDescriptor([{ file: 'part0.img', sectors: 16 }]);
    expect(/CID=(\w+)/.exec(other)![1]).not.toBe(/CID=(\w+)/.exec(text)![1]);
  });

  it('names files outside the folder with ../ and can write absolute names', () => {
    const { files } = filesOf([512]);
    const sub = join(work, `out${seq++}`);
    mkdirSync(sub);
    writeDescriptor(join(sub, 'rel.vmdk'), files);
    expect(readFileSync(join(sub, 'rel.vmdk'), 'utf8')).toMatch(/RW 1 FLAT "\.\.\/d\d+\/part0\.img" 0/);
    writeDescriptor(join(sub, 'abs.vmdk'), files, { absolute: true });
    expect(readFileSync(join(sub, 'abs.vmdk'), 'utf8')).toContain(`RW 1 FLAT "${files[0]}" 0`);
    expect(openDisk(join(sub, 'rel.vmdk')).extents[0]!.path).toBe(files[0]);
  });

  it.runIf(haveQemuImg)('qemu-img reads it as a vmdk of the right size, equal to the raw concatenation', async () => {
    const { dir, files } = filesOf([65536, 3 << 20, 4096, 1536]);
    const vmdk = join(dir, 'disk.vmdk');
    writeDescriptor(vmdk, files);
    const info = JSON.parse(qemuImg('info', '--output=json', vmdk).out) as { format: string; 'virtual-size': number };
    const total = 65536 + (3 << 20) + 4096 + 1536;
    expect(info.format).toBe('vmdk');
    expect(info['virtual-size']).toBe(total);
    const raw = join(dir, 'disk.raw');
    await writeRawDisk(openDisk(vmdk), raw);
    expect(statSync(raw).size).toBe(total);
    expect(readFileSync(raw).equals(Buffer.concat(files.map((f) => readFileSync(f))))).toBe(true);
    const cmp = qemuImg('compare', '-f', 'vmdk', '-F', 'raw', vmdk, raw);
    expect(cmp.out).toContain('Images are identical');
    expect(cmp.status).toBe(0);
  });

  it.runIf(haveQemuImg)('stays valid when the folder moves (relative names)', () => {
    const { dir, files } = filesOf([4096, 4096]);
    writeDescriptor(join(dir, 'disk.vmdk'), files);
    const moved = `${dir}-moved`;
    renameSync(dir, moved);
    expect(openDisk(join(moved, 'disk.vmdk')).size).toBe(8192);
    expect(qemuImg('info', join(moved, 'disk.vmdk')).status).toBe(0);
  });

  it('leaves raw zero runs as holes', async () => {
    const dir = join(work, `z${seq++}`);
    mkdirSync(dir);
    const f = join(dir, 'zero.img');
    writeFileSync(f, Buffer.alloc(8 << 20));
    writeDescriptor(join(dir, 'z.vmdk'), [f]);
    await writeRawDisk(openDisk(join(dir, 'z.vmdk')), join(dir, 'z.raw'));
    const st = statSync(join(dir, 'z.raw'));
    expect(st.size).toBe(8 << 20);
    expect(st.blocks * 512).toBeLessThan(1 << 20);
  });
});

describe('bad input', () => {
  it('refuses a file whose size is not a multiple of 512, naming it', () => {
    const dir = join(work, `b${seq++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'odd.img'), Buffer.alloc(1000));
    const e = errorOf(() => writeDescriptor(join(dir, 'd.vmdk'), [join(dir, 'odd.img')]));
    expect(e.message).toBe(`${join(dir, 'odd.img')}: size 1000 is not a multiple of 512 bytes`);
  });

  it('refuses missing and empty files and leaves no descriptor behind', () => {
    const dir = join(work, `b${seq++}`);
    mkdirSync(dir);
    expect(errorOf(() => writeDescriptor(join(dir, 'd.vmdk'), [join(dir, 'nope.img')])).message).toMatch(/nope\.img: cannot stat: no such file or directory/);
    writeFileSync(join(dir, 'empty.img'), '');
    expect(errorOf(() => writeDescriptor(join(dir, 'd.vmdk'), [join(dir, 'empty.img')])).message).toMatch(/empty\.img: empty file/);
    expect(() => statSync(join(dir, 'd.vmdk'))).toThrow();
  });

  it('refuses to write over an extent file or the descriptor, which stay as they were', () => {
    const { dir, files } = filesOf([4096, 8192]);
    const before = files.map((f) => readFileSync(f));
    expect(errorOf(() => writeDescriptor(files[1]!, files)).message).toBe(`${files[1]}: is an input too (extent file): the output would replace it`);
    const descriptor = join(dir, 'd.vmdk');
    writeDescriptor(descriptor, files);
    const text = readFileSync(descriptor);
    const disk = openDisk(descriptor);
    expect(errorOf(() => writeRawDisk(disk, files[0]!)).message).toBe(`${files[0]}: is an input too (extent file): the output would replace it`);
    expect(errorOf(() => writeRawDisk(disk, descriptor)).message).toBe(`${descriptor}: is an input too (descriptor): the output would replace it`);
    expect(files.map((f) => readFileSync(f))).toEqual(before);
    expect(readFileSync(descriptor)).toEqual(text);
  });

  it('refuses names with spaces or quotes', () => {
    for (const name of ['with space.img', 'quo"te.img', "apo'strophe.img", 'tab\there.img']) {
      const dir = join(work, `b${seq++}`);
      mkdirSync(dir);
      writeFileSync(join(dir, name), Buffer.alloc(512));
      expect(errorOf(() => writeDescriptor(join(dir, 'd.vmdk'), [join(dir, name)])).message).toMatch(/space or a quote/);
    }
    expect(errorOf(() => formatDescriptor([{ file: 'a b', sectors: 1 }])).message).toMatch(/^a b: /);
  });
});

describe('parser', () => {
  it('round-trips what the writer wrote', () => {
    const { dir, files } = filesOf([4096, 512, 1 << 20]);
    const vmdk = join(dir, 'disk.vmdk');
    const specs = writeDescriptor(vmdk, files);
    const d = parseDescriptor(readFileSync(vmdk, 'utf8'), vmdk);
    expect(d.createType).toBe('twoGbMaxExtentFlat');
    expect(d.parentCid).toBe('ffffffff');
    expect(d.extents.map((e) => ({ file: e.file, sectors: e.sectors }))).toEqual(specs);
    expect(d.extents.every((e) => e.access === 'RW' && e.type === 'FLAT' && e.offset === 0)).toBe(true);
    expect(d.keys.get('ddb.adapterType')).toBe('ide');
    const disk = openDisk(vmdk);
    expect(disk.extents.map((e) => [e.path, e.start])).toEqual([
      [files[0], 0],
      [files[1], 4096],
      [files[2], 4608],
    ]);
    expect(disk.size).toBe(4608 + (1 << 20));
    expect(formatDescriptor(d.extents)).toBe(readFileSync(vmdk, 'utf8'));
  });

  it.runIf(haveQemuImg)('reads descriptors qemu-img writes', () => {
    for (const sub of ['monolithicFlat', 'twoGbMaxExtentFlat']) {
      const dir = join(work, `q${seq++}`);
      mkdirSync(dir);
      expect(qemuImg('create', '-q', '-f', 'vmdk', '-o', `subformat=${sub}`, join(dir, 'q.vmdk'), '3M').status).toBe(0);
      const disk = openDisk(join(dir, 'q.vmdk'));
      expect(disk.createType).toBe(sub);
      expect(disk.size).toBe(3 << 20);
      expect(disk.extents[0]!.path.startsWith(dir)).toBe(true);
    }
  });

  it('tolerates CRLF, comments, bare values, RDONLY, VMFS and offsets; the raw copy honours offsets', async () => {
    const { dir, files } = filesOf([4096, 4096]);
    const text = [
      '# Disk DescriptorFile',
      'version = 1',
      'encoding = "UTF-8"',
      'CID=fffffffe',
      'parentCID = ffffffff',
      'createType = monolithicFlat',
      '',
      '# extents',
      'RDONLY 4 FLAT "part0.img" 4',
      'RW 8 VMFS "part1.img"',
      '',
      'ddb.adapterType=lsilogic',
    ].join('\r\n');
    writeFileSync(join(dir, 'v.vmdk'), text);
    const disk = openDisk(join(dir, 'v.vmdk'));
    expect(disk.extents.map((e) => [e.access, e.type, e.offset, e.sectors])).toEqual([
      ['RDONLY', 'FLAT', 4, 4],
      ['RW', 'VMFS', 0, 8],
    ]);
    expect(disk.keys.get('ddb.adapterType')).toBe('lsilogic');
    await writeRawDisk(disk, join(dir, 'v.raw'));
    const want = Buffer.concat([readFileSync(files[0]!).subarray(2048), readFileSync(files[1]!)]);
    expect(readFileSync(join(dir, 'v.raw')).equals(want)).toBe(true);
  });

  it('refuses what is not a plain concatenation, one line each', () => {
    const base = '# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType="twoGbMaxExtentFlat"\n';
    const cases: Array<[string, RegExp]> = [
      [base + 'RW 8 SPARSE "a.vmdk"\n', /line 6: extent type SPARSE is not supported/],
      [base + 'RW 8 ZERO\n', /extent type ZERO is not supported/],
      [base + 'RW 8 FLAT "a.img"\n', /FLAT extent without an offset/],
      [base + 'RW 0 FLAT "a.img" 0\n', /invalid sector count 0/],
      [base, /no extent lines/],
      [base.replace('parentCID=ffffffff', 'parentCID=12345678') + 'RW 8 FLAT "a.img" 0\n', /has a parent disk/],
      [base.replace('twoGbMaxExtentFlat', 'monolithicSparse') + 'RW 8 FLAT "a.img" 0\n', /createType "monolithicSparse" is not a flat disk/],
      ['hello world\n', /not a descriptor line/],
    ];
    for (const [text, re] of cases) expect(errorOf(() => parseDescriptor(text, 'x.vmdk')).message).toMatch(re);
  });

  it('damaged descriptors (tokens replaced, lines dropped, doubled or added) open as a disk of sane numbers or give a one-line InputError', () => {
    const { dir } = filesOf([8192, 4096]);
    const lines = ['# Disk DescriptorFile', 'version=1', 'CID=fffffffe', 'parentCID=ffffffff', 'createType="monolithicFlat"', 'RDONLY 8 FLAT "part0.img" 4', 'RW 8 VMFS "part1.img"', 'ddb.adapterType = "lsilogic"'];
    const token = fc.constantFrom('', '0', '-1', '1e3', '0x10', '99999999999999999999', '9007199254740993', '"', '""', '"part1.img"', '"../part1.img"', '"/dev/null"', 'FLAT', 'ZERO', 'SPARSE', 'RW', '=', '#', '\t', '\r', 'createType', 'parentCID', 'ffffffff', 'monolithicSparse');
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('token' as const), line: fc.nat(), word: fc.nat(), value: token }),
      fc.record({ kind: fc.constant('drop' as const), line: fc.nat() }),
      fc.record({ kind: fc.constant('double' as const), line: fc.nat() }),
      fc.record({ kind: fc.constant('add' as const), line: fc.nat(), text: fc.array(token, { maxLength: 5 }).map((t) => t.join(' ')) }),
    );
    const file = join(dir, 'fuzz.vmdk');
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        const text = [...lines];
        for (const e of edits) {
          const i = e.line % text.length;
          if (e.kind === 'drop') text.splice(i, 1);
          else if (e.kind === 'double') text.splice(i, 0, text[i]!);
          else if (e.kind === 'add') text.splice(i, 0, e.text);
          else {
            const words = text[i]!.split(' ');
            words[e.word % words.length] = e.value;
            text[i] = words.join(' ');
          }
          if (text.length === 0) text.push('');
        }
        writeFileSync(file, text.join('\n'));
        let disk;
        try {
          disk = openDisk(file);
        } catch (err) {
          expect(err).toBeInstanceOf(InputError);
          expect((err as Error).message).not.toContain('\n');
          return;
        }
        let start = 0;
        for (const e of disk.extents) {
          for (const v of [e.sectors, e.offset, e.start]) expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
          expect(e.start).toBe(start);
          expect(statSync(e.path).size).toBeGreaterThanOrEqual((e.offset + e.sectors) * 512);
          start += e.sectors * 512;
        }
        expect(disk.size).toBe(start);
      }),
      { numRuns: runs(500) },
    );
  });

  it('checks extent files: missing, too short, sparse binary', () => {
    const { dir } = filesOf([4096]);
    const base = '# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType="twoGbMaxExtentFlat"\n';
    writeFileSync(join(dir, 'm.vmdk'), base + 'RW 8 FLAT "gone.img" 0\n');
    expect(errorOf(() => openDisk(join(dir, 'm.vmdk'))).message).toMatch(/gone\.img: extent of .*m\.vmdk cannot be opened: no such file/);
    writeFileSync(join(dir, 's.vmdk'), base + 'RW 9 FLAT "part0.img" 0\n');
    expect(errorOf(() => openDisk(join(dir, 's.vmdk'))).message).toMatch(/part0\.img: extent of .*s\.vmdk is 4096 bytes, the descriptor needs 4608/);
    writeFileSync(join(dir, 'k.vmdk'), Buffer.concat([Buffer.from('KDMV'), Buffer.alloc(508)]));
    expect(errorOf(() => openDisk(join(dir, 'k.vmdk'))).message).toMatch(/a sparse VMDK/);
  });
});

describe('vmdk-ts CLI', () => {
  function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('creates, describes and flattens; exit codes 0/1/2', () => {
    const { dir, files } = filesOf([4096, 8192]);
    const vmdk = join(dir, 'c.vmdk');
    const made = run('create', '--json', vmdk, ...files);
    expect(made.status).toBe(0);
    expect(JSON.parse(made.stdout)).toMatchObject({ size: 12288, extents: [{ file: 'part0.img' }, { file: 'part1.img', start: 4096 }] });
    expect(run('info', '-q', vmdk)).toMatchObject({ status: 0, stdout: '' });
    expect(run('raw', vmdk, join(dir, 'c.raw')).status).toBe(0);
    expect(statSync(join(dir, 'c.raw')).size).toBe(12288);
    const bad = run('info', join(dir, 'none.vmdk'));
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/none\.vmdk: cannot open/);
    expect(run('frobnicate').status).toBe(2);
    expect(run('--version').stdout.trim()).toBe('0.1.0');
  });

  it('raw interrupted (Ctrl-C, kill) removes its temporary file and dies of the signal', async () => {
    const dir = join(work, `big${seq++}`);
    mkdirSync(dir);
    const big = join(dir, 'big.img');
    sparseFile(big, 2 ** 40); // copying it all would take an hour
    writeDescriptor(join(dir, 'big.vmdk'), [big]);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const out = join(dir, signal);
      mkdirSync(out);
      await expectCleanInterrupt('vmdk-ts', ['raw', join(dir, 'big.vmdk'), join(out, 'disk.raw')], out, signal);
    }
  });
});
