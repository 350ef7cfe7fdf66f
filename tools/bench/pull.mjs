#!/usr/bin/env node
// fsmerge docker://REF (each layer converted as it downloads) against what a user does without
// it: `skopeo copy docker://REF oci:DIR` and then `fsmerge oci:DIR`. The Debian image of
// tools/make-debian-oci.sh (gzip layers) is pushed by skopeo into Debian's docker-registry on
// loopback; cold blob dir, rotating order after a warm-up run each, median of RUNS (default 3);
// plus fsmerge's second pull of the unchanged image (cached layer images). Wall time, CPU and
// peak RSS (GNU time). Writes the "## fsmerge docker://" section of docs/BENCHMARKS.md.
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
        run: () => timed(process.execPath, [fsmergeBin, ref, '--tls-verify=false', '-o', join(fresh(join(work, 'direct')), 'fsmeta.erofs'), '-q']),
      },
      {
        name: 'skopeo copy + fsmerge',
        run: () => {
          const out = fresh(join(work, 'two-step'));
          const a = timed('skopeo', ['copy', '--quiet', '--insecure-policy', '--src-tls-verify=false', ref, `oci:${join(out, 'layout')}:12`]);
          const b = timed(process.execPath, [fsmergeBin, `oci:${join(out, 'layout')}:12`, '-o', join(out, 'fsmeta.erofs'), '-q']);
          return { secs: a.secs + b.secs, cpu: a.cpu + b.cpu, kib: Math.max(a.kib, b.kib) };
        },
      },
    ],
    runs,
  );
  // Pulled once more into the last run's blob dir: nothing but the manifest and config is fetched.
  const again = [];
  for (let i = 0; i < runs; i++) again.push(timed(process.execPath, [fsmergeBin, ref, '--tls-verify=false', '-o', join(work, 'direct', 'again.erofs'), '-q']));
  const sum = (name) => {
    const xs = results.get(name);
    return { secs: median(xs.map((x) => x.secs)), cpu: median(xs.map((x) => x.cpu)), kib: median(xs.map((x) => x.kib)) };
  };
  const d = sum('fsmerge docker://');
  const t = sum('skopeo copy + fsmerge');
  const c = { secs: median(again.map((x) => x.secs)), cpu: median(again.map((x) => x.cpu)), kib: median(again.map((x) => x.kib)) };
  const skopeo = spawnSync('skopeo', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const row = (name, r) => `| ${name} | ${r.secs.toFixed(2)} s | ${(r.secs / t.secs).toFixed(2)} | ${r.cpu.toFixed(2)} s | ${(r.kib / 1024).toFixed(0)} MiB |`;
  const section = [
    `\`fsmerge docker://\` against \`skopeo copy docker://REF oci:DIR\` then \`fsmerge oci:DIR\`, on the Debian image of tools/make-debian-oci.sh (3 gzip layers, 243 MiB of blobs) pushed into Debian's docker-registry on loopback; cold blob dir, median of ${runs} runs in rotating order on this 2-core machine, Node ${process.versions.node}, ${skopeo}. \`node tools/bench/pull.mjs\`; ${new Date().toISOString().slice(0, 10)}.`,
    '',
    '| run | wall | ratio (to skopeo copy + fsmerge) | CPU | peak RSS |',
    '|---|---|---|---|---|',
    row('fsmerge docker:// (cold)', d),
    row('skopeo copy + fsmerge oci:DIR', t),
    row('fsmerge docker://, second pull (layer images cached)', c),
    '',
    'Loopback has no latency and ~GB/s of bandwidth, so this measures the work, not the overlap: over a real network, where the download is the long pole, fsmerge converts each layer while it arrives, and the two-step pipeline waits for the whole download and then reads every blob again from disk. The second pull fetches the manifest and the config only.',
    '',
    "Where the cold pull's extra CPU goes: the registry client reads bodies through undici's WHATWG `fetch` (web streams). On one 130 MB blob from this registry, fetch plus sha256 costs 0.95 s of CPU (0.68 s wall, warm), where undici's `request` API with the same hash costs 0.38 s (0.32 s wall): about 1.1 s of the 2.2 s CPU difference on this image. A `Transport` on `undici.request` (and hashing off the main thread) is the next step for this row; measured once by hand, not yet done.",
    '',
  ].join('\n');
  writeSection('fsmerge docker://', section);
  console.log(section);
} finally {
  registry.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}
