import { hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { systemError, VerityError } from './errors.js';
import { readAt } from './io.js';
import type { VerityInfo } from './options.js';
import { threadsFor } from './options.js';
import { runRegionOn } from './pool.js';
import { readSidecar } from './sidecar.js';
import { decodeSuperblock, VERITY_HASH_TYPE, VERITY_SB_SIZE } from './superblock.js';
import type { TreeGeometry } from './tree.js';
import { treeGeometry } from './tree.js';
import { formatUuid } from './uuid.js';

export interface VerifyOptions {
  /** The expected root hash (hex). Default: the sidecar's (IMAGE.dmverity); without either, only the tree's consistency is checked. */
  rootHash?: string;
  /** Where the superblock is. Default: the sidecar's; else 0 in a separate hash file; else the offset appendVerityTree's default layout puts it at for the file's size. */
  hashOffset?: number;
  /** The file holding superblock and tree, when not the image itself (veritysetup's two-file form). */
  hashFile?: string;
  /** As for appendVerityTree: threads hashing the data blocks. */
  threads?: number;
}

/**
 * The superblock offset of a file laid out as appendVerityTree lays it out by default (4 KiB
 * blocks, data rounded up to 4 KiB, tree appended), or undefined if its size fits no such layout.
 * The layout's size grows with the data, so a binary search finds the one data size that fits.
 */
function appendedOffset(size: number): number | undefined {
  let lo = 1;
  let hi = Math.floor(size / 4096);
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    const end = treeGeometry(mid, 4096, 4096, mid * 4096).end;
    if (end === size) return mid * 4096;
    if (end < size) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

async function openRead(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (err) {
    throw systemError(file, 'open', err);
  }
}

/**
 * Checks an image's dm-verity tree from the top down, as the kernel trusts it: the top hash block
 * against the root hash, each level's blocks against their digests in the level above (already
 * trusted), then every data block against its digest in level 0. The first block that does not
 * match is named in a VerityError: a hash block by level, index and byte offset in the hash
 * file, a data block by index and byte offset in the image. Returns what the superblock says,
 * with the root hash checked (or, given none, computed).
 */
export async function verifyVerity(path: string, opts: VerifyOptions = {}): Promise<VerityInfo> {
  const hashFile = opts.hashFile ?? path;
  const sameFile = resolve(hashFile) === resolve(path);
  const sidecar = opts.rootHash === undefined || (opts.hashOffset === undefined && sameFile) ? await readSidecar(path) : undefined;
  const rootText = opts.rootHash ?? sidecar?.rootHash;
  if (rootText !== undefined && !/^[0-9a-fA-F]{64}$/.test(rootText)) throw new VerityError(path, `root hash '${rootText}' is not 64 hex digits (SHA-256)`);

  const dataFh = await openRead(path);
  const hashFh = sameFile ? dataFh : await openRead(hashFile).catch(async (err) => {
    await dataFh.close();
    throw err;
  });
  try {
    const dataSize = (await dataFh.stat()).size;
    const hashSize = sameFile ? dataSize : (await hashFh.stat()).size;
    const inferred = opts.hashOffset === undefined && sidecar === undefined && sameFile;
    const hashOffset = opts.hashOffset ?? sidecar?.hashOffset ?? (sameFile ? appendedOffset(hashSize) : 0);
    if (hashOffset === undefined) throw new VerityError(path, `its size ${hashSize} fits no appended dm-verity tree, and no hashOffset or ${path}.dmverity says where the superblock is`);
    if (hashOffset + VERITY_SB_SIZE > hashSize) throw new VerityError(hashFile, `no dm-verity superblock at offset ${hashOffset}: the file has ${hashSize} bytes`);
    let sb;
    try {
      sb = decodeSuperblock(await readAt(hashFh, VERITY_SB_SIZE, hashOffset, hashFile), hashFile, hashOffset);
    } catch (err) {
      if (!inferred || !(err instanceof VerityError)) throw err;
      throw new VerityError(path, `${err.problem} (the offset an appended tree has for this file size; no hashOffset or ${path}.dmverity was given)`);
    }
    if (sb.hash_type !== VERITY_HASH_TYPE || sb.algorithm !== 'sha256') {
      throw new VerityError(hashFile, `the superblock at offset ${hashOffset} asks for hash_type ${sb.hash_type} with ${sb.algorithm}: only hash_type 1 with sha256 is supported`);
    }
    const geo = treeGeometry(sb.data_blocks, sb.data_block_size, sb.hash_block_size, hashOffset);
    const dataBytes = geo.dataBlocks * geo.dataBlockSize;
    if (dataSize < dataBytes) throw new VerityError(path, `the superblock counts ${geo.dataBlocks} data blocks of ${geo.dataBlockSize} bytes, the file has only ${dataSize} bytes`);
    if (sameFile && hashOffset < dataBytes) throw new VerityError(path, `the superblock at offset ${hashOffset} is inside the ${dataBytes} bytes of data it covers`);
    if (hashSize < geo.end) throw new VerityError(hashFile, `the hash tree should end at byte ${geo.end}, the file has ${hashSize}`);
    const salt = Buffer.from(sb.salt);
    const root = await checkTree(geo, salt, rootText?.toLowerCase(), { data: path, hash: hashFile }, dataFh, hashFh, threadsFor(opts.threads, dataBytes));
    return {
      rootHash: root,
      salt: salt.toString('hex'),
      hashOffset,
      dataBlocks: geo.dataBlocks,
      dataBlockSize: geo.dataBlockSize,
      hashBlockSize: geo.hashBlockSize,
      algorithm: 'sha256',
      hashType: VERITY_HASH_TYPE,
      uuid: formatUuid(sb.uuid),
    };
  } finally {
    if (hashFh !== dataFh) await hashFh.close();
    await dataFh.close();
  }
}

async function checkTree(geo: TreeGeometry, salt: Buffer, rootHash: string | undefined, files: { data: string; hash: string }, dataFh: FileHandle, hashFh: FileHandle, threads: number): Promise<string> {
  const salted = (block: Buffer) => hash('sha256', Buffer.concat([salt, block]), 'hex');
  const { levels } = geo;
  if (levels.length === 0) {
    const root = salted(await readAt(dataFh, geo.dataBlockSize, 0, files.data));
    if (rootHash !== undefined && root !== rootHash) throw new VerityError(files.data, 'data block 0 (offset 0, the only one) does not match the root hash');
    return root;
  }
  const top = levels.at(-1)!;
  const root = salted(await readAt(hashFh, geo.hashBlockSize, top.offset, files.hash));
  if (rootHash !== undefined && root !== rootHash) {
    throw new VerityError(files.hash, `the top hash block (level ${levels.length - 1}, offset ${top.offset}) does not match the root hash`);
  }
  for (let i = levels.length - 1; i >= 1; i--) {
    const below = levels[i - 1]!;
    const job = { src: files.hash, srcOffset: below.offset, blockSize: geo.hashBlockSize, first: 0, count: below.blocks, salt, dst: files.hash, dstOffset: levels[i]!.offset, compare: true };
    const bad = await runRegionOn(job, 1, hashFh, hashFh);
    if (bad >= 0) {
      throw new VerityError(files.hash, `hash block ${bad} of level ${i - 1} (offset ${below.offset + bad * geo.hashBlockSize}) does not match its digest in level ${i}`);
    }
  }
  const job = { src: files.data, srcOffset: 0, blockSize: geo.dataBlockSize, first: 0, count: geo.dataBlocks, salt, dst: files.hash, dstOffset: levels[0]!.offset, compare: true };
  const bad = await runRegionOn(job, threads, dataFh, hashFh);
  if (bad >= 0) throw new VerityError(files.data, `data block ${bad} (offset ${bad * geo.dataBlockSize}) does not match its digest in level 0 of the hash tree`);
  return root;
}
