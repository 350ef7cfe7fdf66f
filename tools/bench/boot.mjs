#!/usr/bin/env node
// Guest read benchmark: the read workloads sandbox benchmarks use, run inside one guest on the
// same tree as our fsmeta disk (fsmerge: fsmeta + layer image, VMDK), as a mkfs.erofs image and
// as a squashfs image, interleaved in the same boot. Writes the "boot" section of
// docs/BENCHMARKS.md. Needs `npm run build`, the guest kit (tools/fetch-guest-kernel.sh),
// qemu-system-x86_64, mkfs.erofs and mksquashfs.
//
// Usage: node tools/bench/boot.mjs [--rounds N (7)] [--accel auto|kvm|tcg] [--python DIR] [--no-write]
import { spawnSync } from 'node:child_process';
import { cpSync, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { treeFromDirectory, treeToTar } from '@fstools/fstree';
import { fsmerge } from '@fstools/oci-fsmerge';
import { Guest } from '@fstools/boot';
import { median, writeSection } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? dflt : args[i + 1];
};
const rounds = Number(opt('rounds', '7'));
const accel = opt('accel', 'auto');
const python = opt('python', '/usr/lib/python3.11');
const write = !args.includes('--no-write');

const RANDOM_READS = 400;
const DEEP_LEVELS = 64;

