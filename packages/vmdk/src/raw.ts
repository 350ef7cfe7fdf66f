import { closeSync, openSync, readSync } from 'node:fs';
import type { OutputFile } from '@fstools/fstree';
import { checkOutputs, describeSystemError, InputError, isZero, LoopTurns, writeOutputFile } from '@fstools/fstree';
import { SECTOR } from './descriptor.js';
import type { VmdkDisk } from './parse.js';

const CHUNK = 1 << 20;
/** Pieces of this size that are all zeros are skipped, leaving holes in the output. */
const HOLE = 64 << 10;

/**
 * Writes the disk's bytes as one raw file (the concatenation of its extents), for hypervisors
 * without VMDK. Zero runs become holes, so sparse inputs stay sparse. Written through an fstree
 * OutputFile: nothing is left at `out` unless it completes. `out` may not be an extent file or
 * the descriptor (given one): that is refused at once, by a throw. The copy lets the event loop
 * turn now and then (LoopTurns), so an interrupted command removes the temporary file at once.
 */
export function writeRawDisk(disk: Pick<VmdkDisk, 'extents' | 'size'> & { descriptor?: string }, out: string): Promise<void> {
  const inputs: Array<[string, string]> = disk.extents.map((e) => ['extent file', e.path]);
  if (disk.descriptor !== undefined) inputs.push(['descriptor', disk.descriptor]);
  checkOutputs([['raw disk', out]], inputs);
  return writeOutputFile(out, async (file) => {
    const buf = Buffer.alloc(CHUNK);
    const turns = new LoopTurns();
    for (const e of disk.extents) await copyExtent(e.path, e.offset * SECTOR, e.sectors * SECTOR, file, e.start, buf, turns);
    return disk.size;
  });
}

async function copyExtent(path: string, from: number, length: number, out: OutputFile, at: number, buf: Buffer, turns: LoopTurns): Promise<void> {
  let inFd: number;
  try {
    inFd = openSync(path, 'r');
  } catch (err) {
    throw new InputError(path, `cannot open: ${describeSystemError(err)}`);
  }
  try {
    for (let done = 0; done < length; ) {
      const want = Math.min(CHUNK, length - done);
      let n: number;
      try {
        n = readSync(inFd, buf, 0, want, from + done);
      } catch (err) {
        throw new InputError(path, `cannot read: ${describeSystemError(err)}`);
      }
      if (n === 0) throw new InputError(path, `ended after ${done} of ${length} bytes`);
      for (let p = 0; p < n; p += HOLE) {
        const piece = buf.subarray(p, Math.min(p + HOLE, n));
        if (!isZero(piece)) out.write(piece, at + done + p);
      }
      done += n;
      await turns.done(n);
    }
  } finally {
    closeSync(inFd);
  }
}
