/**
 * POSIX ACLs: the VFS hands them around as system.posix_acl_* values in the xattr format
 * (version 2, 8-byte entries); ext4 stores them in its own format (fs/ext4/acl.h): version 1,
 * then 8-byte entries for ACL_USER and ACL_GROUP (which carry an id) and 4-byte entries for the
 * rest. The kernel converts back when the value is read.
 */

const POSIX_ACL_XATTR_VERSION = 2;
const EXT4_ACL_VERSION = 1;
const ACL_USER_OBJ = 0x01;
const ACL_USER = 0x02;
const ACL_GROUP_OBJ = 0x04;
const ACL_GROUP = 0x08;
const ACL_MASK = 0x10;
const ACL_OTHER = 0x20;
const KNOWN_TAGS = new Set([ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER]);

/** The ext4 form of a VFS ACL value, or a reason it is not a valid ACL. */
export function aclToDisk(value: Uint8Array): Uint8Array | string {
  if (value.length < 4 || (value.length - 4) % 8 !== 0) return `ACL value of ${value.length} bytes is not a header plus 8-byte entries`;
  const src = new DataView(value.buffer, value.byteOffset, value.length);
  if (src.getUint32(0, true) !== POSIX_ACL_XATTR_VERSION) return `ACL version ${src.getUint32(0, true)} (expected ${POSIX_ACL_XATTR_VERSION})`;
  const count = (value.length - 4) / 8;
  const parts: Array<{ tag: number; perm: number; id?: number }> = [];
  let size = 4;
  for (let i = 0; i < count; i++) {
    const tag = src.getUint16(4 + i * 8, true);
    if (!KNOWN_TAGS.has(tag)) return `unknown ACL entry tag ${tag}`;
    const withId = tag === ACL_USER || tag === ACL_GROUP;
    const perm = src.getUint16(6 + i * 8, true);
    parts.push(withId ? { tag, perm, id: src.getUint32(8 + i * 8, true) } : { tag, perm });
    size += withId ? 8 : 4;
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, EXT4_ACL_VERSION, true);
  let off = 4;
  for (const { tag, perm, id } of parts) {
    dv.setUint16(off, tag, true);
    dv.setUint16(off + 2, perm, true);
    off += 4;
    if (id !== undefined) {
      dv.setUint32(off, id, true);
      off += 4;
    }
  }
  return out;
}
