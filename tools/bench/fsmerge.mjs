#!/usr/bin/env node
// fsmerge against the erofs-utils 1.8 pipeline containerd's EROFS differ and snapshotter use:
// per layer `mkfs.erofs --tar=f --aufs -Enoinline_data Ln.erofs`, then
// `mkfs.erofs --aufs --ovlfs-strip=1 fsmeta.erofs L0.erofs ...`, on the Debian image from
// tools/make-debian-oci.sh, gzip and uncompressed layers. Cold runs (empty blob dir), the two
// pipelines in rotating order after a warm-up run each (lib.mjs rotating), median of RUNS (default 3). Wall time and peak RSS (GNU time).
// Writes the "## fsmerge" section of docs/BENCHMARKS.md.
// Usage: node tools/bench/fsmerge.mjs [IMAGE_CACHE_DIR]   (needs root, the trixie chroot, tsc -b)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { median, repo, rotating, timed, trixie, writeSection } from './lib.mjs';

const src = resolve(process.argv[2] ?? join(process.env.FSTOOLS_CACHE ?? '/var/cache/fstools', 'debian-oci'));
const runs = Number(process.env.RUNS ?? 3);
if (!existsSync(join(src, '.complete'))) throw new Error(`no Debian image at ${src}: run tools/make-debian-oci.sh`);
const work = join(trixie, 'tmp', `fsmerge-bench-${process.pid}`);
mkdirSync(work, { recursive: true });
const inChroot = (p) => '/' + p.slice(trixie.length + 1);

