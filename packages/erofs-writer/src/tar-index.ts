import type { FileData, ImageDevice, OutputFile } from '@fstools/fstree';
import { decompress, EntryError, InputError, readTar, treeFromTarEntries, xxh } from '@fstools/fstree';
import { ScratchFile } from './scratch-file.js';
import type { Appendix, TarOptions, TarResult } from './writer.js';
import { ImageBuilder } from './writer.js';

/** mkfs.erofs --tar=i without a map file: 512-byte blocks, so every tar member's data is block aligned. */
const INDEX_BLOCK = 512;
const COPY_CHUNK = 4 << 20;

/** Throws an InputError naming the option that --tar=i cannot honour. */
export function checkTarIndexOptions(opts: TarOptions): void {
  if (opts.blockSize !== undefined && opts.blockSize !== INDEX_BLOCK) throw new InputError('-b', `--tar=i images have ${INDEX_BLOCK}-byte blocks, not ${opts.blockSize}`);
  if (opts.compression) throw new InputError('-z', '--tar=i keeps file data in the tar: it cannot be compressed');
  if (opts.chunkSize !== undefined) throw new InputError('--chunksize', '--tar=i maps each file to the tar with one chunk of its own');
}

/**
 * mkfs.erofs --tar=i: an EROFS index whose regular files are chunk indexes into the tar (device 1,
 * block = the member's data offset / 512), with the (decompressed) tar itself appended after the
 * index in the same file. The device table's one slot maps the tar flat right behind the index
 * (mapped_blkaddr = the index's block count), so `mount -o loop` of the file reads it all.
 */
export async function writeErofsTarIndex(source: AsyncIterable<Uint8Array>, archive: string, output: string, opts: TarOptions = {}): Promise<TarResult> {
  checkTarIndexOptions(opts);
  const spool = new TarSpool(output);
  // Tagged after the tar's content once it is read (mkfs.erofs leaves the tag empty, which kernels before 6.6 refuse).
  const device: ImageDevice = { tag: '', path: archive, blockSize: INDEX_BLOCK, blocks: 0 };
  let b: ImageBuilder;
  try {
    b = ImageBuilder.start(output, { ...opts, blockSize: INDEX_BLOCK, devices: [device] });
  } catch (err) {
    spool.close();
    throw err;
  }
  try {
    const tarBytes = spool.tee(decompress(source, archive));
    const tree = await treeFromTarEntries(readTar(tarBytes, archive), archive, {
      whiteouts: opts.whiteouts,
      exclude: opts.exclude,
      // The data stays where it is in the tar; readTar skips it (through the spool) when unread.
      storeData: async (entry): Promise<FileData> => ({ kind: 'device', device, offset: entry.dataOffset }),
    });
    // What follows the end-of-archive blocks belongs to the tar too.
    for (let r = await tarBytes.next(); !r.done; r = await tarBytes.next());
    device.blocks = Math.ceil(spool.size / INDEX_BLOCK);
    const digest = spool.digest();
    device.tag = `tar-xxh64:${digest}`;
    b.fingerprintContent(Buffer.from(digest));
    const result = await b.finish(tree, spool);
    return { ...result, tree, flatOffset: () => undefined };
  } catch (err) {
    await b.abort();
    throw err instanceof EntryError ? err.inArchive(archive) : err;
  } finally {
    spool.close();
  }
}

/** The tar's bytes as they stream past, parked in a scratch file until they follow the index. */
class TarSpool implements Appendix {
  size = 0;
  private readonly scratch: ScratchFile;
  private readonly hash = xxh.create64(0n);

  constructor(besides: string) {
    this.scratch = new ScratchFile(besides);
  }

  async *tee(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const piece of source) {
      this.scratch.append(piece);
      this.size += piece.length;
      this.hash.update(piece);
      yield piece;
    }
  }

  /** The tar's xxh64, as 16 hex digits. */
  digest(): string {
    return this.hash.digest().toString(16).padStart(16, '0');
  }

  /** Copies the tar (zero-padded to whole blocks) after the index. */
  writeTo(out: OutputFile, at: number): number {
    for (let done = 0; done < this.size; done += COPY_CHUNK) {
      out.write(this.scratch.read(done, Math.min(COPY_CHUNK, this.size - done)), at + done);
    }
    const padded = Math.ceil(this.size / INDEX_BLOCK) * INDEX_BLOCK;
    if (padded > this.size) out.write(Buffer.alloc(padded - this.size), at + this.size);
    return padded;
  }

  close(): void {
    try {
      this.scratch.close();
    } catch {
      // already closed
    }
  }
}
