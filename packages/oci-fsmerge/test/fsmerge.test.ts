import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ErofsImage } from '@fstools/erofs-reader';
import { diffManifests, FsTree, manifest } from '@fstools/fstree';
import { DEFAULT_LIMITS, ensureLayerBlob, fsmerge, layerImageTree, resolveImage } from '@fstools/oci-fsmerge';
import type { FsmergeOptions } from '@fstools/oci-fsmerge';
import { canFsck18, fsck18, scratchDir } from '../../../test/helpers/erofs-oracles.js';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';
// @ts-expect-error: plain JS tool
import { buildImage, layerTar } from '../../../tools/oci-fixture.mjs';
import { fsckMerged } from './helpers/judge.js';
import type { Entry } from './helpers/model.js';
import { modelMerge } from './helpers/model.js';
import { repoRoot } from './helpers/shared.js';
import { cliOnTerminal, interruptCli, zeroFileTar } from '../../../test/helpers/cli.js';

const dir = scratchDir('fsmerge-e2e');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string): string => join(dir, `${name}-${n++}`);
const cli = resolve(repoRoot, 'packages/oci-fsmerge/bin/fsmerge.cjs');
const hasZstd = oracle('zstd', hasCommand('zstd'), 'apt-get install zstd');

const base: Entry[][] = [
  [{ path: 'etc/os-release', data: 'ID=test\n' }, { path: 'bin/sh', data: 'sh', mode: 0o755 }, { path: 'tmp', type: 'dir', mode: 0o1777 }],
  [{ path: 'etc/.wh.os-release' }, { path: 'etc/hostname', data: 'box\n' }],
];
const spec = (compression: string) => base.map((entries) => ({ entries, compression }));

/** The merged tree fsmeta holds, read back with our reader through the layer images, after fsck.erofs 1.5 passed it. */
function readBack(fsmeta: string, devices: string[]) {
  fsckMerged(fsmeta, devices);
  const img = ErofsImage.open(fsmeta, { devices });
  try {
    return manifest(img.toTree());
  } finally {
    img.close();
  }
}

async function run(image: string, opts: Partial<FsmergeOptions> = {}) {
  const out = fresh('out');
  const r = await fsmerge({ image }, { output: join(out, 'fsmeta.erofs'), ...opts });
  return { r, out };
}

