#!/usr/bin/env node
// fsmerge docker://REF (each layer converted as it downloads) against what a user does without
// it: `skopeo copy docker://REF oci:DIR` and then `fsmerge oci:DIR`. The Debian image of
// tools/make-debian-oci.sh (gzip layers) is pushed by skopeo into Debian's docker-registry on
// loopback; cold blob dir, rotating order after a warm-up run each, median of RUNS (default 3);
// plus fsmerge's second pull of the unchanged image (cached layer images). Wall time, CPU (user +
// system, GNU time), peak RSS, and the bytes each way leaves on disk (du: blocks allocated): the
// blob dir and fsmeta for fsmerge docker://; the OCI layout skopeo wrote, the blob dir and fsmeta
// for the two-step way. Writes the "## fsmerge docker://" section of docs/BENCHMARKS.md.
// Usage: node tools/bench/pull.mjs [IMAGE_CACHE_DIR]   (needs docker-registry, skopeo; npm run build)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median, repo, rotating, timed, writeSection } from './lib.mjs';

const src = resolve(process.argv[2] ?? join(process.env.FSTOOLS_CACHE ?? '/var/cache/fstools', 'debian-oci'));
const runs = Number(process.env.RUNS ?? 3);
if (!existsSync(join(src, '.complete'))) throw new Error(`no Debian image at ${src}: run tools/make-debian-oci.sh`);
const work = mkdtempSync(join(tmpdir(), 'pull-bench-'));
const fsmergeBin = join(repo, 'packages/oci-fsmerge/bin/fsmerge.cjs');

