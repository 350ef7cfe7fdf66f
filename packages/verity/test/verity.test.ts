import { spawnSync } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { VerityInfo } from '@fstools/verity';
import {
  appendVerityTree,
  DEFAULT_SALT_TAG,
  decodeSuperblock,
  defaultSalt,
  deriveUuid,
  encodeSuperblock,
  formatUuid,
  readSidecar,
  sidecarJson,
  treeGeometry,
  VerityError,
  verifyVerity,
  writeSidecar,
  writeVerityTree,
} from '@fstools/verity';
import { runs } from '../../../test/helpers/arbitrary-tree.js';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';

const work = mkdtempSync(join(tmpdir(), 'verity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const haveVeritysetup = oracle('veritysetup', hasCommand('veritysetup'), 'apt-get install cryptsetup-bin');

const SALT = '5eed00112233445566778899aabbccddeeff00112233445566778899aabbccdd';
const UUID = '0b5c3d6e-1f2a-4b3c-8d4e-5f60718293a4';

let seq = 0;
/** A fresh path in the work folder. */
const fresh = (name: string) => join(work, `${seq++}-${name}`);

/** `bytes` of deterministic noise from `seed` (AES-CTR keystream), with a zero run in the middle. */
function noise(bytes: number, seed: number): Buffer {
  const key = createHash('sha256').update(`seed ${seed}`).digest().subarray(0, 16);
  const out = createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(bytes));
  out.fill(0, Math.floor(bytes / 3), Math.floor(bytes / 3) + Math.min(8192, Math.floor(bytes / 4)));
  return out;
}

/** An image file of `blocks` 4 KiB blocks (or exactly `bytes`). */
function image(blocks: number, seed = blocks, bytes = blocks * 4096): string {
  const f = fresh('data.img');
  writeFileSync(f, noise(bytes, seed));
  return f;
}

interface Ran {
  status: number | null;
  out: string;
}

function veritysetup(...args: string[]): Ran {
  const r = spawnSync('veritysetup', args, { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** veritysetup format over a copy of `img`, tree appended at `hashOffset`: the copy and the root hash it printed. */
function peerFormat(img: string, blocks: number, hashOffset: number, salt: string, uuid = UUID): { file: string; rootHash: string } {
  const file = fresh('peer.img');
  copyFileSync(img, file);
  const r = veritysetup('format', `--salt=${salt === '' ? '-' : salt}`, `--uuid=${uuid}`, `--hash-offset=${hashOffset}`, `--data-blocks=${blocks}`, file, file);
  expect(r.status, r.out).toBe(0);
  return { file, rootHash: /Root hash:\s+([0-9a-f]+)/.exec(r.out)![1]! };
}

function peerVerify(img: string, info: VerityInfo, rootHash = info.rootHash): Ran {
  return veritysetup('verify', `--hash-offset=${info.hashOffset}`, `--data-blocks=${info.dataBlocks}`, img, img, rootHash);
}

async function rejection(p: Promise<unknown>): Promise<VerityError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VerityError);
  expect((err as Error).message).not.toContain('\n');
  return err as VerityError;
}

function flipByte(file: string, at: number): void {
  const b = readFileSync(file);
  b[at]! ^= 0x40;
  writeFileSync(file, b);
}

describe('tree geometry', () => {
  it('has the levels the kernel computes, the top first after the superblock block', () => {
    const levels = (n: number) => treeGeometry(n, 4096, 4096, n * 4096).levels.map((l) => l.blocks);
    expect(levels(1)).toEqual([]);
    expect(levels(2)).toEqual([1]);
    expect(levels(128)).toEqual([1]);
    expect(levels(129)).toEqual([2, 1]);
    expect(levels(128 * 128)).toEqual([128, 1]);
    expect(levels(128 * 128 + 1)).toEqual([129, 2, 1]);
    const g = treeGeometry(129, 4096, 4096, 129 * 4096);
    expect(g.treeOffset).toBe(130 * 4096);
    expect(g.levels[1]!.offset).toBe(130 * 4096);
    expect(g.levels[0]!.offset).toBe(131 * 4096);
    expect(g.end).toBe(133 * 4096);
    // A superblock off the hash block grid: the tree starts at the next boundary after its 512 bytes.
    expect(treeGeometry(3, 4096, 4096, 3 * 4096 + 3584).treeOffset).toBe(4 * 4096);
    expect(treeGeometry(3, 4096, 4096, 3 * 4096 + 3585).treeOffset).toBe(5 * 4096);
  });
});

describe('superblock', () => {
  it('round-trips and lays out struct verity_sb', () => {
    const sb = { version: 1, hash_type: 1, uuid: Buffer.alloc(16, 7), algorithm: 'sha256', data_block_size: 4096, hash_block_size: 4096, data_blocks: 2 ** 40 + 3, salt: Buffer.from('abcd', 'hex') };
    const bytes = encodeSuperblock(sb);
    expect(bytes.length).toBe(512);
    expect(bytes.subarray(0, 8).toString('latin1')).toBe('verity\0\0');
    expect(bytes.readBigUInt64LE(72)).toBe(2n ** 40n + 3n);
    expect(bytes.readUInt16LE(80)).toBe(2);
    expect(bytes.subarray(88, 90).toString('hex')).toBe('abcd');
    const back = decodeSuperblock(bytes, 'x.img', 0);
    expect({ ...back, uuid: Buffer.from(back.uuid), salt: Buffer.from(back.salt) }).toEqual(sb);
  });
});

describe.runIf(haveVeritysetup)('appendVerityTree against veritysetup format', () => {
  // 1 block: no level, the root is the block's own digest; 127/128/129: one level full or not,
  // then two; 128² + 1: three levels; 12803 blocks (~50 MiB): two levels, partial blocks.
  for (const blocks of [1, 127, 128, 129, 128 * 128 + 1, 12803]) {
    it(`${blocks} data blocks: the same bytes and root hash`, async () => {
      const img = image(blocks);
      const peer = peerFormat(img, blocks, blocks * 4096, SALT);
      const info = await appendVerityTree(img, { salt: SALT, uuid: UUID, threads: blocks > 1024 ? 2 : 1 });
      expect(info).toEqual({
        rootHash: peer.rootHash,
        salt: SALT,
        hashOffset: blocks * 4096,
        dataBlocks: blocks,
        dataBlockSize: 4096,
        hashBlockSize: 4096,
        algorithm: 'sha256',
        hashType: 1,
        uuid: UUID,
      });
      const ours = readFileSync(img);
      const theirs = readFileSync(peer.file);
      expect(ours.length).toBe(theirs.length);
      expect(ours.length).toBe(treeGeometry(blocks, 4096, 4096, blocks * 4096).end);
      expect(ours.equals(theirs)).toBe(true);
      const r = peerVerify(img, info);
      expect(r.status, r.out).toBe(0);
      expect(await verifyVerity(img, { rootHash: info.rootHash })).toEqual(info);
    });
  }

  it('an empty salt, given as "" or as no bytes', async () => {
    const img = image(300);
    const peer = peerFormat(img, 300, 300 * 4096, '');
    const copy = fresh('copy.img');
    copyFileSync(img, copy);
    const info = await appendVerityTree(img, { salt: '', uuid: UUID });
    await appendVerityTree(copy, { salt: new Uint8Array(0), uuid: UUID });
    expect(info.salt).toBe('');
    expect(info.rootHash).toBe(peer.rootHash);
    expect(readFileSync(img).equals(readFileSync(peer.file))).toBe(true);
    expect(readFileSync(copy).equals(readFileSync(peer.file))).toBe(true);
    expect(peerVerify(img, info).status).toBe(0);
    expect((await verifyVerity(img, { rootHash: info.rootHash })).salt).toBe('');
  });

  it('the two-file form: the hash file veritysetup format DATA HASH writes', async () => {
    const img = image(700);
    const before = readFileSync(img);
    const ours = fresh('ours.hash');
    const theirs = fresh('theirs.hash');
    const r = veritysetup('format', `--salt=${SALT}`, `--uuid=${UUID}`, img, theirs);
    expect(r.status, r.out).toBe(0);
    const info = await writeVerityTree(img, ours, { salt: SALT, uuid: UUID, threads: 2 });
    expect(info.hashOffset).toBe(0);
    expect(info.rootHash).toBe(/Root hash:\s+([0-9a-f]+)/.exec(r.out)![1]);
    expect(readFileSync(ours).equals(readFileSync(theirs))).toBe(true);
    expect(readFileSync(img).equals(before)).toBe(true);
    expect(veritysetup('verify', img, ours, info.rootHash).status).toBe(0);
    expect(await verifyVerity(img, { hashFile: ours, rootHash: info.rootHash })).toEqual(info);
  });

  it('a given hash offset off the 4 KiB grid, and larger data and hash blocks', async () => {
    const img = image(40);
    const peer = fresh('peer.img');
    copyFileSync(img, peer);
    const off = 40 * 4096 + 1536;
    const r = veritysetup('format', `--salt=${SALT}`, `--uuid=${UUID}`, `--hash-offset=${off}`, '--data-block-size=8192', '--hash-block-size=16384', '--data-blocks=20', peer, peer);
    expect(r.status, r.out).toBe(0);
    const info = await appendVerityTree(img, { salt: SALT, uuid: UUID, hashOffset: off, dataBlockSize: 8192, hashBlockSize: 16384 });
    expect(info.rootHash).toBe(/Root hash:\s+([0-9a-f]+)/.exec(r.out)![1]);
    expect(readFileSync(img).equals(readFileSync(peer))).toBe(true);
    expect(await verifyVerity(img, { hashOffset: off, rootHash: info.rootHash })).toEqual(info);
  });

  it('a tree written over an old one leaves none of its bytes (superblock tail, level padding)', async () => {
    const img = image(300, 21);
    const fresh1 = fresh('fresh.img');
    copyFileSync(img, fresh1);
    await appendVerityTree(img, { salt: 'ff'.repeat(256), uuid: UUID, threads: 2 });
    const overwrite = (file: string) => appendVerityTree(file, { salt: SALT, uuid: UUID, dataBlocks: 300, hashOffset: 300 * 4096 });
    const again = await overwrite(img);
    expect(again).toEqual(await overwrite(fresh1));
    expect(readFileSync(img).equals(readFileSync(fresh1))).toBe(true);
    expect(peerVerify(img, again).status).toBe(0);
  });

  it('pad: true zero-fills the last block, as veritysetup sees a zero-padded copy', async () => {
    const img = image(0, 5, 10 * 4096 + 100);
    const padded = fresh('padded.img');
    writeFileSync(padded, Buffer.concat([readFileSync(img), Buffer.alloc(4096 - 100)]));
    const peer = peerFormat(padded, 11, 11 * 4096, SALT);
    const info = await appendVerityTree(img, { salt: SALT, uuid: UUID, pad: true });
    expect(info.dataBlocks).toBe(11);
    expect(info.rootHash).toBe(peer.rootHash);
    expect(readFileSync(img).equals(readFileSync(peer.file))).toBe(true);
  });

  it('property: any small image and salt, our tree is veritysetup\'s', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 400 }), fc.integer(), fc.uint8Array({ minLength: 0, maxLength: 256 }), fc.integer({ min: 1, max: 3 }), async (blocks, seed, salt, threads) => {
        const img = image(blocks, seed);
        const hex = Buffer.from(salt).toString('hex');
        const peer = peerFormat(img, blocks, blocks * 4096, hex);
        const info = await appendVerityTree(img, { salt, uuid: UUID, threads });
        expect(info.rootHash).toBe(peer.rootHash);
        expect(readFileSync(img).equals(readFileSync(peer.file))).toBe(true);
        rmSync(img);
        rmSync(peer.file);
      }),
      { numRuns: runs(12) },
    );
  });
});

