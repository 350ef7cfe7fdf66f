import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { checkOutputs, describeSystemError, InputError, writeOutputFile } from '@fstools/fstree';
import { checkExtentName } from './extent-name.js';

export const SECTOR = 512;

/** One FLAT extent as it is written: a file name (relative to the descriptor's folder or absolute) and its length. */
export interface ExtentSpec {
  file: string;
  sectors: number;
}

export type AdapterType = 'ide' | 'lsilogic' | 'buslogic' | 'legacyESX';

export interface DescriptorOptions {
  /** ddb.adapterType; "ide" like qemu-img (every consumer accepts it). */
  adapterType?: AdapterType;
  /** ddb.virtualHWVersion; "4" like qemu-img. */
  virtualHWVersion?: number;
}

/**
 * The descriptor text for FLAT extents, in the subset qemu, libkrun's imago and cloud-hypervisor
 * all read: no encoding key, no ZERO extents, offset 0. The CID is derived from the extents so
 * the same files give the same bytes.
 */
export function formatDescriptor(extents: readonly ExtentSpec[], opts: DescriptorOptions = {}): string {
  if (extents.length === 0) throw new InputError('descriptor', 'a disk needs at least one extent');
  const lines = extents.map((e) => {
    checkExtentName(e.file, e.file);
    if (!Number.isSafeInteger(e.sectors) || e.sectors <= 0) throw new InputError(e.file, `invalid sector count ${e.sectors}`);
    return `RW ${e.sectors} FLAT "${e.file}" 0`;
  });
  const total = extents.reduce((n, e) => n + e.sectors, 0);
  const geo = geometry(total);
  return [
    '# Disk DescriptorFile',
    'version=1',
    `CID=${contentId(lines)}`,
    'parentCID=ffffffff',
    'createType="twoGbMaxExtentFlat"',
    '',
    '# Extent description',
    ...lines,
    '',
    '# The Disk Data Base',
    '#DDB',
    '',
    `ddb.virtualHWVersion = "${opts.virtualHWVersion ?? 4}"`,
    `ddb.geometry.cylinders = "${geo.cylinders}"`,
    `ddb.geometry.heads = "${geo.heads}"`,
    `ddb.geometry.sectors = "${geo.sectors}"`,
    `ddb.adapterType = "${opts.adapterType ?? 'ide'}"`,
    '',
  ].join('\n');
}

/** CHS geometry the way qemu-img reports it: 16 heads, 63 sectors, cylinders capped at 16383. */
function geometry(sectors: number): { cylinders: number; heads: number; sectors: number } {
  return { cylinders: Math.min(Math.floor(sectors / (16 * 63)), 16383), heads: 16, sectors: 63 };
}

/** 32-bit content id from the extent lines; never the "no parent" value ffffffff or fffffffe. */
function contentId(extentLines: string[]): string {
  const v = createHash('sha256').update(extentLines.join('\n')).digest().readUInt32BE(0);
  return (v >= 0xfffffffe ? v & 0x7fffffff : v).toString(16).padStart(8, '0');
}

export interface WriteOptions extends DescriptorOptions {
  /** Write absolute file names instead of names relative to the descriptor's folder. */
  absolute?: boolean;
}

/**
 * Writes a descriptor at `descriptorPath` joining `files` (in order) into one disk. Each file
 * must exist, be non-empty and a multiple of 512 bytes. Names are written relative to the
 * descriptor's folder unless `absolute`, so a folder holding the descriptor and its files can
 * move. The descriptor is written through an fstree OutputFile (beside the target, renamed into place).
 */
export function writeDescriptor(descriptorPath: string, files: readonly string[], opts: WriteOptions = {}): ExtentSpec[] {
  checkOutputs([['descriptor', descriptorPath]], files.map((f) => ['extent file', f]));
  const folder = dirname(resolve(descriptorPath));
  const extents = files.map((f) => ({ file: extentName(folder, f, opts.absolute ?? false), sectors: sectorsOf(f) }));
  const text = Buffer.from(formatDescriptor(extents, opts));
  writeOutputFile(descriptorPath, (file) => {
    file.write(text, 0);
    return text.length;
  });
  return extents;
}

function extentName(folder: string, file: string, absolute: boolean): string {
  const abs = resolve(file);
  const rel = relative(folder, abs);
  const name = absolute || isAbsolute(rel) ? abs : rel.split(sep).join('/');
  checkExtentName(name, file);
  return name;
}

/** Sectors of an extent file: it must be a non-empty regular file whose size is a multiple of 512. */
export function sectorsOf(file: string): number {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new InputError(file, 'not a regular file');
    size = st.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(file, `cannot stat: ${describeSystemError(err)}`);
  }
  if (size === 0) throw new InputError(file, 'empty file (a VMDK extent needs at least one sector)');
  if (size % SECTOR !== 0) throw new InputError(file, `size ${size} is not a multiple of ${SECTOR} bytes`);
  return size / SECTOR;
}
