import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { describeSystemError, InputError } from './errors.js';
import type { DataReader, FileInode } from './model.js';

export function openData(file: FileInode): DataReader {
  const data = file.data;
  switch (data.kind) {
    case 'bytes':
      if (data.bytes.length !== file.size) throw new Error(`in-memory data has ${data.bytes.length} bytes, inode says ${file.size}`);
      return {
        read(buf, pos) {
          buf.set(data.bytes.subarray(pos, pos + buf.length));
        },
        close() {},
      };
    case 'sparse':
      return {
        read(buf, pos) {
          buf.fill(0);
          const end = pos + buf.length;
          for (const seg of data.segments) {
            const s = Math.max(seg.offset, pos);
            const e = Math.min(seg.offset + seg.bytes.length, end);
            if (s < e) buf.set(seg.bytes.subarray(s - seg.offset, e - seg.offset), s - pos);
          }
        },
        close() {},
      };
    case 'reader':
      return data.open();
    case 'stored':
      throw new Error('this file\'s data was streamed into an image and is not kept');
    case 'host':
      return rangeReader(data.path, data.offset, file.size);
    case 'device':
      return rangeReader(data.device.path, data.offset, file.size);
  }
}

function rangeReader(path: string | Buffer, offset: number, size: number): DataReader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new InputError(String(path), `cannot open: ${describeSystemError(err)}`);
  }
  return {
    read(buf, pos) {
      let done = 0;
      while (done < buf.length) {
        let n: number;
        try {
          n = readSync(fd, buf, done, buf.length - done, offset + pos + done);
        } catch (err) {
          throw new InputError(String(path), `cannot read: ${describeSystemError(err)}`);
        }
        if (n === 0) {
          const now = fstatSync(fd).size;
          throw new InputError(String(path), `changed while being read: expected ${size} bytes, found ${now - offset}`);
        }
        done += n;
      }
    },
    close() {
      closeSync(fd);
    },
  };
}

/** Reads a whole file's data into memory (tests and small files only). */
export function readAll(file: FileInode): Buffer {
  const buf = Buffer.alloc(file.size);
  const r = openData(file);
  try {
    r.read(buf, 0);
  } finally {
    r.close();
  }
  return buf;
}

/** Calls fn with successive chunks of the file's bytes (reused buffer). */
export function forEachChunk(file: FileInode, chunkSize: number, fn: (chunk: Uint8Array, pos: number) => void): void {
  const r = openData(file);
  const buf = Buffer.allocUnsafe(Math.min(chunkSize, Math.max(file.size, 1)));
  try {
    for (let pos = 0; pos < file.size; pos += buf.length) {
      const chunk = buf.subarray(0, Math.min(buf.length, file.size - pos));
      r.read(chunk, pos);
      fn(chunk, pos);
    }
  } finally {
    r.close();
  }
}

const ZEROS = Buffer.alloc(64 << 10);

/** Whether bytes [off, off + len) of `buf` are all zero (what stays a hole in an image). */
export function isZero(buf: Uint8Array, off = 0, len = buf.length - off): boolean {
  if (len === 0) return true;
  if (buf[off] || buf[off + len - 1]) return false;
  for (let p = 0; p < len; p += ZEROS.length) {
    const n = Math.min(ZEROS.length, len - p);
    if (ZEROS.compare(buf, off + p, off + p + n, 0, n) !== 0) return false;
  }
  return true;
}
