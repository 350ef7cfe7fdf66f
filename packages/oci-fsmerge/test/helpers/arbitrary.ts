// Random layer stacks over a small path universe, so that layers collide often: every entry
// kind, whiteouts and opaque markers anywhere, hard links and symlinks in and out of the stack,
// and file data from empty to a few blocks (whole-block sizes too).
import fc from 'fast-check';
import type { Entry } from './model.js';

const pathArb = fc.constantFrom('a', 'b', 'c', 'a/x', 'a/y', 'a/b', 'a/b/z', 'b/x', 'c/d/e');
const metaArb = fc.record({
  mode: fc.constantFrom(0o644, 0o755, 0o4755, 0o700),
  uid: fc.constantFrom(0, 1000),
  mtime: fc.bigInt({ min: 0n, max: 2_000_000_000_000_000_000n }),
});
const dataArb = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('y'.repeat(5000), 'z'.repeat(4096)));

export const entryArb: fc.Arbitrary<Entry> = fc.oneof(
  fc.tuple(pathArb, metaArb, dataArb).map(([path, m, data]) => ({ path, ...m, data })),
  fc.tuple(pathArb, metaArb).map(([path, m]) => ({ path, type: 'dir' as const, ...m })),
  fc.tuple(pathArb, fc.constantFrom('x', '/etc', '../a')).map(([path, target]) => ({ path, type: 'symlink' as const, target })),
  fc.tuple(pathArb, pathArb).map(([path, target]) => ({ path, type: 'hardlink' as const, target })),
  pathArb.map((p) => ({ path: p.includes('/') ? p.replace(/[^/]+$/, (n) => `.wh.${n}`) : `.wh.${p}` })),
  fc.constantFrom('', 'a', 'a/b', 'b', 'c/d').map((d) => ({ path: d ? `${d}/.wh..wh..opq` : '.wh..wh..opq' })),
  pathArb.map((path) => ({ path, type: 'fifo' as const })),
  fc.tuple(metaArb).map(([m]) => ({ path: './', type: 'dir' as const, ...m })),
);

/** One to four layers of up to seven entries each. */
export const layerStackArb: fc.Arbitrary<Entry[][]> = fc.array(fc.array(entryArb, { maxLength: 7 }), { minLength: 1, maxLength: 4 });
