import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

// --help is read by people: lines wrap at word boundaries. (The bundles once took yargs' ES module
// layout, whose wrapper cut every N characters: "layo" / "ut".) Each phrase below is long enough
// to cross a wrap point; it must read intact once line breaks and indentation are spaces again.
const phrases = {
  fsmerge: [
    'pulled from the registry, each layer converted as it downloads',
    'also keep what was pulled as an OCI layout in this directory (blobs there are not fetched again)',
    'layer image cache, content-addressed by diff ID (default: blobs/ beside the output)',
  ],
  'mkerofs-ts': [
    'Make an EROFS image from a directory, or with --tar from a tar file or - (stdin; gzip and zstd detected).',
    'chunk-based files with this chunk size (power of two >= block size, K/M/G suffixes); zero chunks become holes',
  ],
  'mkext4-ts': ['Make an ext4 filesystem image in the file IMAGE as mke2fs would, with its options where they exist.'],
  'erofs-ts': ['file holding an extra device (blob), in device-table order; repeatable', "print fstree's canonical manifest of the image"],
  'vmdk-ts': ['VMDK descriptors that join existing files into one disk without copying'],
  'boot-ts': ['boot a real guest kernel on the images and prove the sandbox root mounts, reads right and keeps its writes'],
} as const;

describe('--help', () => {
  for (const [name, texts] of Object.entries(phrases)) {
    it(`${name}: wraps at word boundaries`, () => {
      const r = cli(name as keyof typeof phrases, ['--help']);
      expect(r.status).toBe(0);
      const flat = r.stdout.replace(/\s+/g, ' ');
      for (const text of texts) expect(flat).toContain(text);
    });
  }
});
