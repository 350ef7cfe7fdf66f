import { createReadStream, createWriteStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { encodeHeader, endOfArchive, FsTree, makeDir, makeFile, manifest, padding, treeFromTar, treeToTar } from '@fstools/fstree';
import { afterAll, describe, expect, it } from 'vitest';
import { runs, treeArb } from '../../../test/helpers/arbitrary-tree.js';
import { cli } from '../../../test/helpers/cli.js';
import { canLoopMount, hasE2fsprogs, mountedManifest, run, withMount } from '../../../test/helpers/ext4-oracles.js';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';
import { expectClean, expectSameManifest, scratch, yieldToEventLoop } from './helpers.js';

const fsck = oracle('e2fsck', hasE2fsprogs, 'e2fsprogs not installed');
const kernel = oracle('kernel ext4 loop mount', canLoopMount, 'needs root and loop devices');
const zstd = oracle('zstd', hasCommand('zstd'), 'zstd not installed');
const gnuTime = oracle('GNU time', existsSync('/usr/bin/time'), '/usr/bin/time (package time) not installed');
const tmp = scratch('tar');
afterAll(tmp.cleanup);

async function writeTar(tree: FsTree, path: string): Promise<void> {
  const out = createWriteStream(path);
  for await (const chunk of treeToTar(tree)) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

async function* fileStream(path: string): AsyncGenerator<Uint8Array> {
  for await (const c of createReadStream(path)) yield c as Buffer;
}

describe.skipIf(!fsck)('-d TAR', () => {
  it('plain, gzip and zstd tars of random trees: the kernel sees what the tar says', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb({ types: ['dir', 'file', 'symlink', 'chr', 'blk', 'fifo'], maxSparseSize: 8 << 20 }), fc.constantFrom('plain', 'gzip', 'zstd'), async (tree, compression) => {
        await yieldToEventLoop();
        if (compression === 'zstd' && !zstd) return;
        const tar = tmp.path('src.tar');
        await writeTar(tree, tar);
        let input = tar;
        if (compression === 'gzip') {
          input = `${tar}.gz`;
          writeFileSync(input, gzipSync(readFileSync(tar)));
        } else if (compression === 'zstd') {
          input = `${tar}.zst`;
          expect(run('zstd', ['-q', '-f', tar, '-o', input]).status).toBe(0);
        }
        const img = tmp.path('tar.img');
        const r = cli('mkext4-ts', ['-q', '-F', '-d', input, img, '1G']);
        expect(r.status, r.stderr).toBe(0);
        expectClean(img);
        if (!kernel) return;
        const want = manifest(await treeFromTar(fileStream(tar), tar));
        await withMount(img, (dir) => expectSameManifest(mountedManifest(dir), want, `kernel view of -d ${compression} tar`), { readonly: true });
      }),
      { numRuns: runs(6) },
    );
  });

  it('a path repeated in the tar: the last member wins, the blocks of the first are left free', async () => {
    const member = (path: string, body: string): Buffer[] => {
      const data = Buffer.from(body);
      return [encodeHeader({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: data.length, linkname: '', major: 0, minor: 0, xattrs: new Map() }), data, padding(data.length)];
    };
    const tar = tmp.path('dup.tar');
    writeFileSync(tar, Buffer.concat([...member('a', 'first '.repeat(5000)), ...member('b', 'kept'), ...member('a', 'second'), endOfArchive()]));
    const img = tmp.path('dup.img');
    const r = cli('mkext4-ts', ['-q', '-d', tar, img, '64M']);
    expect(r.status, r.stderr).toBe(0);
    expectClean(img);
    expect(run('debugfs', ['-R', 'cat /a', img]).stdout).toBe('second');
    expect(run('debugfs', ['-R', 'cat /b', img]).stdout).toBe('kept');
  });

  it.skipIf(!gnuTime)('streams: peak memory stays flat while a 768 MiB tar goes into the image', async () => {
    const tree = new FsTree(makeDir({ mode: 0o755 }));
    const block = Buffer.alloc(1 << 20);
    for (let i = 0; i < block.length; i++) block[i] = (i * 7 + 1) & 0xff;
    for (let f = 0; f < 12; f++) {
      const size = 64 << 20;
      tree.set(`big${f}`, makeFile({ size, data: { kind: 'reader', open: () => ({ read: (buf, pos) => { for (let o = 0; o < buf.length; o += block.length) buf.set(block.subarray(0, Math.min(block.length, buf.length - o)), o); void pos; }, close: () => {} }) } }));
    }
    for (let i = 0; i < 2000; i++) tree.set(`small/f${i}`, makeFile(Buffer.from(`file ${i}\n`)), () => ({ mode: 0o755 }));
    const tar = tmp.path('big.tar');
    await writeTar(tree, tar);
    expect(statSync(tar).size).toBeGreaterThan(768 << 20);
    const img = tmp.path('big.img');
    const r = run('/usr/bin/time', ['-f', '%M', process.execPath, new URL('../../../packages/ext4-writer/bin/mkext4-ts.cjs', import.meta.url).pathname, '-q', '-d', tar, img, '1G']);
    expect(r.status, r.stderr).toBe(0);
    const peakKiB = Number(r.stderr.trim().split('\n').pop());
    expect(peakKiB).toBeLessThan(200 * 1024);
    expectClean(img);
  });
});
