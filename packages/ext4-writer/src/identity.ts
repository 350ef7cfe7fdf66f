import { createHash, randomBytes } from 'node:crypto';
import type { Numbering } from './layout/inode-table.js';
import { parseUuid, uuidFromDigest } from '@fstools/fstree';
import { EXT4_ROOT_INO } from './constants.js';
import { OptionError } from './errors.js';
import { storedTime } from './inode.js';

/** Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (dashes optional); `what` names the option in errors. */
export function uuidArg(text: string, what: string): Uint8Array {
  const bytes = parseUuid(text);
  if (!bytes) throw new OptionError(`${what}: '${text}' is not a UUID`);
  return bytes;
}

/** -U as mke2fs reads it: a UUID, "random", "time" (random too: no host clock in the id), or "clear"/"null". */
export function uuidOption(text: string): Uint8Array {
  const lower = text.toLowerCase();
  if (lower === 'clear' || lower === 'null') return new Uint8Array(16);
  if (lower === 'random' || lower === 'time') return randomUuid();
  return uuidArg(text, '-U');
}

function randomUuid(): Uint8Array {
  const u = new Uint8Array(randomBytes(16));
  u[6] = (u[6]! & 0x0f) | 0x40;
  u[8] = (u[8]! & 0x3f) | 0x80;
  return u;
}

/** What the image stores of an inode's metadata where it differs from the tree's (see emit.ts). */
export interface StoredMeta {
  /** Build time (seconds): later inode times are clamped to it (Ext4Options.timestamp). */
  clamp?: bigint;
  /** Inode size: 128-byte inodes hold no nanoseconds. */
  inodeSize: number;
  /** Owner of / (-E root_owner). */
  rootOwner?: { uid: number; gid: number };
}

/**
 * A digest of everything about the tree but file bytes (which the data digest covers), inode by
 * inode, as the image stores it: times clamped and cut to the inode's precision, the root's
 * owner as set. So sources that differ only in what the image does not keep (sub-millisecond
 * mtimes past the build time, which a runtime like Deno does not even report) give one identity.
 */
export function metadataDigest(num: Numbering, stored: StoredMeta): Buffer {
  const h = createHash('sha256');
  for (const { ino, inode, children } of num.inodes) {
    const owner = ino === EXT4_ROOT_INO && stored.rootOwner ? stored.rootOwner : inode;
    const t = storedTime(inode.mtime, stored.clamp, stored.inodeSize);
    h.update(`${ino}|${inode.type}|${inode.mode}|${owner.uid}|${owner.gid}|${t.sec}.${t.nsec}|`);
    if (inode.type === 'file') h.update(`${inode.size}`);
    else if (inode.type === 'symlink') h.update(Buffer.from(inode.target, 'latin1'));
    else if (inode.type === 'chr' || inode.type === 'blk') h.update(`${inode.major}:${inode.minor}`);
    for (const name of [...inode.xattrs.keys()].sort()) h.update(`|${name}=`).update(inode.xattrs.get(name)!);
    if (children) children.names.forEach((name, i) => h.update(`|${name.length}:`).update(Buffer.from(name, 'latin1')).update(`=${num.numbers.get(children.inodes[i]!)}`));
    h.update('\n');
  }
  return h.digest();
}

/**
 * The UUID and directory hash seed derived from the content when not given: the hash seed from
 * the data and metadata digests alone (so directory layouts do not depend on the size), the UUID
 * from those and the options. Both are marked as RFC 9562 version 8 (custom) UUIDs.
 */
export function deriveIds(dataDigest: Buffer, metaDigest: Buffer, options: string): { uuid: Uint8Array; hashSeed: Uint8Array } {
  const seed = createHash('sha256').update('ext4 hash seed\0').update(dataDigest).update(metaDigest).digest();
  const uuid = createHash('sha256').update('ext4 uuid\0').update(dataDigest).update(metaDigest).update(options).digest();
  return { uuid: uuidFromDigest(uuid), hashSeed: uuidFromDigest(seed) };
}
