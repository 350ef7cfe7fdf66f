// Shared benchmark plumbing: timing under GNU time, medians, and per-tool sections of
// docs/BENCHMARKS.md (each tool rewrites only its own "## <title>" section).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repo = resolve(import.meta.dirname, '../..');
export const trixie = process.env.TRIXIE_ROOT ?? '/var/cache/fstools/trixie';
/** Benchmark inputs live inside the trixie chroot so its mkfs.erofs 1.8 sees the same files. */
export const benchBase = join(trixie, 'var/tmp/fstools-bench');
const stdlib = '/usr/lib/python3.11';

/** A copy of the Python 3.11 standard library (made once). */
export function stdlibTree() {
  const dir = join(benchBase, 'stdlib');
  if (!existsSync(dir)) cpSync(stdlib, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

/** The large tree: the stdlib copied until it holds ~1 GB in tens of thousands of files (made once). */
export function largeTree() {
  const dir = join(benchBase, 'large');
  if (existsSync(join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 18; i++) cpSync(stdlib, join(dir, `copy${i}`), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(dir, '.complete'), '');
  return dir;
}

/** Regular files under a tree and their total bytes. */
export function countFiles(dir) {
  let n = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile() || e.name === '.complete') continue;
    n++;
    bytes += statSync(join(e.parentPath ?? e.path, e.name)).size;
  }
  return { n, bytes };
}

/** Runs a command under GNU time: wall seconds, CPU seconds and peak RSS (KiB). Throws on failure. */
export function timed(cmd, args, opts = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  const [secs, user, sys, kib] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
  return { secs, cpu: user + sys, kib };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Runs every tool (`{ name, run }`, run() returning its figures) once to warm the page cache, then
 * `runs` rounds in an order that rotates each round, with `prepare()` (remove the last output) and
 * `sync` before every run: no tool pays for another's writeback, and none always follows the same
 * tool (on this VM a run is slower after one that fragmented memory). Each tool's figures by name.
 */
export function rotating(tools, runs, prepare = () => {}) {
  const once = (t) => {
    prepare();
    spawnSync('sync');
    return t.run();
  };
  for (const t of tools) once(t);
  const results = new Map(tools.map((t) => [t.name, []]));
  for (let i = 0; i < runs; i++) {
    for (const t of [...tools.slice(i % tools.length), ...tools.slice(0, i % tools.length)]) results.get(t.name).push(once(t));
  }
  return results;
}

/** Replaces (or appends) the "## title" section of docs/BENCHMARKS.md with `body`. */
export function writeSection(title, body) {
  const file = resolve(repo, 'docs/BENCHMARKS.md');
  const head = '# Benchmarks\n\nMeasured side by side with the peer tool on the same input in the same run, on the project machine (2 cores, noisy: read the ratios, not the seconds). Regenerate with the commands given per section.\n';
  let text = existsSync(file) ? readFileSync(file, 'utf8') : head;
  if (!text.startsWith(head)) text = head + text.replace(/^# Benchmarks\n+/, '\n');
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
