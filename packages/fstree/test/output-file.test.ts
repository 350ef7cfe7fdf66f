import { spawnSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputs, InputError, OutputFile, outputPath, writeOutputFile } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'output-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh folder holding only `files`. */
function folder(name: string, files: Record<string, string> = {}): string {
  const d = join(dir, name);
  mkdirSync(d);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(d, f), text);
  return d;
}

describe('OutputFile', () => {
  it('writes beside the target and renames it into place on commit; unwritten ranges are holes', () => {
    const d = folder('commit', { img: 'old' });
    const out = OutputFile.create(join(d, 'img'));
    expect(readdirSync(d).sort()).toEqual([expect.stringMatching(/^\.img\.\d+\.\d+[0-9a-f]{8}\.tmp$/), 'img']);
    out.write(Buffer.from('head'), 0);
    out.write(Buffer.from('tail'), (4 << 20) - 4);
    expect(readFileSync(join(d, 'img'), 'utf8')).toBe('old');
    out.commit(8 << 20);
    expect(readdirSync(d)).toEqual(['img']);
    const bytes = readFileSync(join(d, 'img'));
    expect(bytes.length).toBe(8 << 20);
    expect(bytes.subarray(0, 4).toString()).toBe('head');
    expect(bytes.subarray((4 << 20) - 4, 4 << 20).toString()).toBe('tail');
    expect(statSync(join(d, 'img')).blocks * 512).toBeLessThan(1 << 20);
    out.discard();
    expect(readdirSync(d)).toEqual(['img']);
  });

  it('a durable file is written back as it grows and synced at commit, once its writebacks are awaited', async () => {
    const d = folder('durable');
    const out = OutputFile.create(join(d, 'img'), { durable: true });
    const piece = Buffer.alloc(3 << 20);
    for (let i = 0; i < 10; i++) out.write(piece.fill(i + 1), i * piece.length); // 30 MiB: early writebacks start
    // Early writeback is Linux only (elsewhere fdatasync is a full device flush).
    if (process.platform === 'linux') expect(() => out.commit(30 << 20)).toThrow('commit before writtenBack()');
    await out.writtenBack();
    out.commit(30 << 20);
    const bytes = readFileSync(join(d, 'img'));
    expect(bytes.length).toBe(30 << 20);
    for (let i = 0; i < 10; i++) expect(bytes.subarray(i * piece.length, (i + 1) * piece.length).every((b) => b === i + 1)).toBe(true);
    expect(readdirSync(d)).toEqual(['img']);
  });

  it('two files for one target get different temporary names', () => {
    const d = folder('two');
    const a = OutputFile.create(join(d, 'img'));
    const b = OutputFile.create(join(d, 'img'));
    expect(readdirSync(d)).toHaveLength(2);
    a.discard();
    b.discard();
    expect(readdirSync(d)).toEqual([]);
  });

  it('discard removes the temporary file and leaves the old target alone; twice is fine', () => {
    const d = folder('discard', { img: 'old' });
    const out = OutputFile.create(join(d, 'img'));
    out.write(Buffer.from('new'), 0);
    out.discard();
    out.discard();
    expect(readdirSync(d)).toEqual(['img']);
    expect(readFileSync(join(d, 'img'), 'utf8')).toBe('old');
  });

  it('failures are one-line InputErrors naming the target, with nothing left behind', () => {
    expect(() => OutputFile.create(join(dir, 'no-such-dir', 'img'))).toThrow(new InputError(join(dir, 'no-such-dir', 'img'), 'cannot create: no such file or directory (ENOENT)'));
    const d = folder('rename');
    mkdirSync(join(d, 'dir'));
    expect(() => OutputFile.create(join(d, 'dir'))).toThrow(new InputError(join(d, 'dir'), 'is a directory'));
    const out = OutputFile.create(join(d, 'img'));
    out.write(Buffer.from('x'), 0);
    // A directory appears at the target while the file is being written.
    mkdirSync(join(d, 'img'));
    writeFileSync(join(d, 'img', 'keep'), '');
    expect(() => out.commit(1)).toThrow(/img: cannot rename into place: .*\(EISDIR\)$/);
    expect(readdirSync(d).sort()).toEqual(['dir', 'img']);
  });
});

