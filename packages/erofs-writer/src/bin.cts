#!/usr/bin/env node
// The mkerofs-ts command. File reads run on libuv's thread pool while the main thread writes;
// more pool threads than cores make them fight the writer (measured: a quarter slower on two
// cores), so the pool is sized to the cores (at most libuv's default, 4) before anything starts
// it. CommonJS on purpose: loading an ES module entry already starts the pool. An explicit
// UV_THREADPOOL_SIZE wins.
const { availableParallelism } = require('node:os') as typeof import('node:os');
process.env.UV_THREADPOOL_SIZE ??= String(Math.min(4, availableParallelism()));
void import('./cli.js');
