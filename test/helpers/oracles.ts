import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** In CI every oracle must run: a missing one fails the run instead of skipping. */
export const inCI = process.env.CI === 'true';

const warned = new Set<string>();

/**
 * Whether an oracle is usable. Outside CI a missing oracle skips its tests with a message;
 * under CI=true it throws, so the test file fails.
 */
export function oracle(name: string, available: boolean, why: string): boolean {
  if (available) return true;
  const msg = `oracle ${name} unavailable: ${why}`;
  if (inCI) throw new Error(`${msg} (CI=true: oracles must run)`);
  if (!warned.has(name)) {
    warned.add(name);
    console.warn(`SKIP ${msg}`);
  }
  return false;
}

export const isRoot = process.getuid?.() === 0;

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

export const trixieRoot = process.env.TRIXIE_ROOT ?? '/var/cache/fstools/trixie';
export const hasTrixie = existsSync(`${trixieRoot}/usr/bin/fsck.erofs`);
