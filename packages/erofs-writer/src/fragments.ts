import { xxh } from '@fstools/fstree';
import { ScratchFile } from './scratch-file.js';

const READ_PIECE = 1 << 20;

/** Fragments are found again by a hash of their last this many bytes (shorter ones by all of them). */
const TAIL = 64;

/**
 * The packed inode's content (-E fragments): file tails, or whole files with all-fragments,
 * appended in commit order, which makes it the same for any number of workers. A fragment whose
 * bytes are already there, as a whole earlier fragment or the end of one (a file stored twice, a
 * file that is another's tail), is not appended again: it refers to the earlier bytes. (mkfs.erofs
 * also shares a common suffix that is only part of a new file, compressing the rest apart.) The
 * content waits in a scratch file of its own until it is itself compressed as a file, without
 * fragments, once every other file is in.
 */
export class PackedFile {
  private readonly content: ScratchFile;
  /** Fragments stored, by a hash of their last bytes: where they start and how long they are. */
  private readonly seen = new Map<string, Array<{ at: number; length: number }>>();
  size = 0;

  constructor(besides: string, head: Uint8Array) {
    this.content = new ScratchFile(besides);
    // The long xattr name prefixes, when there are any: the kernel reads them from the packed inode.
    if (head.length > 0) this.append(head);
  }

  /** Stores a fragment; returns its offset in the packed inode (within earlier bytes when they hold it). */
  add(bytes: Uint8Array): number {
    const key = tailKey(bytes);
    const candidates = this.seen.get(key) ?? [];
    for (const c of candidates) {
      if (c.length < bytes.length) continue;
      const at = c.at + c.length - bytes.length;
      if (Buffer.from(this.content.read(at, bytes.length)).equals(bytes)) return at;
    }
    const at = this.append(bytes);
    candidates.push({ at, length: bytes.length });
    this.seen.set(key, candidates);
    return at;
  }

  /** Appends bytes as they are (a whole file's next segment); returns their offset. */
  append(bytes: Uint8Array): number {
    const at = this.content.append(bytes);
    this.size += bytes.length;
    return at;
  }

  /** The content in order, a piece at a time (each valid until the next). */
  *pieces(): Generator<Uint8Array> {
    for (let at = 0; at < this.size; at += READ_PIECE) yield this.content.read(at, Math.min(READ_PIECE, this.size - at));
  }

  close(): void {
    this.content.close();
  }
}

function tailKey(bytes: Uint8Array): string {
  const n = Math.min(TAIL, bytes.length);
  const h = xxh.h64Raw(bytes.subarray(bytes.length - n)).toString(36);
  return n < TAIL ? `${n}:${h}` : h;
}
