/** An ACL in the VFS xattr format (system.posix_acl_*): version 2, then (tag, perm, id) entries. */
export function vfsAcl(entries: Array<[number, number, number]>): Uint8Array {
  const b = Buffer.alloc(4 + entries.length * 8);
  b.writeUInt32LE(2, 0);
  entries.forEach(([tag, perm, id], i) => {
    b.writeUInt16LE(tag, 4 + i * 8);
    b.writeUInt16LE(perm, 6 + i * 8);
    b.writeUInt32LE(id >>> 0, 8 + i * 8);
  });
  return new Uint8Array(b);
}
