import { hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { systemError, VerityError } from './errors.js';
import { readAt, writeAt } from './io.js';
import type { TreeOptions, VerityInfo } from './options.js';
import { blockSizeOption, saltOption, threadsFor } from './options.js';
import { runRegionOn } from './pool.js';
import type { RegionJob } from './region.js';
import { defaultSalt } from './salt.js';
import { encodeSuperblock, VERITY_HASH_TYPE, VERITY_SB_VERSION } from './superblock.js';
import type { TreeGeometry } from './tree.js';
import { DIGEST_SIZE, treeGeometry } from './tree.js';
import { deriveUuid, formatUuid, parseUuid } from './uuid.js';

/** The data region as the options and the data file's size decide it. */
interface DataRegion {
  dataBlocks: number;
  /** dataBlocks × dataBlockSize: with `pad`, may exceed the file's size (zero-filled first). */
  dataBytes: number;
}

function dataRegion(file: string, size: number, dataBlockSize: number, opts: TreeOptions): DataRegion {
  if (opts.dataBlocks !== undefined) {
    const n = opts.dataBlocks;
    if (!Number.isSafeInteger(n) || n < 1) throw new VerityError(file, `dataBlocks ${n} is not a positive integer`);
    if (n * dataBlockSize > size) throw new VerityError(file, `${n} data blocks of ${dataBlockSize} bytes need ${n * dataBlockSize} bytes, the file has ${size}`);
    return { dataBlocks: n, dataBytes: n * dataBlockSize };
  }
  if (size === 0) throw new VerityError(file, 'the file is empty: no data blocks to hash');
  if (size % dataBlockSize !== 0 && !opts.pad) {
    throw new VerityError(file, `size ${size} is not a multiple of the ${dataBlockSize}-byte data block (pad: true zero-fills the last block)`);
  }
  const dataBlocks = Math.ceil(size / dataBlockSize);
  return { dataBlocks, dataBytes: dataBlocks * dataBlockSize };
}

/**
 * Computes the tree over the data blocks of `data` and writes superblock and tree into `hashFh`
 * at geo.hashOffset: the superblock's hash block (zero after the 512 bytes), then level 0 up to
 * the top, each level written before the one above hashes it, the unused slots of each level's
 * last block zeroed. Returns the root hash.
 */
async function writeTree(geo: TreeGeometry, salt: Buffer, uuid: Buffer, files: { data: string; hash: string }, dataFh: FileHandle, hashFh: FileHandle, threads: number): Promise<Buffer> {
  const sbBlock = Buffer.alloc(geo.treeOffset - geo.hashOffset);
  sbBlock.set(
    encodeSuperblock({
      version: VERITY_SB_VERSION,
      hash_type: VERITY_HASH_TYPE,
      uuid,
      algorithm: 'sha256',
      data_block_size: geo.dataBlockSize,
      hash_block_size: geo.hashBlockSize,
      data_blocks: geo.dataBlocks,
      salt,
    }),
  );
  await writeAt(hashFh, sbBlock, geo.hashOffset, files.hash);
  const salted = (block: Buffer) => hash('sha256', Buffer.concat([salt, block]), 'buffer');
  // One data block needs no tree: the root hash is that block's own digest.
  if (geo.levels.length === 0) return salted(await readAt(dataFh, geo.dataBlockSize, 0, files.data));
  let below = { file: files.data, fh: dataFh, offset: 0, blockSize: geo.dataBlockSize, blocks: geo.dataBlocks };
  for (const [i, level] of geo.levels.entries()) {
    const job: RegionJob = { src: below.file, srcOffset: below.offset, blockSize: below.blockSize, first: 0, count: below.blocks, salt, dst: files.hash, dstOffset: level.offset, compare: false };
    await runRegionOn(job, i === 0 ? threads : 1, below.fh, hashFh);
    const used = below.blocks * DIGEST_SIZE;
    await writeAt(hashFh, Buffer.alloc(level.blocks * geo.hashBlockSize - used), level.offset + used, files.hash);
    below = { file: files.hash, fh: hashFh, offset: level.offset, blockSize: geo.hashBlockSize, blocks: level.blocks };
  }
  return salted(await readAt(hashFh, geo.hashBlockSize, geo.levels.at(-1)!.offset, files.hash));
}

async function openFile(file: string, flags: string): Promise<FileHandle> {
  try {
    return await open(file, flags, 0o644);
  } catch (err) {
    throw systemError(file, 'open', err);
  }
}

async function sizeOf(fh: FileHandle, file: string): Promise<number> {
  try {
    const st = await fh.stat();
    if (!st.isFile() && !st.isBlockDevice()) throw new VerityError(file, 'not a regular file');
    return st.size;
  } catch (err) {
    throw systemError(file, 'stat', err);
  }
}

async function build(dataPath: string, hashPath: string | undefined, opts: TreeOptions): Promise<VerityInfo> {
  const dataBlockSize = blockSizeOption(opts.dataBlockSize, 'dataBlockSize', dataPath);
  const hashBlockSize = blockSizeOption(opts.hashBlockSize, 'hashBlockSize', dataPath);
  const givenSalt = saltOption(opts.salt, dataPath);
  const givenUuid = opts.uuid === undefined ? undefined : parseUuid(opts.uuid);
  if (opts.uuid !== undefined && !givenUuid) throw new VerityError(dataPath, `uuid '${opts.uuid}' is not 8-4-4-4-12 hex digits`);
  const sameFile = hashPath === undefined || resolve(hashPath) === resolve(dataPath);
  const hashFile = hashPath ?? dataPath;

  const dataFh = await openFile(dataPath, sameFile || opts.pad ? 'r+' : 'r');
  let hashFh: FileHandle | undefined;
  let createdHash = false;
  let restore: (() => Promise<void>) | undefined;
  try {
    const size = await sizeOf(dataFh, dataPath);
    const { dataBlocks, dataBytes } = dataRegion(dataPath, size, dataBlockSize, opts);
    const hashOffset = opts.hashOffset ?? (sameFile ? Math.ceil(Math.max(size, dataBytes) / 4096) * 4096 : 0);
    if (!Number.isSafeInteger(hashOffset) || hashOffset < 0 || hashOffset % 512 !== 0) {
      throw new VerityError(hashFile, `hashOffset ${hashOffset} is not a multiple of 512`);
    }
    if (sameFile && hashOffset < dataBytes) throw new VerityError(dataPath, `hashOffset ${hashOffset} is inside the ${dataBytes} bytes of data`);
    const geo = treeGeometry(dataBlocks, dataBlockSize, hashBlockSize, hashOffset);

    if (sameFile) {
      hashFh = dataFh;
      // Appending: a failure cuts the file back to its size before.
      if (size <= hashOffset) restore = () => dataFh.truncate(size);
    } else {
      try {
        hashFh = await open(hashFile, 'wx+', 0o644);
        createdHash = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw systemError(hashFile, 'create', err);
        hashFh = await openFile(hashFile, 'r+');
      }
      if (size < dataBytes) restore = () => dataFh.truncate(size);
    }
    if (size < dataBytes) await dataFh.truncate(dataBytes);

    const salt = givenSalt ?? defaultSalt(dataBytes, await readAt(dataFh, dataBlockSize, 0, dataPath));
    const uuid = givenUuid ?? deriveUuid(salt, dataBytes);
    const threads = threadsFor(opts.threads, dataBytes);
    const root = await writeTree(geo, salt, uuid, { data: dataPath, hash: hashFile }, dataFh, hashFh, threads);
    restore = undefined;
    return {
      rootHash: root.toString('hex'),
      salt: salt.toString('hex'),
      hashOffset,
      dataBlocks,
      dataBlockSize,
      hashBlockSize,
      algorithm: 'sha256',
      hashType: VERITY_HASH_TYPE,
      uuid: formatUuid(uuid),
    };
  } catch (err) {
    await restore?.().catch(() => {});
    if (createdHash) await rm(hashFile, { force: true });
    throw err;
  } finally {
    if (hashFh && hashFh !== dataFh) await hashFh.close();
    await dataFh.close();
  }
}

/**
 * Appends a dm-verity hash tree to the image at `path`, as `veritysetup format --hash-offset=OFF
 * --data-blocks=N IMG IMG` does: superblock at hashOffset (default: the image size rounded up to
 * 4096), tree from the next hash block. Byte-identical to veritysetup's given the same salt and
 * uuid. A failure leaves the image as it was (cut back to its size).
 */
export function appendVerityTree(path: string, opts: TreeOptions = {}): Promise<VerityInfo> {
  return build(path, undefined, opts);
}

/**
 * Writes the superblock and tree for the data in `dataPath` into a separate file, `hashPath`
 * (veritysetup's two-file form, `veritysetup format DATA HASH`), from hashOffset (default 0).
 * A missing hash file is created (and removed again if this fails); an existing one is written
 * in place from hashOffset.
 */
export function writeVerityTree(dataPath: string, hashPath: string, opts: TreeOptions = {}): Promise<VerityInfo> {
  return build(dataPath, hashPath, opts);
}
