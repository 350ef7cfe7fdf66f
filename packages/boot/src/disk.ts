import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { FsTree } from '@fstools/fstree';
import { describeSystemError, InputError } from '@fstools/fstree';
import { ErofsImage } from '@fstools/erofs-reader';
import { openDisk } from '@fstools/vmdk';

/** The read-only disk the guest mounts as /dev/vda: a VMDK descriptor or a raw image. */
export interface LowerDisk {
  path: string;
  format: 'raw' | 'vmdk';
  /** The files the disk is made of: the VMDK's extents (fsmeta first) or the raw file. */
  parts: string[];
}

/** Checks the disk exists and tells a VMDK descriptor (extents checked too) from a raw image. */
export function openLowerDisk(path: string): LowerDisk {
  const head = readHead(path, 32);
  if (head.toString('latin1').startsWith('# Disk DescriptorFile')) {
    return { path, format: 'vmdk', parts: openDisk(path).extents.map((e) => e.path) };
  }
  return { path, format: 'raw', parts: [path] };
}

/** Checks an upper image is a regular file the guest can write. */
export function checkUpper(path: string): void {
  closeSync(openImage(path, 'r+'));
}

function readHead(path: string, n: number): Buffer {
  const fd = openImage(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

function openImage(path: string, flags: 'r' | 'r+'): number {
  try {
    if (!statSync(path).isFile()) throw new InputError(path, 'not a regular file');
    return openSync(path, flags);
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(path, `cannot open${flags === 'r+' ? ' for writing' : ''}: ${describeSystemError(err)}`);
  }
}

/**
 * The tree the disk holds, read on the host with @fstools/erofs-reader: the first part is the
 * EROFS image, the other parts its extra devices (a raw disk is read in flat mode). Call close()
 * when done with the file data.
 */
export function readLowerTree(disk: LowerDisk): { tree: FsTree; close(): void } {
  const [primary, ...devices] = disk.parts;
  const img = ErofsImage.open(primary!, devices.length ? { devices } : {});
  try {
    return { tree: img.toTree(), close: () => img.close() };
  } catch (err) {
    img.close();
    throw err;
  }
}