describe.runIf(haveVeritysetup)('damage is found by veritysetup verify and verifyVerity', () => {
  // 129 blocks: level 1 (one block, the top) at 130 × 4096, level 0 (two blocks) at 131 × 4096.
  const blocks = 129;
  async function made(): Promise<{ img: string; info: VerityInfo }> {
    const img = image(blocks, 77);
    return { img, info: await appendVerityTree(img, { salt: SALT, uuid: UUID }) };
  }

  it('a flipped byte in a data block', async () => {
    const { img, info } = await made();
    flipByte(img, 100 * 4096 + 17);
    const r = peerVerify(img, info);
    expect(r.status, r.out).not.toBe(0);
    const err = await rejection(verifyVerity(img, { rootHash: info.rootHash, threads: 2 }));
    expect(err.file).toBe(img);
    expect(err.message).toBe(`${img}: data block 100 (offset ${100 * 4096}) does not match its digest in level 0 of the hash tree`);
  });

  it('a flipped byte in a level-0 hash block, and in its zero padding', async () => {
    for (const at of [131 * 4096 + 32 * 5, 132 * 4096 + 4000]) {
      const { img, info } = await made();
      flipByte(img, at);
      expect(peerVerify(img, info).status).not.toBe(0);
      const which = at < 132 * 4096 ? 0 : 1;
      expect((await rejection(verifyVerity(img, { rootHash: info.rootHash }))).message).toBe(
        `${img}: hash block ${which} of level 0 (offset ${(131 + which) * 4096}) does not match its digest in level 1`,
      );
    }
  });

  it('a flipped byte in the top block, or a different root hash', async () => {
    const { img, info } = await made();
    const other = `${info.rootHash.slice(0, 63)}${info.rootHash.endsWith('0') ? '1' : '0'}`;
    expect(peerVerify(img, info, other).status).not.toBe(0);
    expect((await rejection(verifyVerity(img, { rootHash: other }))).message).toMatch(/: the top hash block \(level 1, offset 532480\) does not match the root hash$/);
    flipByte(img, 130 * 4096 + 3);
    expect(peerVerify(img, info).status).not.toBe(0);
    expect((await rejection(verifyVerity(img, { rootHash: info.rootHash }))).message).toMatch(/top hash block/);
  });

  it('one data block, flipped: its digest is the root hash', async () => {
    const img = image(1, 9);
    const info = await appendVerityTree(img, { salt: SALT, uuid: UUID });
    flipByte(img, 4095);
    expect(peerVerify(img, info).status).not.toBe(0);
    expect((await rejection(verifyVerity(img, { rootHash: info.rootHash }))).message).toMatch(/data block 0 \(offset 0, the only one\) does not match the root hash/);
  });
});