describe('image containers', () => {
  for (const format of ['oci', 'oci-archive', 'docker', 'docker25']) {
    for (const compression of ['none', 'gzip', 'zstd']) {
      it(`${format}, ${compression} layers`, async () => {
        if (compression === 'zstd' && !hasZstd) return;
        const image = fresh(format);
        await buildImage([{ ref: 'test:1', layers: spec(compression) }], image, format);
        const { r } = await run(image);
        expect(diffManifests(manifest(modelMerge(base)), readBack(r.fsmeta.path, r.devices.slice(1)))).toEqual([]);
        expect(r.layers.map((l) => l.diffId)).toEqual(base.map((l) => `sha256:${createHash('sha256').update(layerTar(l)).digest('hex')}`));
      });
    }
  }

  it('--platform and --ref choose from (nested) indexes; attestation manifests are ignored', async () => {
    const image = fresh('multi');
    await buildImage(
      [
        { ref: 'app:1', platform: 'linux/amd64', layers: [{ entries: [{ path: 'amd64', data: '' }] }] },
        { ref: 'app:1', platform: 'linux/arm64/v8', layers: [{ entries: [{ path: 'arm64', data: '' }] }] },
        { ref: 'app:1', platform: 'unknown/unknown', layers: [{ entries: [{ path: 'attestation', data: '' }] }] },
      ],
      image,
      'oci',
      { nestedIndex: true, nestedRef: 'docker.io/library/app:1' },
    );
    const arm = await run(image, { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
    expect(readBack(arm.r.fsmeta.path, arm.r.devices.slice(1)).map((e) => e.path)).toEqual(['.', 'arm64']);
    const amd = await run(image, { platform: { os: 'linux', architecture: 'amd64' }, ref: 'app:1' });
    expect(readBack(amd.r.fsmeta.path, amd.r.devices.slice(1)).map((e) => e.path)).toEqual(['.', 'amd64']);
    await expect(run(image, { platform: { os: 'linux', architecture: 's390x' } })).rejects.toThrow(/no image for platform linux\/s390x/);
  });

  it('--layer tars in stack order, and rebuild from the layer images', async () => {
    const tars = base.map((entries, i) => {
      const p = fresh(`l${i}.tar`);
      writeFileSync(p, i === 1 ? gzipSync(layerTar(entries)) : layerTar(entries));
      return p;
    });
    const out = fresh('layers');
    const r = await fsmerge({ layers: tars }, { output: join(out, 'fsmeta.erofs') });
    const want = manifest(modelMerge(base));
    expect(diffManifests(want, readBack(r.fsmeta.path, r.devices.slice(1)))).toEqual([]);
    const re = await fsmerge({ layers: r.layers.map((l) => l.path) }, { output: join(out, 'rebuilt.erofs') });
    expect(re.mode).toBe('rebuild');
    expect(re.layers.map((l) => l.diffId)).toEqual(r.layers.map((l) => l.diffId));
    expect(readFileSync(re.fsmeta.path).equals(readFileSync(r.fsmeta.path))).toBe(true);
  });

  it('--standalone holds all data in one image and keeps no blobs', async () => {
    const image = fresh('sa');
    await buildImage([{ layers: spec('gzip') }], image, 'oci');
    const out = fresh('sa-out');
    const r = await fsmerge({ image }, { output: join(out, 'all.erofs'), standalone: true });
    expect(readdirSync(out)).toEqual(['all.erofs']);
    expect(diffManifests(manifest(modelMerge(base)), readBack(r.fsmeta.path, []))).toEqual([]);
    // Compressed (the library's options; the Debian test mounts a compressed one): same tree, the
    // same bytes for any number of workers, and nothing left beside it.
    const z = await fsmerge({ image }, { output: join(out, 'z1.erofs'), standalone: true, compression: { algorithm: 'zstd', fragments: true }, workers: 1 });
    const z2 = await fsmerge({ image }, { output: join(out, 'z2.erofs'), standalone: true, compression: { algorithm: 'zstd', fragments: true }, workers: 2 });
    expect(readdirSync(out).sort()).toEqual(['all.erofs', 'z1.erofs', 'z2.erofs']);
    expect(readFileSync(z.fsmeta.path).equals(readFileSync(z2.fsmeta.path))).toBe(true);
    if (canFsck18()) fsck18(z.fsmeta.path);
    const img = ErofsImage.open(z.fsmeta.path);
    try {
      expect(diffManifests(manifest(modelMerge(base)), manifest(img.toTree()))).toEqual([]);
    } finally {
      img.close();
    }
    await expect(fsmerge({ image }, { output: join(out, 'no.erofs'), compression: { algorithm: 'lz4' } })).rejects.toThrow(/standalone image only/);
  });
});

describe('the blob dir', () => {
  it('reuses checked layer images, rebuilds damaged ones, and stays consistent under concurrent runs', async () => {
    const image = fresh('cache');
    await buildImage([{ layers: spec('gzip') }], image, 'oci-archive');
    const blobs = fresh('blobs');
    const runs = await Promise.all([0, 1, 2].map(() => run(image, { blobDir: blobs })));
    const first = runs[0]!.r;
    for (const { r } of runs) expect(r.layers.map((l) => l.path)).toEqual(first.layers.map((l) => l.path));
    expect(readdirSync(blobs).sort()).toEqual(first.layers.map((l) => l.path.split('/').pop()).sort());
    const again = await run(image, { blobDir: blobs });
    expect(again.r.layers.every((l) => l.reused)).toBe(true);
    const victim = first.layers[1]!.path;
    truncateSync(victim, statSync(victim).size - 4096);
    const repaired = await run(image, { blobDir: blobs });
    expect(repaired.r.layers.map((l) => l.reused)).toEqual([true, false]);
    expect(readFileSync(repaired.r.fsmeta.path).equals(readFileSync(first.fsmeta.path))).toBe(true);
    for (const { r } of [...runs, again, repaired]) fsckMerged(r.fsmeta.path, r.devices.slice(1));
  });
});

describe('layer trees', () => {
  it('converts the largest layer first (on the calling thread) and reports layers in stack order', async () => {
    const layers: Entry[][] = [
      [{ path: 'small', data: 'a' }],
      [{ path: 'large', data: 'b'.repeat(300_000) }],
      [{ path: 'middle', data: 'c'.repeat(30_000) }],
    ];
    const image = fresh('order');
    await buildImage([{ ref: 'o:1', layers: layers.map((entries) => ({ entries })) }], image, 'oci');
    const started: number[] = [];
    const { r } = await run(image, { parallel: 2, onProgress: (e) => void (e.kind === 'layer-start' && started.push(e.index)) });
    expect(started[0]).toBe(1);
    expect(started.slice().sort()).toEqual([0, 1, 2]);
    expect(r.layers.map((l) => l.index)).toEqual([0, 1, 2]);
    expect(r.layers.map((l) => l.diffId)).toEqual(layers.map((l) => `sha256:${createHash('sha256').update(layerTar(l)).digest('hex')}`));
    expect(diffManifests(manifest(modelMerge(layers)), readBack(r.fsmeta.path, r.devices.slice(1)))).toEqual([]);
  });

  it('a fresh layer hands over the tree it was written from: what its image reads back, data offsets included', async () => {
    const entries: Entry[] = [
      { path: 'etc/passwd', data: 'root:x:0:0::/root:/bin/sh\n', mtime: '1700000000123456789' },
      { path: 'etc/passwd-link', type: 'hardlink', target: 'etc/passwd' },
      { path: 'usr/bin/tool', data: 'x'.repeat(70_000), mode: 0o4755, xattrs: { 'security.capability': 'cap' } },
      { path: 'usr/bin/empty', data: '' },
      { path: 'usr/lib/link', type: 'symlink', target: '../bin/tool' },
      { path: 'dev/null', type: 'chr', major: 1, minor: 3 },
      { path: 'run/fifo', type: 'fifo' },
      { path: 'var/cache/.wh..wh..opq' },
      { path: 'var/.wh.old' },
      { path: 'implied/deep/file', data: 'deep', uid: 1000, gid: 1000 },
    ];
    const image = fresh('handover');
    await buildImage([{ ref: 'x:1', layers: [{ entries }] }], image, 'oci');
    const { name, layers } = await resolveImage(image);
    const blobs = fresh('blobs');
    const blob = await ensureLayerBlob(name, layers[0]!, blobs, DEFAULT_LIMITS);
    expect(blob.reused).toBe(false);
    const written = new FsTree(blob.written!.root);
    const read = layerImageTree(blob.path, blob.diffId);
    expect(blob.written!.device).toEqual(read.device);
    expect(diffManifests(manifest(read.tree), manifest(written))).toEqual([]);
    const offsets = (t: FsTree) =>
      [...t.walk()].flatMap(({ path, inode }) => (inode.type === 'file' && inode.data.kind === 'device' ? [`${path} ${inode.data.offset} ${inode.data.device.tag}`] : [])).sort();
    expect(offsets(written)).toEqual(offsets(read.tree));
    expect(offsets(written)).toHaveLength(5);
    // A reused image has no tree to hand over: it is read back.
    const again = await ensureLayerBlob(name, layers[0]!, blobs, DEFAULT_LIMITS);
    expect([again.reused, again.written]).toEqual([true, undefined]);
  });
});

describe.runIf(oracle('dump.erofs 1.5', hasCommand('dump.erofs'), 'apt-get install erofs-utils'))('fsmeta chunks', () => {
  it('map each file with one chunk index, as large as the file (dump.erofs: one extent), not one per 4 KiB', async () => {
    const sizes = [1, 4096, 5000, 12_000, 40_000, 70_000, 131_072];
    const image = fresh('chunks');
    await buildImage([{ layers: [{ entries: sizes.map((n) => ({ path: `f${n}`, data: 'c'.repeat(n) })) }, { entries: [{ path: 'g', data: 'g'.repeat(9000) }] }] }], image, 'oci');
    const { r } = await run(image);
    fsckMerged(r.fsmeta.path, r.devices.slice(1));
    const devices = r.devices.slice(1).map((d) => `--device=${d}`);
    for (const name of [...sizes.map((n) => `f${n}`), 'g']) {
      const d = spawnSync('dump.erofs', [...devices, `--path=/${name}`, '-e', r.fsmeta.path], { encoding: 'utf8' });
      expect(d.status, d.stderr).toBe(0);
      expect(d.stdout, name).toContain(`/${name}: 1 extents found`);
    }
  });
});

describe('bad input: one-line error naming image and layer, exit 1, nothing written', () => {
  async function expectRefused(image: string, re: RegExp): Promise<void> {
    const out = fresh('bad');
    const blobs = join(out, 'blobs');
    const r = spawnSync(process.execPath, [cli, image, '-o', join(out, 'fsmeta.erofs'), '--vmdk', join(out, 'disk.vmdk'), '--raw', join(out, 'disk.img'), '--blobs', blobs], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
    expect(lines[0]).toContain(image);
    expect(existsSync(out) ? readdirSync(out).filter((f) => f !== 'blobs') : []).toEqual([]);
    // Whatever the blob dir holds are complete layer images, never a temporary file.
    for (const f of existsSync(blobs) ? readdirSync(blobs) : []) {
      expect(f).toMatch(/^sha256-[0-9a-f]{64}\.erofs$/);
      expect(() => ErofsImage.open(join(blobs, f)).close()).not.toThrow();
    }
  }

  async function imageWith(layers: unknown[], format = 'oci'): Promise<string> {
    const image = fresh('img');
    await buildImage([{ layers }], image, format);
    return image;
  }

  const blobFile = (image: string, digest: string): string => join(image, 'blobs/sha256', digest.slice(7));
  const layerDigests = (image: string): string[] => {
    const index = JSON.parse(readFileSync(join(image, 'index.json'), 'utf8'));
    const m = JSON.parse(readFileSync(blobFile(image, index.manifests[0].digest), 'utf8'));
    return m.layers.map((l: { digest: string }) => l.digest);
  };

  it('missing blob', async () => {
    const image = await imageWith(spec('gzip'));
    rmSync(blobFile(image, layerDigests(image)[1]!));
    await expectRefused(image, /layer 1 \(sha256:[0-9a-f]{64}\): missing blob/);
  });

  it('digest mismatch', async () => {
    const image = await imageWith(spec('none'));
    const f = blobFile(image, layerDigests(image)[1]!);
    const b = readFileSync(f);
    b[600] = b[600]! ^ 1;
    writeFileSync(f, b);
    await expectRefused(image, /layer 1 .*digest mismatch/);
  });

  it('diff ID mismatch', async () => {
    const image = await imageWith([{ entries: base[0], diffId: `sha256:${'0'.repeat(64)}` }]);
    await expectRefused(image, /layer 0 .*diff ID: digest mismatch/);
  });

  it('truncated gzip', async () => {
    const gz = gzipSync(layerTar(base[0]));
    await expectRefused(await imageWith([{ bytes: gz.subarray(0, gz.length - 20), compression: 'gzip', diffId: `sha256:${'1'.repeat(64)}` }]), /layer 0 .*(gzip|truncated|unexpected end)/i);
  });

  it('corrupt zstd', async () => {
    if (!hasZstd) return;
    const z = spawnSync('zstd', ['-c'], { input: layerTar(base[0]) }).stdout as Buffer;
    const bad = Buffer.from(z);
    bad.fill(0x55, 20, 60);
    await expectRefused(await imageWith([{ bytes: bad, compression: 'zstd', diffId: `sha256:${'2'.repeat(64)}` }]), /layer 0 .*zstd/);
  });

  it('unknown media type', async () => {
    await expectRefused(await imageWith([{ entries: base[0], mediaType: 'application/vnd.example.layer.v1.tar+lz5' }]), /layer 0 .*unknown layer media type/);
  });

  it('media type and magic disagree', async () => {
    await expectRefused(await imageWith([{ entries: base[0], compression: 'none', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }]), /layer 0 .*says gzip but the blob is not compressed/);
  });

  it('ambiguous multi-image archive without --ref', async () => {
    const image = fresh('two');
    await buildImage([{ ref: 'a:1', layers: spec('none') }, { ref: 'b:1', layers: spec('none') }], image, 'docker');
    await expectRefused(image, /ambiguous: 2 images/);
  });

  it("path traversal: '..' (after a leading / too), through a symlinked parent", async () => {
    await expectRefused(await imageWith([{ entries: [{ path: '../etc/passwd', data: 'x' }] }]), /layer 0 .*'\.\.'/);
    await expectRefused(await imageWith([{ entries: [{ path: '/etc/../../passwd', data: 'x' }] }]), /layer 0 .*'\.\.'/);
    await expectRefused(await imageWith([{ entries: [{ path: 'etc', type: 'symlink', target: '/etc' }, { path: 'etc/passwd', data: 'x' }] }]), /layer 0 .*not a directory/);
    await expectRefused(await imageWith([{ entries: [{ path: 'etc', type: 'symlink', target: '/etc' }] }, { entries: [{ path: 'etc/passwd', data: 'x' }] }]), /layer 1 .*symlink in a lower layer/);
  });

  it('hard link to a missing target', async () => {
    await expectRefused(await imageWith([{ entries: base[0] }, { entries: [{ path: 'x', type: 'hardlink', target: 'nope' }] }]), /layer 1 .*hard link to missing target nope/);
  });

  it('a layer beyond the entry limits', async () => {
    await expectRefused(await imageWith([{ entries: [{ path: `${'n'.repeat(256)}`, data: '' }] }]), /layer 0 .*longer than 255/);
    await expectRefused(await imageWith([{ entries: [{ path: 'l', type: 'symlink', target: 't'.repeat(5000) }] }]), /layer 0 .*entry limit/);
    const image = await imageWith([{ entries: base[0] }]);
    const out = fresh('lim');
    await expect(fsmerge({ image }, { output: join(out, 'f.erofs'), limits: { maxEntries: 2 } })).rejects.toThrow(/layer 0 .*more than 2 entries/);
  });
});

describe('CLI', () => {
  it('interrupted while converting layers (on this thread and a worker), it leaves no temporary file in the blob dir and writes nothing', async () => {
    const out = fresh('interrupted');
    mkdirSync(out);
    // Two uncompressed layers of one sparse zero file each, their diff IDs known: each lane writes
    // its layer image from the first byte on. This thread takes the larger, so its image is still
    // being written when the worker's appears, however late the worker starts.
    const tars = ([['a', 2 ** 30], ['b', 2 ** 28]] as const).map(([name, bytes]) => {
      const tar = join(out, `${name}.tar`);
      zeroFileTar(tar, name, bytes);
      return tar;
    });
    const image = join(out, 'image');
    await buildImage([{ layers: tars.map((tar) => ({ tar, link: true })) }], image, 'oci', { tmp: out });
    const blobs = join(out, 'blobs');
    // Interrupted once both layer images are being written (hidden temporary files).
    const writing = (): boolean => existsSync(blobs) && readdirSync(blobs).filter((f) => f.startsWith('.')).length === 2;
    const r = await interruptCli('fsmerge', [image, '-o', join(out, 'fsmeta.erofs'), '--jobs', '2'], writing, 'SIGINT');
    expect(r.finishedFirst, 'the run ended before it could be interrupted').toBe(false);
    expect([r.signal, r.stderr]).toEqual(['SIGINT', '']);
    expect(readdirSync(blobs)).toEqual([]);
    expect(readdirSync(out).sort()).toEqual(['a.tar', 'b.tar', 'blobs', 'image']);
  });

  it("IMAGE '-' reads the archive from stdin: the same fsmeta as from the file; a cut, empty or terminal stdin is refused naming <stdin>, and an interrupt removes the copy kept of it", async () => {
    const image = fresh('stdin-image.tar');
    await buildImage([{ ref: 'x:1', layers: spec('gzip') }], image, 'docker');
    const bytes = readFileSync(image);
    const fromFile = fresh('from-file');
    const fromStdin = fresh('from-stdin');
    const run = (out: string, input: Buffer) => spawnSync(process.execPath, [cli, '-', '-o', join(out, 'fsmeta.erofs'), '--json'], { input, encoding: 'utf8' });
    expect(spawnSync(process.execPath, [cli, image, '-o', join(fromFile, 'fsmeta.erofs'), '-q']).status).toBe(0);
    const r = run(fromStdin, bytes);
    expect(r.status, r.stderr).toBe(0);
    const made = JSON.parse(r.stdout);
    expect(made.image).toBe('<stdin>');
    expect(diffManifests(manifest(modelMerge(base)), readBack(made.fsmeta.path, made.devices.slice(1)))).toEqual([]);
    expect(readFileSync(join(fromStdin, 'fsmeta.erofs')).equals(readFileSync(join(fromFile, 'fsmeta.erofs')))).toBe(true);
    // The copy of the archive is gone; what stays is the output and its blobs.
    expect(readdirSync(fromStdin).sort()).toEqual(['blobs', 'fsmeta.erofs']);
    for (const [input, problem] of [
      [bytes.subarray(0, bytes.length >> 1), /^fsmerge: <stdin>: truncated archive: member .* is cut short$/],
      [Buffer.alloc(0), /^fsmerge: <stdin>: is empty: no image archive came in$/],
    ] as const) {
      const out = fresh('stdin-bad');
      const bad = run(out, input);
      expect(bad.status).toBe(1);
      expect(bad.stderr.trimEnd()).toMatch(problem);
      expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    }
    const onTerminal = cliOnTerminal('fsmerge', ['-', '-o', join(fresh('stdin-tty'), 'fsmeta.erofs')]);
    expect(onTerminal.status).toBe(1);
    expect(onTerminal.stdout).toContain('fsmerge: <stdin>: is a terminal: pipe an image archive in');
    // Interrupted while the archive is still coming in (the pipe stays open).
    const out = fresh('stdin-interrupted');
    mkdirSync(out);
    const spooling = (): boolean => readdirSync(out).some((f) => f.endsWith('.archive'));
    const i = await interruptCli('fsmerge', ['-', '-o', join(out, 'fsmeta.erofs')], spooling, 'SIGINT', bytes.subarray(0, 1 << 20));
    expect(i.finishedFirst, 'the run ended before it could be interrupted').toBe(false);
    expect([i.signal, i.stderr]).toEqual(['SIGINT', '']);
    expect(readdirSync(out)).toEqual([]);
  });

  it('on a terminal, stderr shows each layer as it starts and ends, then the merge and the write; -q or a pipe shows none', async () => {
    const image = fresh('tty');
    await buildImage([{ layers: spec('gzip') }], image, 'oci');
    const labels = (await resolveImage(image)).layers.map((l) => l.label);
    expect(labels).toEqual([expect.stringMatching(/^layer 0 \(sha256:[0-9a-f]{64}\)$/), expect.stringMatching(/^layer 1 \(sha256:[0-9a-f]{64}\)$/)]);
    const out = fresh('tty-out');
    const fsmeta = join(out, 'fsmeta.erofs');
    const onTty = (...args: string[]): string[] => {
      const r = cliOnTerminal('fsmerge', [image, '-o', fsmeta, ...args]);
      expect(r.status, r.stdout).toBe(0);
      return r.stdout.replace(/\r/g, '').split('\n').filter((l) => l.startsWith('fsmerge: '));
    };
    const progressOf = (lines: string[], done: RegExp): void => {
      for (const label of labels) {
        const mine = lines.filter((l) => l.startsWith(`fsmerge: ${label}: `));
        expect(mine).toEqual([`fsmerge: ${label}: converting`, expect.stringMatching(done)]);
      }
      // Both layers are done before the merge; the merge comes before the write.
      expect(lines.slice(4)).toEqual(['fsmerge: merging layers', `fsmerge: writing ${fsmeta}`]);
    };
    progressOf(onTty(), /: written \d+\.\d MiB in \d+\.\d\d s$/);
    progressOf(onTty(), /: reused \d+\.\d MiB in \d+\.\d\d s$/);
    expect(onTty('-q')).toEqual([]);
    const piped = spawnSync(process.execPath, [cli, image, '-o', fsmeta], { encoding: 'utf8' });
    expect([piped.status, piped.stderr]).toEqual([0, '']);
    expect(piped.stdout).toContain(`${fsmeta}: `);
  });

  it('--json reports paths, sizes, diff IDs, device order and seconds; usage errors exit 2', async () => {
    const image = fresh('cli');
    await buildImage([{ layers: spec('gzip') }], image, 'oci');
    const out = fresh('cli-out');
    const r = spawnSync(process.execPath, [cli, image, '-o', join(out, 'fsmeta.erofs'), '--vmdk', join(out, 'disk.vmdk'), '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const j = JSON.parse(r.stdout);
    fsckMerged(j.fsmeta.path, j.devices.slice(1));
    expect(j.devices).toEqual([join(out, 'fsmeta.erofs'), ...j.layers.map((l: { path: string }) => l.path)]);
    expect(j.layers[0]).toMatchObject({ index: 0, diffId: expect.stringMatching(/^sha256:/), bytes: expect.any(Number) });
    expect(typeof j.seconds).toBe('number');
    expect(readFileSync(join(out, 'disk.vmdk'), 'utf8')).toContain('RW 2 FLAT "fsmeta.erofs" 0'.replace('2', String(j.fsmeta.bytes / 512)));
    expect(spawnSync(process.execPath, [cli, '--nope'], { encoding: 'utf8' }).status).toBe(2);
    expect(spawnSync(process.execPath, [cli, image], { encoding: 'utf8' }).status).toBe(2);
    expect(spawnSync(process.execPath, [cli, '--version'], { encoding: 'utf8' }).stdout.trim()).toBe('0.1.0');
    // Compression options: only for --standalone, checked before anything is read or written.
    const bad: Array<[string[], RegExp]> = [
      [['-zlz4'], /apply with --standalone: layer images stay uncompressed/],
      [['--standalone', '-zlz4', '-C5000'], /-C: physical cluster size 5000 is not a multiple of the block size/],
      [['--standalone', '-zbrotli'], /-z: unknown compression algorithm 'brotli'/],
      [['--standalone', '-zlz4', '-Enoinline_data'], /-E: unknown extended option 'noinline_data'/],
      [['--standalone', '-Ededupe'], /-E dedupe: only applies with -z/],
    ];
    for (const [args, message] of bad) {
      const b = spawnSync(process.execPath, [cli, image, '-o', join(out, 'z.erofs'), ...args], { encoding: 'utf8' });
      expect(b.status, args.join(' ')).toBe(2);
      expect(b.stderr.split('\n')[0]).toMatch(message);
      expect(existsSync(join(out, 'z.erofs'))).toBe(false);
    }
  });

  it('outputs given as symlinks land where they point, and the VMDK names files from there', async () => {
    const image = fresh('links');
    await buildImage([{ layers: spec('none') }], image, 'oci');
    const out = fresh('links-out');
    mkdirSync(join(out, 'store'), { recursive: true });
    symlinkSync('store/fsmeta.erofs', join(out, 'fsmeta.erofs'));
    symlinkSync('store/disk.vmdk', join(out, 'disk.vmdk'));
    const r = spawnSync(process.execPath, [cli, image, '-o', join(out, 'fsmeta.erofs'), '--vmdk', join(out, 'disk.vmdk'), '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    fsckMerged(j.fsmeta.path, j.devices.slice(1));
    expect([j.fsmeta.path, j.vmdk]).toEqual([join(out, 'store', 'fsmeta.erofs'), join(out, 'store', 'disk.vmdk')]);
    expect(lstatSync(join(out, 'fsmeta.erofs')).isSymbolicLink()).toBe(true);
    const names = [...readFileSync(join(out, 'store', 'disk.vmdk'), 'utf8').matchAll(/FLAT "([^"]+)"/g)].map((m) => m[1]!);
    expect(names[0]).toBe('fsmeta.erofs');
    for (const name of names) expect(statSync(join(out, 'store', name)).isFile(), name).toBe(true);
  });

  it('refuses outputs that are a directory, an input, or another output, and a blob dir that is a file, before any work', async () => {
    const image = fresh('clash');
    await buildImage([{ layers: spec('none') }], image, 'oci');
    const out = fresh('clash-out');
    mkdirSync(out);
    const tar = join(out, 'layer.tar');
    const tarBytes = layerTar(base[0]);
    writeFileSync(tar, tarBytes);
    const cases: Array<[string[], string]> = [
      [[image, '-o', join(out, 'a.erofs'), '--vmdk', join(out, 'a.erofs')], `${join(out, 'a.erofs')}: is given for both -o and --vmdk`],
      [[image, '-o', join(out, 'a.erofs'), '--vmdk', join(out, 'd'), '--raw', join(out, 'd')], `${join(out, 'd')}: is given for both --vmdk and --raw`],
      [[image, '-o', out], `${out}: is a directory`],
      [['--layer', tar, '-o', join(out, 'a.erofs'), '--raw', tar], `${tar}: is an input too (--layer): the output would replace it`],
      [['--layer', out, '-o', join(out, 'a.erofs')], `${out}: not a layer file (not a regular file)`],
      [[image, '-o', join(out, 'a.erofs'), '--blobs', tar], `${tar}: cannot be the blob dir: a file is in the way`],
    ];
    for (const [args, message] of cases) {
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
      expect([r.status, r.stderr], args.join(' ')).toEqual([1, `fsmerge: ${message}\n`]);
      expect(readdirSync(out), args.join(' ')).toEqual(['layer.tar']);
    }
    expect(readFileSync(tar)).toEqual(Buffer.from(tarBytes));
  });
});