function layerBlobs(layout) {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const m = JSON.parse(readFileSync(join(layout, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  return m.layers.map((l) => ({ path: join(layout, 'blobs/sha256', l.digest.slice(7)), gzip: l.mediaType.endsWith('gzip') }));
}

function erofsUtils(layout) {
  const out = join(work, 'eu');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out);
  let secs = 0;
  let cpu = 0;
  let kib = 0;
  const images = [];
  // The layer blobs are made visible inside the chroot by hard links (same filesystem) or copies.
  for (const [i, l] of layerBlobs(layout).entries()) {
    const blob = join(out, `L${i}.blob`);
    spawnSync('cp', ['--reflink=auto', l.path, blob]);
    const img = join(out, `L${i}.erofs`);
    const t = timed('chroot', [trixie, 'mkfs.erofs', '--quiet', '--tar=f', '--aufs', '-Enoinline_data', ...(l.gzip ? ['--ungzip'] : []), inChroot(img), inChroot(blob)]);
    secs += t.secs;
    cpu += t.cpu;
    kib = Math.max(kib, t.kib);
    images.push(inChroot(img));
  }
  const t = timed('chroot', [trixie, 'mkfs.erofs', '--quiet', '--aufs', '--ovlfs-strip=1', inChroot(join(out, 'fsmeta.erofs')), ...images]);
  secs += t.secs;
  cpu += t.cpu;
  kib = Math.max(kib, t.kib);
  const bytes = statSync(join(out, 'fsmeta.erofs')).size;
  rmSync(out, { recursive: true, force: true });
  // What the pipeline leaves out and fsmerge does: checking each blob's sha256, as containerd's
  // content store does on ingest (OpenSSL, SHA-NI where the CPU has it). The compressed blobs
  // only: the diff IDs of gzip layers would cost a decompression more.
  const check = timed('openssl', ['dgst', '-sha256', ...layerBlobs(layout).map((l) => l.path)]);
  return { secs, cpu, kib, fsmetaBytes: bytes, checkSecs: check.secs, checkCpu: check.cpu };
}

function fsmerge(layout) {
  const out = join(work, 'fm');
  rmSync(out, { recursive: true, force: true });
  const t = timed(process.execPath, [join(repo, 'packages/oci-fsmerge/bin/fsmerge.cjs'), layout, '-o', join(out, 'fsmeta.erofs'), '-q']);
  const bytes = statSync(join(out, 'fsmeta.erofs')).size;
  rmSync(out, { recursive: true, force: true });
  return { ...t, fsmetaBytes: bytes };
}

const rows = [];
try {
  for (const [name, layout] of [['gzip', join(src, 'oci-gzip')], ['uncompressed', join(src, 'oci-plain')]]) {
    const results = rotating(
      [
        { name: 'fsmerge', run: () => fsmerge(layout) },
        { name: 'erofs-utils', run: () => erofsUtils(layout) },
      ],
      runs,
    );
    const a = results.get('fsmerge');
    const b = results.get('erofs-utils');
    const fm = { secs: median(a.map((x) => x.secs)), cpu: median(a.map((x) => x.cpu)), kib: median(a.map((x) => x.kib)), bytes: a[0].fsmetaBytes };
    const eu = { secs: median(b.map((x) => x.secs)), cpu: median(b.map((x) => x.cpu)), checkCpu: median(b.map((x) => x.checkCpu)), kib: median(b.map((x) => x.kib)), bytes: b[0].fsmetaBytes, checked: median(b.map((x) => x.secs + x.checkSecs)) };
    rows.push({ name, fm, eu });
    console.log(`${name}: fsmerge ${fm.secs.toFixed(2)}s (CPU ${fm.cpu.toFixed(2)}s) ${fm.kib} KiB, erofs-utils ${eu.secs.toFixed(2)}s (CPU ${eu.cpu.toFixed(2)}s) ${eu.kib} KiB`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const size = readdirSync(src)
  .filter((f) => /^L\d\.tar$/.test(f))
  .reduce((n, f) => n + statSync(join(src, f)).size, 0);
const mib = (k) => (k / 1024).toFixed(0);
const section = [
  `fsmerge (two layers at once: the main thread and one worker thread) against the erofs-utils 1.8 pipeline containerd uses, on the Debian image of tools/make-debian-oci.sh (3 layers, ${(size / 2 ** 20).toFixed(0)} MiB of uncompressed tar), cold blob dir, median of ${runs} runs in rotating order (\`sync\` before each) on this 2-core machine. \`node tools/bench/fsmerge.mjs\`; ${new Date().toISOString().slice(0, 10)}.`,
  '',
  '| layers | fsmerge wall | erofs-utils wall | ratio (erofs-utils / fsmerge) | fsmerge CPU | erofs-utils CPU | fsmerge peak RSS | erofs-utils peak RSS | fsmeta bytes (fsmerge / erofs-utils) | erofs-utils + blob sha256 check | ratio (that / fsmerge) | CPU of the check |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.name} | ${r.fm.secs.toFixed(2)} s | ${r.eu.secs.toFixed(2)} s | ${(r.eu.secs / r.fm.secs).toFixed(2)} | ${r.fm.cpu.toFixed(2)} s | ${r.eu.cpu.toFixed(2)} s | ${mib(r.fm.kib)} MiB | ${mib(r.eu.kib)} MiB | ${r.fm.bytes} / ${r.eu.bytes} | ${r.eu.checked.toFixed(2)} s | ${(r.eu.checked / r.fm.secs).toFixed(2)} | ${r.eu.checkCpu.toFixed(2)} s |`),
  '',
  'erofs-utils: per layer `mkfs.erofs --tar=f --aufs -Enoinline_data [--ungzip]`, one after another, then `mkfs.erofs --aufs --ovlfs-strip=1 fsmeta.erofs L0.erofs ...`; its time is the sum and its RSS the largest of those processes. fsmerge: `fsmerge IMAGE -o fsmeta.erofs` (verifies every digest, converts layers in parallel, merges, writes fsmeta).',
  '',
  'The last three columns are for information, not the target: erofs-utils verifies nothing, while containerd checks every blob\'s sha256 as it enters its content store. They add `openssl dgst -sha256` over the layer blobs (SHA-NI) to the erofs-utils time. For gzip layers that leaves out the diff IDs, which fsmerge also checks. mkfs.erofs also hands part of its data copying to the kernel (copy_file_range); Node can copy a byte range only through user space, so fsmerge\'s uncompressed run moves every byte through JavaScript buffers, and hashes it.',
  '',
  'The CPU columns (user + system, all threads) explain the uncompressed row: erofs-utils spends nearly all of its time in the kernel copying file data, while fsmerge also hashes every byte (SHA-NI) and runs JavaScript that V8 compiles while it runs (in a run this short, its optimizing compiler takes about a fifth of the CPU time, in each of the two threads\' isolates). With both cores busy, fsmerge\'s wall time is a little over half its CPU time.',
  '',
].join('\n');
writeSection('fsmerge', section);
console.log('wrote docs/BENCHMARKS.md');