describe('outputPath and writing through a symlink', () => {
  it('writes to the file a symlink at the target names, existing or not; the link stays', () => {
    const d = folder('via-link', { 'old.img': 'old' });
    mkdirSync(join(d, 'store'));
    symlinkSync('old.img', join(d, 'to-old'));
    symlinkSync('store/new.img', join(d, 'to-new'));
    symlinkSync('to-new', join(d, 'chain'));
    expect(outputPath(join(d, 'chain'))).toBe(join(d, 'store', 'new.img'));
    expect(outputPath(join(d, 'plain'))).toBe(join(d, 'plain'));
    writeOutputFile(join(d, 'to-old'), (out) => (out.write(Buffer.from('fresh'), 0), 5));
    writeOutputFile(join(d, 'chain'), (out) => (out.write(Buffer.from('new'), 0), 3));
    expect(readFileSync(join(d, 'old.img'), 'utf8')).toBe('fresh');
    expect(readFileSync(join(d, 'store', 'new.img'), 'utf8')).toBe('new');
    expect(['to-old', 'to-new', 'chain'].map((l) => lstatSync(join(d, l)).isSymbolicLink())).toEqual([true, true, true]);
    symlinkSync('loop', join(d, 'loop'));
    expect(() => outputPath(join(d, 'loop'))).toThrow(new InputError(join(d, 'loop'), 'too many levels of symbolic links'));
  });
});

describe('checkOutputs', () => {
  it('refuses a directory, an input under any of its names, and one file for two outputs', () => {
    const d = folder('check', { 'in.tar': 'tar', other: '' });
    linkSync(join(d, 'in.tar'), join(d, 'hard.tar'));
    symlinkSync('in.tar', join(d, 'sym.tar'));
    const inputs: Array<[string, string]> = [['SOURCE', join(d, 'in.tar')]];
    expect(() => checkOutputs([['IMAGE', d]], inputs)).toThrow(new InputError(d, 'is a directory'));
    for (const name of ['in.tar', 'hard.tar', 'sym.tar', '../check/in.tar']) {
      expect(() => checkOutputs([['IMAGE', join(d, name)]], inputs), name).toThrow(new InputError(join(d, name), 'is an input too (SOURCE): the output would replace it'));
    }
    expect(() => checkOutputs([['-o', join(d, 'a')], ['--vmdk', join(d, 'b')], ['--raw', `${d}/./a`]])).toThrow(new InputError(`${d}/./a`, 'is given for both -o and --raw'));
    symlinkSync('not-yet', join(d, 'to-not-yet'));
    expect(() => checkOutputs([['-o', join(d, 'not-yet')], ['--vmdk', join(d, 'to-not-yet')]])).toThrow(new InputError(join(d, 'to-not-yet'), 'is given for both -o and --vmdk'));
  });

  it('refuses a device or fifo, which a renamed-in file would replace', () => {
    const d = folder('check-special');
    spawnSync('mkfifo', [join(d, 'fifo')]);
    expect(() => checkOutputs([['IMAGE', join(d, 'fifo')]])).toThrow(new InputError(join(d, 'fifo'), 'is not a regular file (outputs are written as new files, renamed into place)'));
    expect(() => OutputFile.create('/dev/null')).toThrow(new InputError('/dev/null', 'is not a regular file (outputs are written as new files, renamed into place)'));
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('lets through new files, existing ones that are no input, and paths whose folder is missing', () => {
    const d = folder('check-ok', { other: '' });
    expect(() => checkOutputs([['-o', join(d, 'new')], ['--vmdk', join(d, 'other')], ['--raw', join(d, 'missing', 'x')]], [['IMAGE', join(d, 'in')]])).not.toThrow();
  });
});

describe('writeOutputFile', () => {
  it('commits at the size fill returns', () => {
    const d = folder('fill');
    writeOutputFile(join(d, 'f'), (out) => {
      out.write(Buffer.from('abc'), 0);
      return 5;
    });
    expect(readFileSync(join(d, 'f'))).toEqual(Buffer.from('abc\0\0'));
  });

  it('discards when fill throws, and rethrows', () => {
    const d = folder('throw', { f: 'old' });
    expect(() =>
      writeOutputFile(join(d, 'f'), (out) => {
        out.write(Buffer.from('partial'), 0);
        throw new InputError('source', 'bad');
      }),
    ).toThrow('source: bad');
    expect(readdirSync(d)).toEqual(['f']);
    expect(readFileSync(join(d, 'f'), 'utf8')).toBe('old');
  });

  it('with an async fill: commits once it resolves, discards when it rejects', async () => {
    const d = folder('async', { f: 'old' });
    await writeOutputFile(join(d, 'g'), async (out) => {
      out.write(Buffer.from('abc'), 0);
      await new Promise(setImmediate);
      return 4;
    });
    expect(readFileSync(join(d, 'g'))).toEqual(Buffer.from('abc\0'));
    await expect(
      writeOutputFile(join(d, 'f'), async (out) => {
        out.write(Buffer.from('partial'), 0);
        await new Promise(setImmediate);
        throw new InputError('source', 'bad');
      }),
    ).rejects.toThrow('source: bad');
    expect(readdirSync(d).sort()).toEqual(['f', 'g']);
    expect(readFileSync(join(d, 'f'), 'utf8')).toBe('old');
  });
});
