import { build } from 'esbuild';
await build({ entryPoints: ['packages/ext4-writer/dist/cli.js'], outfile: 'packages/ext4-writer/bin/cli.cjs', bundle: true, platform: 'node', target: 'node20', format: 'cjs',
  define: { 'import.meta.url': '__import_meta_url' }, banner: { js: "const __import_meta_url = require('node:url').pathToFileURL(__filename).href;" }, logLevel: 'warning' });
