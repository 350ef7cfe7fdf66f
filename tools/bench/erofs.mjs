#!/usr/bin/env node
// mkerofs-ts against mkfs.erofs 1.5 (Debian bookworm) and 1.8 (trixie chroot), uncompressed, on
// the Python standard library and on a large tree (tens of thousands of files, ~1 GB). The tools
// alternate within each round; warm page cache; median of RUNS (default 5) wall times, CPU time
// and peak RSS. Writes the "EROFS: mkerofs-ts" section of docs/BENCHMARKS.md.
// Usage: node tools/bench/erofs.mjs        (needs root for the chroot; run `npm run build` first)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { median, repo, timed, writeSection } from './lib.mjs';

const trixie = process.env.TRIXIE_ROOT ?? '/var/cache/fstools/trixie';
const runs = Number(process.env.RUNS ?? 5);
const base = join(trixie, 'var/tmp/fstools-bench');
const inChroot = (p) => '/' + p.slice(trixie.length + 1);
const stdlib = '/usr/lib/python3.11';

/** The large tree: the stdlib copied until it holds ~1 GB in tens of thousands of files (made once). */
function largeTree() {
  const dir = join(base, 'large');
  if (existsSync(join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < 18; i++) cpSync(stdlib, join(dir, `copy${i}`), { recursive: true, verbatimSymlinks: true });
  spawnSync('touch', [join(dir, '.complete')]);
  return dir;
}

function countFiles(dir) {
  let n = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) {
      n++;
      bytes += statSync(join(e.parentPath ?? e.path, e.name)).size;
    }
  }
  return { n, bytes };
}

const tools = [
  { name: 'mkerofs-ts', run: (img, src) => timed(process.execPath, [join(repo, 'packages/erofs-writer/dist/bin.cjs'), '-q', img, src]) },
  { name: 'mkfs.erofs 1.5', run: (img, src) => timed('mkfs.erofs', ['--quiet', img, src]) },
  { name: 'mkfs.erofs 1.8', run: (img, src) => timed('chroot', [trixie, 'mkfs.erofs', '--quiet', inChroot(img), inChroot(src)]) },
];

mkdirSync(base, { recursive: true });
const inputs = [];
const stdlibCopy = join(base, 'stdlib');
if (!existsSync(stdlibCopy)) cpSync(stdlib, stdlibCopy, { recursive: true, verbatimSymlinks: true });
inputs.push({ label: 'Python 3.11 stdlib', dir: stdlibCopy }, { label: 'large tree (18 × stdlib)', dir: largeTree() });

const rows = [];
for (const input of inputs) {
  const { n, bytes } = countFiles(input.dir);
  const results = new Map(tools.map((t) => [t.name, []]));
  const img = join(base, 'out.erofs');
  for (const t of tools) t.run(img, input.dir); // warm the page cache
  for (let i = 0; i < runs; i++) {
    for (const t of tools) {
      rmSync(img, { force: true });
      results.get(t.name).push({ ...t.run(img, input.dir), size: statSync(img).size });
    }
  }
  const ours = results.get('mkerofs-ts');
  for (const t of tools) {
    const r = results.get(t.name);
    const wall = median(r.map((x) => x.secs));
    rows.push(
      `| ${input.label}: ${n} files, ${(bytes / 2 ** 20).toFixed(0)} MiB | ${t.name} | ${wall.toFixed(2)} | ${median(r.map((x) => x.cpu)).toFixed(2)} | ${(median(r.map((x) => x.kib)) / 1024).toFixed(0)} | ${(r[0].size / 2 ** 20).toFixed(1)} | ${(wall / median(ours.map((x) => x.secs))).toFixed(2)} |`,
    );
  }
  rmSync(img, { force: true });
}

writeSection(
  'EROFS: mkerofs-ts',
  `\`node tools/bench/erofs.mjs\` (RUNS=${runs}, warm cache, uncompressed, 4 KiB blocks, tools alternating). Ratio = that tool's median wall time / mkerofs-ts's (above 1: mkerofs-ts is faster).

| input | tool | wall s (median) | CPU s | peak RSS MiB | image MiB | wall vs mkerofs-ts |
|---|---|---|---|---|---|---|
${rows.join('\n')}

Measured ${new Date().toISOString().slice(0, 10)} on ${spawnSync('uname', ['-sr'], { encoding: 'utf8' }).stdout.trim()}, Node ${process.version}.`,
);
console.log(rows.join('\n'));
