import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { BLOCK, byteString, decodeRawHeader, InputError, parsePax } from '@fstools/fstree';
import type { ByteString } from '@fstools/fstree';

/** One member of an archive that holds an image (not a layer): where its bytes sit. */
export interface TarMember {
  path: ByteString;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** Byte offset of the member's data in the archive file. */
  offset: number;
  size: number;
  linkname: ByteString;
}

const MAX_META = 1 << 20;

/**
 * Lists the members of an uncompressed tar file by reading headers only and seeking over data,
 * so an image archive of gigabytes is indexed in milliseconds. Understands pax path/linkpath/size
 * records and GNU long names, which is all an image archive's layout needs.
 */
export function indexTar(file: string, name = file): Map<ByteString, TarMember> {
  const fd = openSync(file, 'r');
  try {
    const total = fstatSync(fd).size;
    const members = new Map<ByteString, TarMember>();
    const read = (pos: number, len: number): Buffer => {
      const buf = Buffer.alloc(len);
      const n = readSync(fd, buf, 0, len, pos);
      if (n < len) throw new InputError(name, `truncated archive: ${len} bytes at ${pos} cut short`);
      return buf;
    };
    let pax = new Map<string, Buffer>();
    let longName: ByteString | undefined;
    let longLink: ByteString | undefined;
    for (let pos = 0; pos + BLOCK <= total; ) {
      const block = read(pos, BLOCK);
      let raw;
      try {
        raw = decodeRawHeader(block);
      } catch (err) {
        throw new InputError(name, `not a tar archive (bad header at byte ${pos}): ${(err as Error).message}`);
      }
      if (!raw) break;
      const dataAt = pos + BLOCK;
      const next = dataAt + Math.ceil(raw.size / BLOCK) * BLOCK;
      if ('xLK'.includes(raw.typeflag)) {
        if (raw.size > MAX_META) throw new InputError(name, `extended header at byte ${pos} is too large`);
        const data = read(dataAt, raw.size);
        if (raw.typeflag === 'x') pax = parsePax(data);
        else {
          const nul = data.indexOf(0);
          const text = byteString(nul < 0 ? data : data.subarray(0, nul));
          if (raw.typeflag === 'L') longName = text;
          else longLink = text;
        }
        pos = next;
        continue;
      }
      if (raw.typeflag === 'g') {
        pos = next;
        continue;
      }
      const paxPath = pax.get('path');
      const paxLink = pax.get('linkpath');
      const paxSize = pax.get('size');
      const size = paxSize ? Number(paxSize.toString('latin1')) : raw.size;
      const path = normalize(paxPath ? byteString(paxPath) : (longName ?? raw.name));
      const flag = raw.typeflag;
      const type = flag === '5' ? 'dir' : flag === '2' ? 'symlink' : flag === '1' ? 'hardlink' : '07'.includes(flag) ? 'file' : 'other';
      members.set(path, { path, type, offset: dataAt, size: type === 'file' ? size : 0, linkname: paxLink ? byteString(paxLink) : (longLink ?? raw.linkname) });
      if (type === 'file' && dataAt + size > total) throw new InputError(name, `truncated archive: member ${path} is cut short`);
      pax = new Map();
      longName = longLink = undefined;
      pos = dataAt + Math.ceil(size / BLOCK) * BLOCK;
    }
    return members;
  } finally {
    closeSync(fd);
  }
}

/** "./a//b/" -> "a/b": member names compared the way image archives mean them. */
export function normalize(path: ByteString): ByteString {
  return path
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}