describe('default salt and uuid', () => {
  it('follow the documented rule, and give the same root hash on every run and thread count', async () => {
    const blocks = 20000;
    const data = noise(blocks * 4096, 3);
    const roots = new Set<string>();
    const files = new Set<string>();
    for (const threads of [1, 2, 3, 1]) {
      const img = fresh('same.img');
      writeFileSync(img, data);
      const info = await appendVerityTree(img, { threads });
      roots.add(JSON.stringify(info));
      files.add(createHash('sha256').update(readFileSync(img)).digest('hex'));
    }
    expect(roots.size).toBe(1);
    expect(files.size).toBe(1);
    const info = JSON.parse([...roots][0]!) as VerityInfo;
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(blocks * 4096));
    const salt = createHash('sha256').update(`${DEFAULT_SALT_TAG}\0`).update(size).update(data.subarray(0, 4096)).digest();
    expect(info.salt).toBe(salt.toString('hex'));
    expect(defaultSalt(blocks * 4096, data.subarray(0, 4096))).toEqual(salt);
    expect(info.uuid).toBe(formatUuid(deriveUuid(salt, blocks * 4096)));
    expect(info.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Another first block, another salt.
    const other = fresh('other.img');
    writeFileSync(other, Buffer.concat([Buffer.alloc(4096, 1), data.subarray(4096)]));
    expect((await appendVerityTree(other)).salt).not.toBe(info.salt);
  });

  it.runIf(haveVeritysetup)('veritysetup verify accepts a default-salted image', async () => {
    const img = image(5000, 11);
    const info = await appendVerityTree(img);
    const r = peerVerify(img, info);
    expect(r.status, r.out).toBe(0);
    const dump = veritysetup('dump', `--hash-offset=${info.hashOffset}`, img);
    expect(dump.out).toContain(info.uuid);
    expect(dump.out).toContain(info.salt);
  });
});

