'use strict';
// Starts a command from its launcher in packages/<pkg>/bin/. The launchers are committed so that
// npm links every command at install time (npm skips a bin whose file does not exist yet, and
// `npx NAME` then asks the registry); the command itself is the bundle `npm run build` makes in
// bundle/ beside bin/. CommonJS: it runs before anything starts libuv's thread pool, so a bundle
// entry may still size it (mkerofs-ts does).
const { existsSync } = require('node:fs');
const { enableCompileCache } = require('node:module');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

/** Runs bundle/<entry> for `command`, whose launcher lives in `binDir`. */
exports.launch = function launch(binDir, command, entry) {
  const bundle = join(binDir, '..', 'bundle', entry);
  if (!existsSync(bundle)) {
    process.stderr.write(`${command}: not built yet (${bundle} is missing): run \`npm run build\` at the repository root\n`);
    process.exit(1);
  }
  // Bytecode of the bundle is kept between runs (NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE
  // steer it): start-up then skips parsing and compiling most of it.
  enableCompileCache?.();
  if (entry.endsWith('.cjs')) require(bundle);
  else import(pathToFileURL(bundle).href);
};
