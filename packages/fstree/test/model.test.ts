import { describe, expect, it } from 'vitest';
import { fileTypeCode, joinPath, splitPath, typeOfFileType } from '@fstools/fstree';

describe('directory entry file types', () => {
  it('are the kernel FT_* values (ext4 and EROFS alike), and invert', () => {
    const types = ['file', 'dir', 'chr', 'blk', 'fifo', 'sock', 'symlink'] as const;
    expect(types.map(fileTypeCode)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const t of types) expect(typeOfFileType(fileTypeCode(t))).toBe(t);
    // FT_UNKNOWN, past FT_SYMLINK, ext4's dir tail marker
    expect([0, 8, 0xde].map(typeOfFileType)).toEqual([undefined, undefined, undefined]);
  });
});

describe('paths', () => {
  it('split into components: empty and "." parts dropped; "..", absolute, NUL and over-long names refused', () => {
    expect(splitPath('./usr//lib/./x/')).toEqual(['usr', 'lib', 'x']);
    expect(splitPath('')).toEqual([]);
    expect(splitPath('/etc/passwd')).toBe('absolute path');
    expect(splitPath('/etc/passwd', true)).toEqual(['etc', 'passwd']);
    expect(splitPath('a/../b')).toBe("path contains '..'");
    expect(splitPath('a/b\0c')).toBe('name contains a NUL byte');
    expect(splitPath('a/' + 'n'.repeat(255))).toEqual(['a', 'n'.repeat(255)]);
    expect(splitPath('a/' + 'n'.repeat(256))).toBe('name longer than 255 bytes');
    expect(joinPath(['usr', 'lib'])).toBe('usr/lib');
  });
});
