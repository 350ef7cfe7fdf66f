// Shared benchmark plumbing: timing under GNU time, medians, and per-tool sections of
// docs/BENCHMARKS.md (each tool rewrites only its own "## <title>" section).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const repo = resolve(import.meta.dirname, '../..');

/** Runs a command under GNU time: wall seconds, CPU seconds and peak RSS (KiB). Throws on failure. */
export function timed(cmd, args, opts = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  const [secs, user, sys, kib] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { secs, cpu: user + sys, kib };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Replaces (or appends) the "## title" section of docs/BENCHMARKS.md with `body`. */
export function writeSection(title, body) {
  const file = resolve(repo, 'docs/BENCHMARKS.md');
  const head = '# Benchmarks\n\nMeasured side by side with the peer tool on the same input in the same run, on the project machine (2 cores, noisy: read the ratios, not the seconds). Regenerate with the commands given per section.\n';
  const text = existsSync(file) ? readFileSync(file, 'utf8') : head;
  const heading = `## ${title}\n`;
  const start = text.indexOf(heading);
  const section = `${heading}\n${body.trim()}\n`;
  let out;
  if (start < 0) out = `${text.trimEnd()}\n\n${section}`;
  else {
    const next = text.indexOf('\n## ', start + heading.length);
    out = text.slice(0, start) + section + (next < 0 ? '' : text.slice(next));
  }
  writeFileSync(file, out.trimEnd() + '\n');
}
