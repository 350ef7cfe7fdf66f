/** Volume UUIDs (the 16 bytes superblocks store) in their usual text form. */

/** "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" from 16 bytes. */
export function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The 16 bytes of a UUID written with or without dashes; undefined when it is not one. */
export function parseUuid(text: string): Uint8Array | undefined {
  const hex = text.replace(/-/g, '');
  return /^[0-9a-fA-F]{32}$/.test(hex) ? new Uint8Array(Buffer.from(hex, 'hex')) : undefined;
}

/**
 * A UUID derived from a digest: its first 16 bytes, marked as an RFC 9562 version 8 (custom)
 * UUID (version nibble 8, variant bits 10), so derived ids never pass for random ones.
 */
export function uuidFromDigest(digest: Uint8Array): Uint8Array {
  const u = new Uint8Array(digest.subarray(0, 16));
  u[6] = (u[6]! & 0x0f) | 0x80;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return u;
}
