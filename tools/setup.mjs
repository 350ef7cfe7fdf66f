#!/usr/bin/env node
// Installs the pinned dependencies (npm ci) when a fresh clone has none yet, so each quick-start
// command works on its own. Does nothing once node_modules matches package-lock.json.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
if (!existsSync(resolve(repo, 'node_modules/.package-lock.json'))) {
  console.error('installing dependencies (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: repo, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
