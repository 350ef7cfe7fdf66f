import { hash } from 'node:crypto';

/** Tag hashed first into a derived UUID. */
export const UUID_TAG = 'fstools-verity-uuid-v1';

/**
 * The superblock UUID when none is given: the first 16 bytes of SHA-256 over the tag, a NUL, the
 * salt and the data size in bytes (64-bit little-endian), with the version (4) and variant (10)
 * bits of RFC 9562 set, so it reads as a random (v4) UUID. Same image and salt, same UUID.
 */
export function deriveUuid(salt: Uint8Array, dataBytes: number): Buffer {
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(dataBytes));
  const u = hash('sha256', Buffer.concat([Buffer.from(`${UUID_TAG}\0`, 'latin1'), salt, size]), 'buffer').subarray(0, 16);
  u[6] = (u[6]! & 0x0f) | 0x40;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return u;
}

/** The 16 bytes of a UUID written as 8-4-4-4-12 hex digits, or undefined when `text` is not one. */
export function parseUuid(text: string): Buffer | undefined {
  if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(text)) return undefined;
  return Buffer.from(text.replaceAll('-', ''), 'hex');
}

/** 16 bytes as a lower-case 8-4-4-4-12 UUID string. */
export function formatUuid(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
