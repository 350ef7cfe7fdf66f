import { closeSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { describeSystemError, InputError, isZero } from '@fstools/fstree';
import { SECTOR } from './descriptor.js';
import type { VmdkDisk } from './parse.js';

const CHUNK = 1 << 20;
/** Pieces of this size that are all zeros are skipped, leaving holes in the output. */
const HOLE = 64 << 10;

/**
 * Writes the disk's bytes as one raw file (the concatenation of its extents), for hypervisors
 * without VMDK. Zero runs become holes, so sparse inputs stay sparse. Written beside `out` and
 * renamed on success.
 */
export function writeRawDisk(disk: Pick<VmdkDisk, 'extents' | 'size'>, out: string): void {
  const tmp = `${out}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (err) {
    throw new InputError(out, `cannot create: ${describeSystemError(err)}`);
  }
  try {
    const buf = Buffer.alloc(CHUNK);
    for (const e of disk.extents) copyExtent(e.path, e.offset * SECTOR, e.sectors * SECTOR, fd, e.start, buf, out);
    ftruncateSync(fd, disk.size);
    closeSync(fd);
    renameSync(tmp, out);
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean
    }
    if (err instanceof InputError) throw err;
    throw new InputError(out, `cannot write: ${describeSystemError(err)}`);
  }
}

function copyExtent(path: string, from: number, length: number, outFd: number, at: number, buf: Buffer, out: string): void {
  let inFd: number;
  try {
    inFd = openSync(path, 'r');
  } catch (err) {
    throw new InputError(path, `cannot open: ${describeSystemError(err)}`);
  }
  try {
    for (let done = 0; done < length; ) {
      const want = Math.min(CHUNK, length - done);
      const n = readSync(inFd, buf, 0, want, from + done);
      if (n === 0) throw new InputError(path, `ended after ${done} of ${length} bytes`);
      for (let p = 0; p < n; p += HOLE) {
        const piece = buf.subarray(p, Math.min(p + HOLE, n));
        if (!isZero(piece)) writeAll(outFd, piece, at + done + p, out);
      }
      done += n;
    }
  } finally {
    closeSync(inFd);
  }
}

function writeAll(fd: number, piece: Buffer, pos: number, out: string): void {
  for (let w = 0; w < piece.length; ) {
    const n = writeSync(fd, piece, w, piece.length - w, pos + w);
    if (n <= 0) throw new InputError(out, 'short write');
    w += n;
  }
}
