import { writeFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { formatDescriptor, SECTOR, writeRawDisk } from '@fstools/vmdk';
import type { DiskExtent } from '@fstools/vmdk';

/** One file of the one-disk layout: where it is now, and the name it will have when done. */
export interface DiskPart {
  /** Where the bytes are now (fsmeta may still sit at its temporary name). */
  current: string;
  /** Final path, which the descriptor names. */
  final: string;
  bytes: number;
}

/**
 * Writes a VMDK descriptor joining the parts (fsmeta, then the layer images in device order) as
 * FLAT extents named relative to the descriptor's folder, at `tmp` (renamed by the caller).
 */
export function writeVmdk(parts: DiskPart[], finalPath: string, tmp: string): void {
  const folder = dirname(resolve(finalPath));
  const extents = parts.map((p) => ({ file: relative(folder, resolve(p.final)).split(sep).join('/'), sectors: p.bytes / SECTOR }));
  writeFileSync(tmp, formatDescriptor(extents));
}

/** Writes the same disk as one raw file at `tmp` (renamed by the caller). */
export function writeRaw(parts: DiskPart[], tmp: string): Promise<void> {
  let start = 0;
  const extents: DiskExtent[] = parts.map((p) => {
    const e: DiskExtent = { access: 'RW', type: 'FLAT', sectors: p.bytes / SECTOR, file: p.current, offset: 0, path: resolve(p.current), start };
    start += p.bytes;
    return e;
  });
  return writeRawDisk({ extents, size: start }, tmp);
}
