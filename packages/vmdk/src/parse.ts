import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { describeSystemError, InputError } from '@fstools/fstree';
import { SECTOR } from './descriptor.js';

export type ExtentAccess = 'RW' | 'RDONLY' | 'NOACCESS';

/** One extent line as written. */
export interface ParsedExtent {
  access: ExtentAccess;
  sectors: number;
  /** FLAT, or VMFS (a flat extent without offset, as ESX writes it). */
  type: 'FLAT' | 'VMFS';
  /** The file name exactly as in the descriptor. */
  file: string;
  /** Offset into the file, in sectors. */
  offset: number;
}

export interface Descriptor {
  version: number;
  cid: string;
  parentCid: string;
  createType: string;
  extents: ParsedExtent[];
  /** Every other `key = value` pair (ddb.* and the rest), quotes removed. */
  keys: Map<string, string>;
}

/** Disks made of raw extent files; sparse and stream-optimized ones carry grain tables we do not read. */
const FLAT_TYPES = new Set(['monolithicFlat', 'twoGbMaxExtentFlat', 'vmfs', 'vmfsRaw', 'custom']);
const NO_PARENT = 'ffffffff';
const MAX_DESCRIPTOR = 1 << 20;

/**
 * Parses descriptor text (ours, qemu-img's or VMware's): comments and blank lines anywhere, CRLF,
 * spaces around "=", quoted or bare values, RDONLY extents, FLAT offsets and VMFS extents.
 * Refuses what cannot be read as a plain concatenation of files: sparse or ZERO extents, a parent
 * disk, a sparse header. `source` names the descriptor in errors.
 */
export function parseDescriptor(text: string, source: string): Descriptor {
  const keys = new Map<string, string>();
  const extents: ParsedExtent[] = [];
  let sawHeader = false;
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/\r$/, '').trim();
    const at = `${source}: line ${i + 1}`;
    if (line === '# Disk DescriptorFile') sawHeader = true;
    if (line === '' || line.startsWith('#')) continue;
    const extent = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\S+)\s*(.*)$/.exec(line);
    if (extent) {
      extents.push(parseExtent(extent, at));
      continue;
    }
    const kv = /^([A-Za-z0-9_.]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) throw new InputError(source, `line ${i + 1}: not a descriptor line: ${JSON.stringify(line.slice(0, 80))}`);
    keys.set(kv[1]!, unquote(kv[2]!));
  }
  if (!sawHeader && !keys.has('createType')) throw new InputError(source, 'not a VMDK descriptor (no "# Disk DescriptorFile" header or createType)');
  const take = (k: string): string | undefined => {
    const v = keys.get(k);
    keys.delete(k);
    return v;
  };
  const version = Number(take('version') ?? '1');
  const cid = (take('CID') ?? '').toLowerCase();
  const parentCid = (take('parentCID') ?? NO_PARENT).toLowerCase();
  const createType = take('createType') ?? '';
  if (!FLAT_TYPES.has(createType)) throw new InputError(source, `createType "${createType}" is not a flat disk (only raw extent files are supported)`);
  if (parentCid !== NO_PARENT) throw new InputError(source, `has a parent disk (parentCID=${parentCid}); differencing disks are not supported`);
  if (extents.length === 0) throw new InputError(source, 'no extent lines');
  return { version, cid, parentCid, createType, extents, keys };
}

function parseExtent(m: RegExpExecArray, at: string): ParsedExtent {
  const [, access, sectorText, type, rest] = m as unknown as [string, ExtentAccess, string, string, string];
  if (type !== 'FLAT' && type !== 'VMFS') throw new InputError(at, `extent type ${type} is not supported (only FLAT and VMFS)`);
  const fm = /^"([^"]*)"\s*(\d*)$/.exec(rest);
  if (!fm) throw new InputError(at, `malformed extent line (expected "FILE" [OFFSET]): ${JSON.stringify(rest.slice(0, 80))}`);
  if (fm[1] === '') throw new InputError(at, 'extent with an empty file name');
  if (type === 'FLAT' && fm[2] === '') throw new InputError(at, 'FLAT extent without an offset');
  const sectors = Number(sectorText);
  if (!Number.isSafeInteger(sectors) || sectors <= 0) throw new InputError(at, `invalid sector count ${sectorText}`);
  return { access, sectors, type, file: fm[1]!, offset: fm[2] ? Number(fm[2]) : 0 };
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** An extent with its file resolved and its place in the virtual disk. */
export interface DiskExtent extends ParsedExtent {
  /** Absolute path of the extent file. */
  path: string;
  /** Byte offset of the extent's first byte in the virtual disk. */
  start: number;
}

export interface VmdkDisk {
  /** Absolute path of the descriptor. */
  descriptor: string;
  cid: string;
  createType: string;
  extents: DiskExtent[];
  /** Virtual disk size in bytes. */
  size: number;
  keys: Map<string, string>;
}

/**
 * Reads a descriptor file and resolves its extents against the descriptor's folder. Every extent
 * file must exist and hold the sectors the descriptor gives it (from its offset on).
 */
export function openDisk(descriptorPath: string): VmdkDisk {
  const descriptor = resolve(descriptorPath);
  const d = parseDescriptor(readDescriptorText(descriptorPath), descriptorPath);
  let start = 0;
  const extents = d.extents.map((e) => {
    const path = isAbsolute(e.file) ? e.file : resolve(dirname(descriptor), e.file);
    let size: number;
    try {
      size = statSync(path).size;
    } catch (err) {
      throw new InputError(path, `extent of ${descriptorPath} cannot be opened: ${describeSystemError(err)}`);
    }
    const need = (e.offset + e.sectors) * SECTOR;
    if (size < need) throw new InputError(path, `extent of ${descriptorPath} is ${size} bytes, the descriptor needs ${need}`);
    const out = { ...e, path, start };
    start += e.sectors * SECTOR;
    return out;
  });
  return { descriptor, cid: d.cid, createType: d.createType, extents, size: start, keys: d.keys };
}

/** Reads the descriptor as text, refusing binary (sparse) VMDKs and oversized files. */
function readDescriptorText(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new InputError(path, `cannot open: ${describeSystemError(err)}`);
  }
  try {
    const buf = Buffer.alloc(MAX_DESCRIPTOR + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, n);
    if (buf.subarray(0, 4).toString('latin1') === 'KDMV') throw new InputError(path, 'a sparse VMDK (binary header), not a descriptor of flat extents');
    if (n > MAX_DESCRIPTOR) throw new InputError(path, `larger than ${MAX_DESCRIPTOR} bytes: not a VMDK descriptor`);
    const text = buf.subarray(0, n);
    if (text.includes(0)) throw new InputError(path, 'binary data: not a VMDK descriptor');
    return text.toString('utf8');
  } finally {
    closeSync(fd);
  }
}