describe('sidecar', () => {
  it('is containerd\'s IMAGE.dmverity JSON, and verifyVerity reads it', async () => {
    const img = image(300, 4);
    const info = await appendVerityTree(img);
    expect(sidecarJson(info)).toBe(`{\n  "roothash": "${info.rootHash}",\n  "hashoffset": ${300 * 4096}\n}\n`);
    const path = await writeSidecar(img, info);
    expect(path).toBe(`${img}.dmverity`);
    expect(await readSidecar(img)).toEqual({ rootHash: info.rootHash, hashOffset: info.hashOffset });
    expect(await verifyVerity(img)).toEqual(info);
    flipByte(img, 5);
    expect((await rejection(verifyVerity(img))).message).toMatch(/data block 0 \(offset 0\)/);
    writeFileSync(path, '{"hashoffset": 4096}');
    expect((await rejection(verifyVerity(img))).message).toBe(`${path}: no "roothash"`);
  });

  it('without one, verifyVerity finds the appended tree by the file size and checks its consistency', async () => {
    const img = image(129 * 128, 8);
    const info = await appendVerityTree(img);
    expect(await verifyVerity(img)).toEqual(info);
    expect(await verifyVerity(img, { threads: 3 })).toEqual(info);
    // Three 32 MiB pieces on three threads: the first bad block is named, whichever thread found it.
    flipByte(img, 129 * 128 * 4096 - 1);
    expect((await rejection(verifyVerity(img, { threads: 3 }))).message).toMatch(/data block 16511 /);
    flipByte(img, 9000 * 4096);
    expect((await rejection(verifyVerity(img, { threads: 3 }))).message).toMatch(/data block 9000 /);
    expect((await rejection(verifyVerity(img))).message).toMatch(/data block 9000 /);
  });
});

