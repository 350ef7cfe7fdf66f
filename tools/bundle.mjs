#!/usr/bin/env node
// Bundles each command line (and the worker threads of mkerofs-ts and fsmerge) into one file
// under packages/<pkg>/bundle/, from the ES modules `tsc -b` wrote to dist/; the committed
// launcher in packages/<pkg>/bin/ (the package's `bin` entry) runs it. The ES module loader spends
// tens of milliseconds resolving and reading the ~70 modules a command imports (yargs alone is
// 30); one file loads in a fraction of that, on every run and in every worker thread. bundle/
// keeps dist/'s relative layout, so `../package.json` (the version) and the workers
// (`./layer-worker.js`, `./compress-worker.js`) resolve the same way.
// Usage: node tools/bundle.mjs   (run by `npm run build`, `npm test` and `npm run demo` after tsc)
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('..', import.meta.url));

/**
 * Per package: the dist/ modules to bundle (entry points of the bin and of worker threads).
 * `pkg:file` takes another package's module: fsmerge --standalone -z starts erofs-writer's
 * compression workers from its own bundle, where they are looked up beside cli.js.
 */
const entries = {
  'erofs-writer': ['cli.js', 'bin.cjs', 'compress-worker.js'],
  'erofs-reader': ['cli.js'],
  'ext4-writer': ['cli.js'],
  vmdk: ['cli.js'],
  'oci-fsmerge': ['cli.js', 'layer-worker.js', 'erofs-writer:compress-worker.js'],
  boot: ['cli.js'],
};

// yargs' ES module build lays out --help with cliui's ES module build, whose stand-in for
// wrap-ansi cuts lines every N characters, mid-word ("layo" / "ut"). Its CommonJS build wraps at
// word boundaries (wrap-ansi, string-width): bundle that one.
const cliuiCommonJs = {
  name: 'cliui-commonjs',
  setup(b) {
    b.onResolve({ filter: /^cliui$/ }, () => ({ path: join(repo, 'node_modules/cliui/build/index.cjs') }));
  },
};

// Bundled CommonJS dependencies (yargs' helpers, crc-32) call require(); an ES module has none.
const requireShim = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

await Promise.all(
  Object.entries(entries).flatMap(([pkg, files]) =>
    files.map((spec) => {
      const [from, file] = spec.includes(':') ? spec.split(':') : [pkg, spec];
      const esm = file.endsWith('.js');
      return build({
        entryPoints: [join(repo, 'packages', from, 'dist', file)],
        outfile: join(repo, 'packages', pkg, 'bundle', file),
        bundle: true,
        platform: 'node',
        target: `node${process.versions.node.split('.')[0]}`,
        format: esm ? 'esm' : 'cjs',
        // The CommonJS launcher only sets the environment, then imports its neighbour cli.js.
        external: esm ? ['@napi-rs/xattr'] : ['./cli.js'],
        banner: esm ? { js: requireShim } : {},
        plugins: [cliuiCommonJs],
        logLevel: 'warning',
      });
    }),
  ),
);

// Each bin named in a package.json must be a committed launcher that runs a bundle made here.
for (const pkg of Object.keys(entries)) {
  const bin = JSON.parse(readFileSync(join(repo, 'packages', pkg, 'package.json'), 'utf8')).bin;
  for (const [command, target] of Object.entries(bin)) {
    const launcher = readFileSync(join(repo, 'packages', pkg, target), 'utf8');
    const entry = /\.launch\(__dirname, '([^']+)', '([^']+)'\)/.exec(launcher);
    if (entry?.[1] !== command || !entries[pkg].includes(entry[2])) throw new Error(`packages/${pkg}: bin ${target} does not launch ${command} from a bundle this script makes`);
  }
}