const port = await new Promise((done) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => done(p));
  });
});
const host = `127.0.0.1:${port}`;
writeFileSync(join(work, 'config.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(work, 'storage')}\nhttp:\n  addr: ${host}\n`);
const registry = spawn('docker-registry', ['serve', join(work, 'config.yml')], { stdio: 'ignore' });
const ref = `docker://${host}/debian:12`;

/** Bytes allocated on disk under `dir` (du -s -B1: blocks, not apparent sizes). */
function disk(dir) {
  const r = spawnSync('du', ['-s', '-B1', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`du ${dir}: ${r.stderr}`);
  return Number(r.stdout.split('\t')[0]);
}

function fresh(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

try {
  for (let i = 0; spawnSync('skopeo', ['copy', '--quiet', '--insecure-policy', '--dest-tls-verify=false', `oci:${join(src, 'oci-gzip')}`, ref]).status !== 0; i++) {
    if (i === 50) throw new Error('could not push to docker-registry');
    await new Promise((r) => setTimeout(r, 200));
  }
  const results = rotating(
    [
      {
        name: 'fsmerge docker://',
        run: () => {
          const out = fresh(join(work, 'direct'));
          // The blob dir is the default one, beside the output: out/blobs.
          return { ...timed(process.execPath, [fsmergeBin, ref, '--tls-verify=false', '-o', join(out, 'fsmeta.erofs'), '-q']), disk: disk(out) };
        },
      },
      {
        name: 'skopeo copy + fsmerge',
        run: () => {
          const out = fresh(join(work, 'two-step'));
          const a = timed('skopeo', ['copy', '--quiet', '--insecure-policy', '--src-tls-verify=false', ref, `oci:${join(out, 'layout')}:12`]);
          const b = timed(process.execPath, [fsmergeBin, `oci:${join(out, 'layout')}:12`, '-o', join(out, 'fsmeta.erofs'), '-q']);
          return { secs: a.secs + b.secs, cpu: a.cpu + b.cpu, kib: Math.max(a.kib, b.kib), disk: disk(out) };
        },
      },
    ],
    runs,
  );
  // Pulled once more into the last run's blob dir: nothing but the manifest and config is fetched.
  // Its disk figure is what it adds: a second fsmeta (the layer images are the first pull's).
  const again = [];
  for (let i = 0; i < runs; i++) {
    rmSync(join(work, 'direct', 'again.erofs'), { force: true });
    const before = disk(join(work, 'direct'));
    const r = timed(process.execPath, [fsmergeBin, ref, '--tls-verify=false', '-o', join(work, 'direct', 'again.erofs'), '-q']);
    again.push({ ...r, disk: disk(join(work, 'direct')) - before });
  }
  const summary = (xs) => ({ secs: median(xs.map((x) => x.secs)), cpu: median(xs.map((x) => x.cpu)), kib: median(xs.map((x) => x.kib)), disk: median(xs.map((x) => x.disk)) });
  const d = summary(results.get('fsmerge docker://'));
  const t = summary(results.get('skopeo copy + fsmerge'));
  const c = summary(again);
  const skopeo = spawnSync('skopeo', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MiB`;
  const row = (name, r) => `| ${name} | ${r.secs.toFixed(2)} s | ${(r.secs / t.secs).toFixed(2)} | ${r.cpu.toFixed(2)} s | ${(r.kib / 1024).toFixed(0)} MiB | ${mib(r.disk)} |`;
  const section = [
    `\`fsmerge docker://\` against \`skopeo copy docker://REF oci:DIR\` then \`fsmerge oci:DIR\`, on the Debian image of tools/make-debian-oci.sh (3 gzip layers, 243 MiB of blobs) pushed into Debian's docker-registry on loopback; cold blob dir, median of ${runs} runs in rotating order on this 2-core machine, Node ${process.versions.node}, ${skopeo}. \`node tools/bench/pull.mjs\`; ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '| run | wall | ratio (to skopeo copy + fsmerge) | CPU | peak RSS | on disk |',
    '|---|---|---|---|---|---|',
    row('fsmerge docker:// (cold)', d),
    row('skopeo copy + fsmerge oci:DIR', t),
    row('fsmerge docker://, second pull (layer images cached)', c),
    '',
    'Loopback has no latency and ~GB/s of bandwidth, so this measures the work, not the overlap: over a real network, where the download is the long pole, fsmerge converts each layer while it arrives, and the two-step pipeline waits for the whole download and then reads every blob again from disk. The second pull fetches the manifest and the config only.',
    '',
    "The registry client reads bodies with undici's `request` API (Node streams; WHATWG `fetch`'s web streams cost about twice the CPU per blob byte) and lets undici buffer up to 1 MiB of a body, so a consumer slower than loopback takes ~1 MiB chunks instead of 64 KiB ones: 16 times fewer trips down the layer pipeline and through gunzip's thread pool. Measured by hand on this image (3 runs each, quiet machine): with fetch 5.24 s wall, 8.94 s CPU; `request` with 64 KiB chunks 5.11 s, 8.63 s; with 1 MiB chunks 4.35 s, 7.74 s.",
    '',
    "Where the cold pull's time goes (by hand, same image): the download with size and digest checks 0.73 s of CPU (0.68 s wall; the registry process 0.18 s more), gunzip 2.1 s (libuv's thread pool), the diff ID's sha256 0.41 s over 622 MiB; `fsmerge oci:DIR` of the uncompressed layout (tar parse, EROFS write, one sha256) 2.2-2.5 s wall, 2.5-3.7 s CPU. The layers do overlap, but on 2 cores the second lane buys little: `-j 1` 4.0-5.1 s wall and 5.7-7.0 s CPU against `-j 2` 4.1-4.3 s and 6.9-7.4 s. Against `fsmerge oci:DIR` of the same blobs, the pull allocates each blob byte three times (undici's socket reads, the 1 MiB chunk, the copy fstree's decompress makes because a source may reuse its buffer, which a registry stream never does): about 0.4 s more garbage collection in the CPU profile.",
    '',
  ].join('\n');
  writeSection('fsmerge docker://', section);
  console.log(section);
} finally {
  registry.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
