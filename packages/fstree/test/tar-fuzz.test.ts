import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeHeader, endOfArchive, FsTree, InputError, makeDevice, makeDir, makeFile, makeSymlink, readTar, treeFromTar, treeToTar, utf8 } from '@fstools/fstree';
import { runs } from '../../../test/helpers/arbitrary-tree.js';
import { hasCommand } from '../../../test/helpers/oracles.js';

// Damaged archives: whatever the damage, reading ends in a tree or in an InputError naming the
// archive in one line; never another exception, a hang, or an allocation sized by a corrupt field.

async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

/** Our own pax archive: long names and links, big ids, xattrs, devices, ns times, a hard link. */
async function paxArchive(): Promise<Buffer> {
  const t = new FsTree(makeDir({ mode: 0o755, mtime: 1_700_000_000_123_456_789n }));
  const long = 'd'.repeat(200);
  t.set(utf8(long), makeDir({ mode: 0o2775, uid: 1000, gid: 1000 }));
  t.set(utf8(`${long}/${'n'.repeat(255)}`), makeFile(Buffer.from('two hundred and fifty five'), { mode: 0o4755 }));
  const shared = makeFile(Buffer.alloc(9000, 7), { uid: 4_000_000_000, gid: 3_000_000_000 });
  t.set(utf8('hard/a'), shared, () => ({}));
  t.set(utf8('hard/b'), shared);
  t.set(utf8('link'), makeSymlink(utf8('x'.repeat(300))));
  t.set(utf8('dev'), makeDevice('blk', 4095, 1_048_575));
  t.set(utf8('caps'), makeFile(Buffer.from('elf'), { xattrs: new Map([['security.capability', new Uint8Array(20).fill(1)]]) }));
  return collect(treeToTar(t));
}

const work = mkdtempSync(join(tmpdir(), 'fstree-tar-fuzz-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** GNU tar's own format: ././@LongLink members for the long name and link. */
function gnuArchive(): Buffer {
  const src = join(work, 'src');
  mkdirSync(join(src, 'l'.repeat(120)), { recursive: true });
  writeFileSync(join(src, 'l'.repeat(120), 'f'.repeat(150)), 'gnu long name');
  writeFileSync(join(src, 'data'), Buffer.alloc(1500, 3));
  symlinkSync('t'.repeat(140), join(src, 'long-link'));
  const out = join(work, 'gnu.tar');
  const r = spawnSync('tar', ['--format=gnu', '--owner=0', '--group=0', '--numeric-owner', '-cf', out, '-C', src, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return readFileSync(out);
}

const damage = (length: number): fc.Arbitrary<{ flips: Array<{ at: number; value: number }>; cut?: number; chunk: number }> =>
  fc.record({
    // Header blocks are where damage matters: bias positions towards them.
    flips: fc.array(
      fc.record({
        at: fc.oneof(fc.integer({ min: 0, max: length - 1 }), fc.integer({ min: 0, max: Math.floor(length / 512) - 1 }).chain((b) => fc.integer({ min: b * 512, max: b * 512 + 511 }))),
        value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0x20, 0x30, 0x37, 0x39, 0x80, 0xff)),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    cut: fc.option(fc.integer({ min: 0, max: length }), { nil: undefined }),
    chunk: fc.constantFrom(1 << 20, 4096, 777, 511),
  });

function checksum(b: Buffer, at: number): number {
  let sum = 8 * 0x20; // the checksum field counts as spaces
  for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) sum += b[at + i]!;
  return sum;
}

function setChecksum(b: Buffer, at: number): void {
  b.write(checksum(b, at).toString(8).padStart(6, '0') + '\0 ', at + 148, 'latin1');
}

/** Offsets of the blocks that are headers: their checksum field holds their checksum. */
function headerBlocks(b: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 512 <= b.length; at += 512) {
    const stored = parseInt(b.toString('latin1', at + 148, at + 156).replace(/[\0 ]/g, ''), 8);
    if (b[at] !== 0 && stored === checksum(b, at)) out.push(at);
  }
  return out;
}

async function readDamaged(bytes: Buffer, chunk: number): Promise<unknown> {
  try {
    // Both consumers: the tree builder (data kept in memory) and a bare walk that skips data.
    await treeFromTar(chunks(bytes, chunk), 'fuzz.tar');
    for await (const e of readTar(chunks(bytes, chunk), 'fuzz.tar')) void e;
    return undefined;
  } catch (err) {
    return err;
  }
}

function expectCleanOutcome(err: unknown): void {
  if (err === undefined) return;
  expect(err).toBeInstanceOf(InputError);
  const message = (err as Error).message;
  expect(message.startsWith('fuzz.tar: ')).toBe(true);
  expect(message).not.toContain('\n');
}

describe.runIf(hasCommand('tar'))('damaged tar archives', () => {
  for (const [name, make] of [
    ['a pax archive of ours', paxArchive],
    ['a GNU tar archive', async () => gnuArchive()],
  ] as const) {
    it(`${name}: flipped bytes and cuts end in a tree or a one-line InputError`, async () => {
      const base = await make();
      const headers = headerBlocks(base);
      expect(headers.length).toBeGreaterThan(5);
      // The undamaged archive reads.
      expect(await readDamaged(base, 4096)).toBeUndefined();
      await fc.assert(
        fc.asyncProperty(damage(base.length), fc.boolean(), async ({ flips, cut, chunk }, fix) => {
          const bytes = Buffer.from(base);
          for (const f of flips) bytes[f.at] = f.value;
          // Mostly with the damaged headers' checksums made right again, so that the damage gets
          // past the checksum to the fields themselves.
          if (fix) for (const at of headers) if (flips.some((f) => f.at >= at && f.at < at + 512)) setChecksum(bytes, at);
          expectCleanOutcome(await readDamaged(cut === undefined ? bytes : bytes.subarray(0, cut), chunk));
        }),
        { numRuns: runs(300) },
      );
    });
  }

  it('a size field claiming terabytes is a truncated member, not an allocation', async () => {
    const base = await paxArchive();
    // The first regular file's header.
    const at = headerBlocks(base).find((b) => base[b + 156] === 0x30) ?? -1;
    expect(at).toBeGreaterThanOrEqual(0);
    const bytes = Buffer.from(base);
    bytes.write('77777777777\0', at + 124, 'latin1'); // 8 GiB - 1
    setChecksum(bytes, at);
    const err = await readDamaged(bytes, 4096);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^fuzz\.tar: truncated tar: data of .* is cut short/);
  });

  it('a hostile member name prints escaped on one line (no newline, no terminal escape)', async () => {
    const name = utf8('evil\n\x1b[2J\u009bname\t');
    const h = { path: name, type: 'hardlink' as const, mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: 0, linkname: utf8('missing'), major: 0, minor: 0, xattrs: new Map() };
    const err = await readDamaged(Buffer.concat([encodeHeader(h), endOfArchive()]), 4096);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe('fuzz.tar: member evil\\n\\x1b[2J\\x9bname\\t: hard link to missing target missing');
    expect((err as InputError).problem).toContain('evil\n\x1b[2J');
  });
});
