import type { FileHandle } from 'node:fs/promises';
import { readvSync } from 'node:fs';
import { VerityError, systemError } from './errors.js';

/** The views left to fill after `done` bytes went into the start of `views`. */
function rest(views: Buffer[], done: number): Buffer[] {
  let i = 0;
  while (i < views.length && done >= views[i]!.length) done -= views[i++]!.length;
  const left = views.slice(i);
  if (done > 0) left[0] = left[0]!.subarray(done);
  return left;
}

function ended(file: string, at: number): VerityError {
  return new VerityError(file, `the file ended at byte ${at} while it was being read`);
}

/** Fills every view from `position` on (one readv per IOV_MAX views), refusing a short file. */
export function readvFullySync(fd: number, views: Buffer[], position: number, file: string): void {
  let at = position;
  for (let left = views; left.length > 0; ) {
    let n: number;
    try {
      n = readvSync(fd, left.slice(0, 1024), at);
    } catch (err) {
      throw systemError(file, 'read', err);
    }
    if (n === 0) throw ended(file, at);
    at += n;
    left = rest(left, n);
  }
}

/** readvFullySync on a FileHandle, without blocking the thread. */
export async function readvFully(fh: FileHandle, views: Buffer[], position: number, file: string): Promise<void> {
  let at = position;
  for (let left = views; left.length > 0; ) {
    let n: number;
    try {
      ({ bytesRead: n } = await fh.readv(left.slice(0, 1024), at));
    } catch (err) {
      throw systemError(file, 'read', err);
    }
    if (n === 0) throw ended(file, at);
    at += n;
    left = rest(left, n);
  }
}

/** Reads exactly `length` bytes at `position` into a new buffer. */
export async function readAt(fh: FileHandle, length: number, position: number, file: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  await readvFully(fh, [buf], position, file);
  return buf;
}

/** Writes all of `data` at `position`. */
export async function writeAt(fh: FileHandle, data: Uint8Array, position: number, file: string): Promise<void> {
  try {
    for (let done = 0; done < data.length; ) done += (await fh.write(data, done, data.length - done, position + done)).bytesWritten;
  } catch (err) {
    throw systemError(file, 'write', err);
  }
}
