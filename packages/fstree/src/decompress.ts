import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { InputError } from './errors.js';
import { BLOCK, decodeRawHeader } from './tar-header.js';

function isTarHeader(block: Buffer): boolean {
  try {
    return decodeRawHeader(block) !== undefined;
  } catch {
    return false;
  }
}

export type Compression = 'none' | 'gzip' | 'zstd';

/**
 * Signatures of compressors a tar may be wrapped in; only gzip and zstd are accepted (OCI). Each
 * is long enough that a plain tar (whose first bytes are a member name) cannot match by accident:
 * bzip2 is "BZh", a block size digit and the block magic 0x314159265359.
 */
const magics: Array<[string, Array<number | ((b: number) => boolean)>]> = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68, (b) => b >= 0x31 && b <= 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59]],
  ['lz4', [0x04, 0x22, 0x4d, 0x18]],
];

/**
 * The compression of a tar stream from its first bytes (up to 512): a valid tar header block is
 * plain whatever its name looks like; otherwise compressor signatures decide. Throws for
 * compressors we do not read.
 */
export function detectCompression(head: Uint8Array, name: string): Compression {
  if (head.length >= BLOCK && isTarHeader(Buffer.from(head.buffer, head.byteOffset, BLOCK))) return 'none';
  for (const [kind, magic] of magics) {
    if (magic.every((m, i) => (typeof m === 'number' ? head[i] === m : head[i] !== undefined && m(head[i]!)))) {
      if (kind === 'gzip' || kind === 'zstd') return kind;
      throw new InputError(name, `${kind}-compressed input is not supported (use gzip, zstd or none)`);
    }
  }
  return 'none';
}

/**
 * Streams the decompressed bytes of `source`, recognising gzip and zstd by magic bytes and
 * passing anything else through. The source may reuse its buffer for every chunk; so may the
 * output of plain input (a chunk lasts until the next is asked for). Corrupt or truncated
 * compressed data is an InputError naming `name`.
 */
export async function* decompress(source: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let headLen = 0;
  while (headLen < BLOCK) {
    const r = await it.next();
    if (r.done) break;
    head.push(Buffer.from(r.value)); // kept past the next read
    headLen += r.value.length;
  }
  const first = Buffer.concat(head);
  const rest: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => it,
  };
  async function* all(): AsyncGenerator<Uint8Array> {
    if (first.length) yield first;
    yield* rest;
  }
  const kind = detectCompression(first, name);
  if (kind === 'none') yield* all();
  else if (kind === 'gzip') yield* gunzip(owned(all()), name);
  else yield* unzstd(owned(all()), name);
}

/** Decompressors keep input past the next read: they get copies (the source may reuse its buffer). */
async function* owned(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) yield Buffer.from(chunk);
}

async function* gunzip(source: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  // 1 MiB output pieces: the default 16 KiB costs a thread-pool round trip and a pass down the
  // pipeline per 16 KiB.
  const z = createGunzip({ chunkSize: 1 << 20 });
  const input = Readable.from(source, { objectMode: false });
  input.on('error', (err) => z.destroy(err));
  input.pipe(z);
  try {
    for await (const chunk of z) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(name, `corrupt gzip data: ${(err as Error).message}`);
  } finally {
    input.destroy();
  }
}

async function* unzstd(source: AsyncIterable<Uint8Array>, name: string): AsyncGenerator<Uint8Array> {
  const out: Uint8Array[] = [];
  let ended = false;
  const d = new ZstdDecompress((chunk, final) => {
    out.push(chunk);
    if (final) ended = true;
  });
  const push = (chunk: Uint8Array, final: boolean): void => {
    try {
      d.push(chunk, final);
    } catch (err) {
      throw new InputError(name, `corrupt zstd data: ${(err as Error).message}`);
    }
  };
  for await (const chunk of source) {
    push(chunk, false);
    while (out.length) yield out.shift()!;
  }
  push(new Uint8Array(0), true);
  while (out.length) yield out.shift()!;
  if (!ended) throw new InputError(name, 'corrupt zstd data: stream ends mid-frame');
}
