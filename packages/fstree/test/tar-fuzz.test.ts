import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeHeader, endOfArchive, InputError, readTar, treeFromTar, utf8 } from '@fstools/fstree';
import { runs } from '../../../test/helpers/arbitrary-tree.js';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';
import { chunks } from '../../../test/helpers/streams.js';
import { damageArb, damaged, damageSources, headerBlocks, paxArchive, setChecksum } from '../../../test/helpers/tar-damage.js';

// Damaged archives: whatever the damage, reading ends in a tree or in an InputError naming the
// archive in one line; never another exception, a hang, or an allocation sized by a corrupt field.

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

describe.runIf(oracle('GNU tar', hasCommand('tar'), 'apt-get install tar'))('damaged tar archives', () => {
  for (const [name, make] of damageSources) {
    it(`${name}: flipped bytes and cuts end in a tree or a one-line InputError`, async () => {
      const base = await make();
      const headers = headerBlocks(base);
      expect(headers.length).toBeGreaterThan(5);
      // The undamaged archive reads.
      expect(await readDamaged(base, 4096)).toBeUndefined();
      await fc.assert(
        fc.asyncProperty(damageArb(base.length), async (d) => expectCleanOutcome(await readDamaged(damaged(base, headers, d), d.chunk))),
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

  it('a symlink target holding a NUL byte (a pax linkpath can) is refused: no filesystem could give it back', async () => {
    const h = { path: utf8('link'), type: 'symlink' as const, mode: 0o777, uid: 0, gid: 0, mtime: 0n, size: 0, linkname: utf8('\0' + 'x'.repeat(200)), major: 0, minor: 0, xattrs: new Map() };
    const err = await readDamaged(Buffer.concat([encodeHeader(h), endOfArchive()]), 4096);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toBe('fuzz.tar: member link: symlink target contains a NUL byte');
  });
});