describe('bad inputs', () => {
  it('a size that is not a multiple of 4096', async () => {
    const img = image(0, 1, 3 * 4096 + 1);
    const err = await rejection(appendVerityTree(img));
    expect(err.message).toBe(`${img}: size 12289 is not a multiple of the 4096-byte data block (pad: true zero-fills the last block)`);
    expect(statSync(img).size).toBe(3 * 4096 + 1);
  });

  it('missing, unreadable and empty files', async () => {
    const gone = join(work, 'gone.img');
    expect((await rejection(appendVerityTree(gone))).message).toBe(`${gone}: cannot open: no such file or directory (ENOENT)`);
    expect((await rejection(verifyVerity(gone, { hashOffset: 0 }))).message).toBe(`${gone}: cannot open: no such file or directory (ENOENT)`);
    const dir = fresh('dir');
    mkdirSync(dir);
    expect((await rejection(appendVerityTree(dir))).message).toMatch(new RegExp(`^${dir}: cannot open: .*\\(EISDIR\\)$`));
    const empty = fresh('empty.img');
    writeFileSync(empty, '');
    expect((await rejection(appendVerityTree(empty))).message).toBe(`${empty}: the file is empty: no data blocks to hash`);
  });

  it('bad options: salt, uuid, block size, hash offset, data blocks', async () => {
    const img = image(8, 2);
    expect((await rejection(appendVerityTree(img, { salt: 'abc' }))).message).toMatch(/salt 'abc' is not hex/);
    expect((await rejection(appendVerityTree(img, { salt: 'ab'.repeat(257) }))).message).toMatch(/is not hex of at most 256 bytes/);
    expect((await rejection(appendVerityTree(img, { uuid: 'not-a-uuid' }))).message).toMatch(/uuid 'not-a-uuid' is not 8-4-4-4-12/);
    expect((await rejection(appendVerityTree(img, { dataBlockSize: 3000 }))).message).toMatch(/dataBlockSize 3000 is not a power of two/);
    expect((await rejection(appendVerityTree(img, { hashOffset: 1000 }))).message).toMatch(/hashOffset 1000 is not a multiple of 512/);
    expect((await rejection(appendVerityTree(img, { hashOffset: 4096 }))).message).toMatch(/hashOffset 4096 is inside the 32768 bytes of data/);
    expect((await rejection(appendVerityTree(img, { dataBlocks: 9 }))).message).toMatch(/9 data blocks of 4096 bytes need 36864 bytes, the file has 32768/);
    expect(statSync(img).size).toBe(8 * 4096);
  });

  it('a root hash that is not hex, a garbage superblock, a short tree', async () => {
    const img = image(200, 6);
    const info = await appendVerityTree(img, { salt: SALT });
    expect((await rejection(verifyVerity(img, { rootHash: 'xyz' }))).message).toBe(`${img}: root hash 'xyz' is not 64 hex digits (SHA-256)`);
    expect((await rejection(verifyVerity(img, { rootHash: info.rootHash, hashOffset: 4096 }))).message).toMatch(
      new RegExp(`^${img}: no dm-verity superblock at offset 4096: signature is ".*", not "verity\\\\0\\\\0"$`),
    );
    flipByte(img, info.hashOffset + 8); // version
    expect((await rejection(verifyVerity(img, { rootHash: info.rootHash, hashOffset: info.hashOffset }))).message).toBe(`${img}: no dm-verity superblock at offset ${info.hashOffset}: version 65 (only 1 is defined)`);
    flipByte(img, info.hashOffset + 8);
    const short = fresh('short.img');
    writeFileSync(short, readFileSync(img).subarray(0, statSync(img).size - 4096));
    expect((await rejection(verifyVerity(short, { rootHash: info.rootHash, hashOffset: info.hashOffset }))).message).toMatch(/: the hash tree should end at byte \d+, the file has \d+$/);
    // 4 KiB short of the layout for 200 blocks is the layout for 199: no superblock there.
    expect((await rejection(verifyVerity(short, { rootHash: info.rootHash }))).message).toMatch(
      /: no dm-verity superblock at offset 815104: signature is .* \(the offset an appended tree has for this file size; no hashOffset or .*short\.img\.dmverity was given\)$/,
    );
    const odd = fresh('odd.img');
    writeFileSync(odd, Buffer.alloc(4096 * 3 + 512));
    expect((await rejection(verifyVerity(odd))).message).toBe(`${odd}: its size 12800 fits no appended dm-verity tree, and no hashOffset or ${odd}.dmverity says where the superblock is`);
  });
});
