#!/usr/bin/env node
// @fstools/verity's appendVerityTree against `veritysetup format` (cryptsetup) on a 1 GiB file of
// random bytes (made once from /dev/urandom), the tree appended to the image, same salt and UUID,
// warm page cache. Ours runs on one thread and with its default thread count. First each tool
// runs once untimed and the root hashes must agree; then the tools take turns in rotating order
// (lib.mjs rotating), the file cut back to 1 GiB and `sync` before each run. Median and best wall
// time, median CPU time and peak RSS of RUNS (default 5) runs, printed as a markdown table with
// the ratio of median wall times ours / veritysetup (below 1: ours is faster).
// Usage: node tools/bench/verity.mjs     (after `npx tsc -b`; SIZE_MIB=1024 by default)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, repo, rotating, timed } from './lib.mjs';

const runs = Number(process.env.RUNS ?? 5);
const size = Number(process.env.SIZE_MIB ?? 1024) * 2 ** 20;
const dir = '/tmp/verity-bench';
const source = join(dir, `random-${size / 2 ** 20}M.img`);
const img = join(dir, 'work.img');
const salt = 'a1'.repeat(32);
const uuid = '3f0c9e2a-5b7d-4c1e-9a8f-6d2b4e0c7a15';
const veritysetup = ['/usr/sbin/veritysetup', '/sbin/veritysetup'].find((p) => existsSync(p)) ?? 'veritysetup';

mkdirSync(dir, { recursive: true });
if (!existsSync(source) || statSync(source).size !== size) {
  const r = spawnSync('sh', ['-c', `head -c ${size} /dev/urandom > ${source}.part && mv ${source}.part ${source}`], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`could not make ${source}`);
}
copyFileSync(source, `${img}.part`);
renameSync(`${img}.part`, img);

const peerArgs = ['format', `--salt=${salt}`, `--uuid=${uuid}`, `--hash-offset=${size}`, `--data-blocks=${size / 4096}`, img, img];
// A script file, not `node --input-type=module -e`: worker threads inherit node's flags, and
// --input-type refuses to load their files.
const runner = join(dir, 'append.mjs');
writeFileSync(
  runner,
  `import { appendVerityTree } from ${JSON.stringify(pathToFileURL(join(repo, 'packages/verity/dist/index.js')).href)};
const [img, salt, uuid, threads] = process.argv.slice(2);
console.log((await appendVerityTree(img, { salt, uuid, threads: threads === 'default' ? undefined : Number(threads) })).rootHash);
`,
);
/** node running appendVerityTree on the image, printing the root hash. */
const oursArgs = (threads) => [runner, img, salt, uuid, String(threads ?? 'default')];

const tools = [
  { name: 'veritysetup format', cmd: veritysetup, args: peerArgs, root: (out) => /Root hash:\s+([0-9a-f]+)/.exec(out)?.[1] },
  { name: 'appendVerityTree, 1 thread', cmd: process.execPath, args: oursArgs(1), root: (out) => out.trim() },
  { name: `appendVerityTree, default threads (${Math.min(4, availableParallelism())})`, cmd: process.execPath, args: oursArgs(undefined), root: (out) => out.trim() },
];
const reset = () => truncateSync(img, size);

const roots = tools.map((t) => {
  reset();
  const r = spawnSync(t.cmd, t.args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${t.name} failed: ${r.stderr}`);
  return t.root(r.stdout);
});
if (new Set(roots).size !== 1 || !roots[0]) throw new Error(`root hashes differ: ${roots.join(' ')}`);

const results = rotating(
  tools.map((t) => ({ name: t.name, run: () => timed(t.cmd, t.args) })),
  runs,
  reset,
);
const peer = median(results.get(tools[0].name).map((x) => x.secs));
const rows = tools.map((t) => {
  const r = results.get(t.name);
  const wall = median(r.map((x) => x.secs));
  return `| ${t.name} | ${wall.toFixed(2)} | ${Math.min(...r.map((x) => x.secs)).toFixed(2)} | ${median(r.map((x) => x.cpu)).toFixed(2)} | ${(median(r.map((x) => x.kib)) / 1024).toFixed(0)} | ${(wall / peer).toFixed(2)} |`;
});
console.log(`dm-verity tree over ${size / 2 ** 20} MiB of random data, appended (RUNS=${runs}, warm cache, root hash ${roots[0].slice(0, 16)}…)

| tool | wall s (median) | wall s (best) | CPU s | peak RSS MiB | wall vs veritysetup |
|---|---|---|---|---|---|
${rows.join('\n')}

Measured ${new Date().toISOString().slice(0, 10)} on ${spawnSync('uname', ['-sr'], { encoding: 'utf8' }).stdout.trim()}, Node ${process.version}, ${spawnSync(veritysetup, ['--version'], { encoding: 'utf8' }).stdout.trim()}.`);
