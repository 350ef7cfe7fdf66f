import { describe, expect, it } from 'vitest';
import { fileTypeCode, typeOfFileType } from '@fstools/fstree';

describe('directory entry file types', () => {
  it('are the kernel FT_* values (ext4 and EROFS alike), and invert', () => {
    const types = ['file', 'dir', 'chr', 'blk', 'fifo', 'sock', 'symlink'] as const;
    expect(types.map(fileTypeCode)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const t of types) expect(typeOfFileType(fileTypeCode(t))).toBe(t);
    // FT_UNKNOWN, past FT_SYMLINK, ext4's dir tail marker
    expect([0, 8, 0xde].map(typeOfFileType)).toEqual([undefined, undefined, undefined]);
  });
});
