import { InputError } from '@fstools/fstree';
import { Digester, digestOf, parseDigest } from './digest.js';

/** What a blob must be: its digest (and size, when a descriptor gives one). */
export interface BlobExpectation {
  digest?: string;
  size?: number;
}

/**
 * Passes a blob's bytes through, checking them against what the image says: too many bytes fail
 * as soon as they appear, a short blob or a wrong digest when the stream ends. `what` names the
 * blob in errors ("layer 2 blob sha256:..."); `source` is the image.
 */
export async function* verifyStream(
  stream: AsyncIterable<Uint8Array>,
  expect: BlobExpectation,
  source: string,
  what: string,
  onDigest?: (digest: string, size: number) => void,
): AsyncGenerator<Uint8Array> {
  const algorithm = expect.digest ? parseDigest(expect.digest, source, what).algorithm : 'sha256';
  // Hashing only where a digest is checked or wanted.
  const d = expect.digest !== undefined || onDigest ? new Digester(algorithm) : undefined;
  let size = 0;
  for await (const chunk of stream) {
    d?.update(chunk);
    size += chunk.length;
    if (expect.size !== undefined && size > expect.size) throw sizeError(source, what, expect.size, `more than ${expect.size}`);
    yield chunk;
  }
  if (expect.size !== undefined && size !== expect.size) throw sizeError(source, what, expect.size, String(size));
  if (!d) return;
  const got = d.digest();
  if (expect.digest !== undefined && got !== expect.digest) throw digestMismatch(source, what, got, expect.digest);
  onDigest?.(got, size);
}

/** Checks a blob held in memory. */
export function verifyBytes(bytes: Uint8Array, expect: BlobExpectation, source: string, what: string): void {
  if (expect.size !== undefined && bytes.length !== expect.size) throw sizeError(source, what, expect.size, String(bytes.length));
  if (expect.digest !== undefined) {
    const got = digestOf(bytes, parseDigest(expect.digest, source, what).algorithm);
    if (got !== expect.digest) throw digestMismatch(source, what, got, expect.digest);
  }
}

/** "<what>: digest mismatch: content is <got>, expected <want>", naming the image `source`. */
export function digestMismatch(source: string, what: string, got: string, want: string): InputError {
  return new InputError(source, `${what}: digest mismatch: content is ${got}, expected ${want}`);
}

function sizeError(source: string, what: string, want: number, got: string): InputError {
  return new InputError(source, `${what}: size mismatch: blob has ${got} bytes, expected ${want}`);
}
