import { defineConfig } from 'vitest/config';

// The oracles e2fsprogs and erofs-utils install to /usr/sbin, which a normal user's PATH lacks on
// Debian; the checks that need no root (e2fsck -fn on an image file, mke2fs into a file) run for
// them too.
const sbin = ['/usr/local/sbin', '/usr/sbin', '/sbin'];
const PATH = [...new Set([...(process.env.PATH ?? '').split(':').filter(Boolean), ...sbin])].join(':');

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    env: { PATH },
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Two cores: more workers only make the oracle-heavy files fight for them.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: process.env.CI ? ['verbose'] : ['default'],
  },
});
