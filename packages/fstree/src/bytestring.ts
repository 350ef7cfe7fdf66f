/**
 * Names and paths are bytes on disk. We carry them as "byte strings": JS strings whose every
 * char code is one byte (latin1 of the raw bytes). Comparison with < is then byte order, which is
 * the order EROFS and ext4 directories need, and non-UTF-8 names survive untouched.
 */
export type ByteString = string;

/** The raw bytes of a byte string. */
export function bytesOf(s: ByteString): Buffer {
  return Buffer.from(s, 'latin1');
}

/** A byte string from raw bytes. */
export function byteString(b: Uint8Array): ByteString {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** A byte string holding the UTF-8 encoding of an ordinary JS string. */
export function utf8(s: string): ByteString {
  return Buffer.from(s, 'utf8').toString('latin1');
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A printable, lossless form of a byte string: the UTF-8 text when the bytes are valid UTF-8,
 * otherwise "b64:" followed by base64 of the bytes.
 */
export function displayName(s: ByteString): string {
  const b = bytesOf(s);
  try {
    const text = strictUtf8.decode(b);
    if (!text.startsWith('b64:')) return text;
  } catch {
    // fall through: not UTF-8
  }
  return 'b64:' + b.toString('base64');
}

/** Inverse of displayName. */
export function parseDisplayName(s: string): ByteString {
  return s.startsWith('b64:') ? byteString(Buffer.from(s.slice(4), 'base64')) : utf8(s);
}