const work = mkdtempSync(join(tmpdir(), 'bench-boot-'));
try {
  // 1. One host tree: the Python stdlib and a deep directory chain.
  const stage = join(work, 'tree');
  cpSync(python, join(stage, 'python'), { recursive: true, verbatimSymlinks: true });
  let dir = join(stage, 'deep');
  for (let level = 0; level < DEEP_LEVELS; level++) {
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 10; f++) writeFileSync(join(dir, `file-${f}.txt`), `level ${level} file ${f}\n`);
    for (const leaf of ['leaf-a', 'leaf-b', 'leaf-c']) {
      mkdirSync(join(dir, leaf));
      for (let f = 0; f < 10; f++) writeFileSync(join(dir, leaf, `f${f}`), `${leaf} ${f}\n`);
    }
    dir = join(dir, `level-${level + 1}`);
  }
  mkdirSync(dir);
  const tree = treeFromDirectory(stage);
  const entries = [...tree.walk()].length;

  // 2. The same tree three ways.
  const images = join(work, 'images');
  mkdirSync(images);
  const tar = join(work, 'layer.tar');
  await pipeline(Readable.from(treeToTar(tree)), createWriteStream(tar));
  const merged = await fsmerge({ layers: [tar] }, { output: join(images, 'fsmeta.erofs'), vmdk: join(images, 'disk.vmdk') });
  const run = (cmd, a) => {
    const r = spawnSync(cmd, a, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
    return r.stdout;
  };
  // mkfs.erofs prints its version ("mkfs.erofs 1.5") as the first line of a normal run.
  const mkfsVersion = run('mkfs.erofs', [join(images, 'mkfs.erofs'), stage]).split('\n')[0].trim();
  run('mksquashfs', [stage, join(images, 'image.squashfs'), '-noappend', '-quiet', '-no-progress']);
  const squashVersion = run('mksquashfs', ['-version']).split('\n')[0].trim();
  const sizeMiB = (f) => (statSync(f).size / 1048576).toFixed(1);
  const fsmetaBytes = merged.devices.reduce((n, f) => n + statSync(f).size, 0);

  // 3. Random reads: 4 KiB blocks of stdlib files, fixed seed.
  let seed = 0x2545f491;
  const rand = (n) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const candidates = [...tree.walk()].filter((e) => e.inode.type === 'file' && e.inode.size >= 8192 && e.path.startsWith('python/'));
  const reads = Array.from({ length: RANDOM_READS }, () => {
    const c = candidates[rand(candidates.length)];
    return `${c.path} ${rand(Math.floor(c.inode.size / 4096))}`;
  });

  const filesystems = [
    ['fsmeta', 'bench-fsmeta', 'erofs'],
    ['mkfs.erofs', 'bench-mkfs', 'erofs'],
    ['squashfs', 'bench-squash', 'squashfs'],
  ];
  const workloads = {
    'stat every file (Python stdlib)': 'find "$D/python" | xargs busybox stat -c %s > /dev/null',
    'read every .py': 'find "$D/python" -name "*.py" | xargs busybox cat > /dev/null',
    [`random 4 KiB reads (${RANDOM_READS})`]: 'while read -r f b; do dd if="$D/$f" of=/dev/null bs=4096 skip=$b count=1 2>/dev/null; done < /tmp/reads',
    [`deep tree walk (${DEEP_LEVELS} levels)`]: 'find "$D/deep" > /dev/null',
  };
  const job = [
    `cat > /tmp/reads <<'READS'\n${reads.join('\n')}\nREADS`,
    'now() { read -r up _ < /proc/uptime; echo "${up%.*}${up#*.}0"; }',
    ...filesystems.map(([name, serial, type]) => `mkdir -p /b/${name} && mount -t ${type} -o ro "$(disk ${serial} wait)" /b/${name} || die "bench-mount cannot mount ${name}"`),
    `for round in $(seq ${rounds}); do`,
    ...filesystems.flatMap(([name]) =>
      Object.entries(workloads).map(
        ([label, cmd], i) => `  D=/b/${name}; sync; echo 3 > /proc/sys/vm/drop_caches; t0=$(now); ${cmd}; t1=$(now); echo "${name}|${i}|$round|$((t1 - t0))" >> /out/bench.txt`,
      ),
    ),
    `  sync; echo 3 > /proc/sys/vm/drop_caches; t0=$(now); while read -r f b; do dd if=/dev/zero of=/dev/null bs=4096 count=1 2>/dev/null; done < /tmp/reads; t1=$(now); echo "loop|2|$round|$((t1 - t0))" >> /out/bench.txt`,
    'done',
    ...filesystems.map(([name]) => `umount /b/${name}`),
  ].join('\n');

  // 4. One guest, all three images attached.
  const guest = await Guest.create({ accel, extraModules: ['squashfs'], memoryMiB: 1024 });
  const disks = [
    { file: merged.vmdk, format: 'vmdk', readonly: true, serial: 'bench-fsmeta' },
    { file: join(images, 'mkfs.erofs'), format: 'raw', readonly: true, serial: 'bench-mkfs' },
    { file: join(images, 'image.squashfs'), format: 'raw', readonly: true, serial: 'bench-squash' },
  ];
  const boot = await guest.boot({ job, disks });
  const results = new Map();
  for (const line of boot.outputs.get('bench.txt').toString().trim().split('\n')) {
    const [fs, w, , ms] = line.split('|');
    const key = `${fs}|${w}`;
    results.set(key, [...(results.get(key) ?? []), Number(ms)]);
  }
  const med = (fs, w) => median(results.get(`${fs}|${w}`));

  // 5. Report.
  const labels = Object.keys(workloads);
  const rows = labels.map((label, w) => {
    const base = med('fsmeta', w);
    const cells = filesystems.map(([fs]) => {
      const v = med(fs, w);
      return fs === 'fsmeta' ? `${v} ms` : `${v} ms (${(v / base).toFixed(2)}x)`;
    });
    return `| ${label} | ${cells.join(' | ')} |`;
  });
  const body = `
Reads inside a guest (\`node tools/bench/boot.mjs --rounds ${rounds}\`): the same tree (the Python
stdlib from \`${python}\` plus a ${DEEP_LEVELS}-level directory chain, ${entries} entries) as our
fsmeta disk (fsmerge: fsmeta + one layer image joined by a VMDK, mounted flat), as a
\`mkfs.erofs\` image (${mkfsVersion}, uncompressed) and as a squashfs image (${squashVersion},
default gzip, 128 KiB blocks), all three attached to one ${boot.accel.toUpperCase()} guest (Debian
trixie 6.12 kernel) and measured interleaved, page cache dropped before every run, timed in the
guest from /proc/uptime (10 ms steps). Median of ${rounds} rounds; the ratio is against our
fsmeta disk (above 1 = slower than ours).

**${boot.accel === 'tcg' ? 'TCG' : 'KVM'} timings are only relative**${boot.accel === 'tcg' ? ': under TCG every guest instruction is emulated, so absolute times are many times a real VM\'s and CPU-heavy work (decompression) is penalised more than I/O' : ''}. Random reads
run one \`dd\` per read; the same loop reading /dev/zero takes ${med('loop', 2)} ms, a fixed cost
included in every random-read figure.

| workload | fsmeta disk (ours) | mkfs.erofs | squashfs |
|---|---|---|---|
${rows.join('\n')}

Image sizes: fsmeta disk ${(fsmetaBytes / 1048576).toFixed(1)} MiB (fsmeta ${sizeMiB(merged.fsmeta.path)} MiB + layer),
mkfs.erofs ${sizeMiB(join(images, 'mkfs.erofs'))} MiB, squashfs ${sizeMiB(join(images, 'image.squashfs'))} MiB. The guest
was ready ${(boot.bootMs / 1000).toFixed(1)} s after qemu started; the whole run took ${(boot.totalMs / 1000).toFixed(0)} s.
`;
  process.stdout.write(body);
  if (write) writeSection('boot', body);
} finally {
  rmSync(work, { recursive: true, force: true });
}
