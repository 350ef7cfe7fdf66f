import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@fstools/fstree';
import { crash, defaultKitDir, Guest, persist, verify } from '@fstools/boot';
import type { BootDisk } from '../../../test/helpers/boot-images.js';
import { bundledSample, debianDisk, freshUpper, haveDebianImage, haveKit, layeredSample } from '../../../test/helpers/boot-images.js';

const kitDir = defaultKitDir();
const ready = haveKit(kitDir);
let work: string;
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cli = join(import.meta.dirname, '../bin/boot-ts.cjs');

let guest: Guest;
let sample: BootDisk;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'boot-test-'));
  if (!ready) return;
  guest = await Guest.create({ kitDir, consoleDir: work });
  sample = await layeredSample(join(work, 'sample'));
});

describe.runIf(ready)('boot-ts on the bundled sample (fixtures/sample-rootfs.tar through fsmerge)', () => {
  it('verify: the guest manifest of the VMDK disk equals the image tree', async () => {
    const disk = await bundledSample(join(work, 'bundled'));
    const r = await verify(guest, { disk: disk.vmdk, upper: freshUpper(join(work, 'u-bundled.ext4')) });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
  });
});

describe.runIf(ready)('boot-ts on a layered sample (fsmerge: fsmeta + 3 layer images with whiteouts, opaque dirs, hardlinks)', () => {
  it('verify: the guest manifest of the VMDK disk equals the image tree', async () => {
    const r = await verify(guest, { disk: sample.vmdk, upper: freshUpper(join(work, 'u-verify.ext4')) });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.summary).toMatch(/matches the image's tree \(\d+ entries\)/);
    expect(r.boots[0]!.bootMs).toBeGreaterThan(0);
  });

  it('verify: the raw concatenated disk boots the same', async () => {
    const r = await verify(guest, { disk: sample.raw, upper: freshUpper(join(work, 'u-raw.ext4')) });
    expect(r.problems).toEqual([]);
  });

  it('verify reports the first differing paths when the tree is not what the disk holds', async () => {
    const { treeFromDirectory } = await import('@fstools/fstree');
    const other = join(work, 'other');
    spawnSync('mkdir', ['-p', join(other, 'etc')]);
    writeFileSync(join(other, 'etc/hostname'), 'not the sample\n');
    const r = await verify(guest, { disk: sample.vmdk, upper: freshUpper(join(work, 'u-diff.ext4')), expected: treeFromDirectory(other) });
    expect(r.ok).toBe(false);
    expect(r.problems.some((l) => l.startsWith('- {"path":"etc/hostname"'))).toBe(true);
    expect(r.problems.some((l) => l.startsWith('+ {"path":"etc/hostname"'))).toBe(true);
  });

  it('persist: boot 2 sees exactly the changes boot 1 made (copy-ups, whiteouts, renames), e2fsck clean', async () => {
    const r = await persist(guest, { disk: sample.vmdk, upper: freshUpper(join(work, 'u-persist.ext4')) });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.summary).toMatch(/append to lower .*delete lower .*rename lower .*chmod lower .*delete lower tree/);
    expect(r.boots).toHaveLength(2);
  });

  it('crash: after SIGKILL mid-write and journal replay, fsynced files are intact and e2fsck is clean', async () => {
    const r = await crash(guest, { disk: sample.vmdk, upper: freshUpper(join(work, 'u-crash.ext4')) });
    expect(r.problems).toEqual([]);
    expect(r.summary).toMatch(/killed after 8 fsync'ed files \(journal left needing recovery\)/);
  });
});

describe.runIf(ready)('bad input: one-line errors', () => {
  async function failure(p: Promise<unknown>): Promise<string> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    const msg = (err as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }

  it('a disk the guest cannot mount shows the guest kernel lines', async () => {
    const junk = join(work, 'junk.img');
    writeFileSync(junk, Buffer.alloc(1 << 20, 0x5a));
    const msg = await failure(verify(guest, { disk: junk, upper: freshUpper(join(work, 'u-junk.ext4')) }));
    expect(msg).toMatch(/^.*junk\.img: cannot mount \/dev\/vd\w as erofs; guest output: mount: .*; guest kernel: erofs: .*cannot find valid erofs superblock/);
  });

  it('an upper the guest cannot mount names the upper and the kernel reason', async () => {
    const bad = join(work, 'not-ext4.img');
    writeFileSync(bad, Buffer.alloc(4 << 20));
    const msg = await failure(verify(guest, { disk: sample.vmdk, upper: bad }));
    expect(msg).toMatch(/not-ext4\.img: cannot mount \/dev\/vd\w as ext4; .*guest kernel: EXT4-fs .*Can't find ext4 filesystem/);
  });

  it('a hung guest is killed by the watchdog, with the console tail', async () => {
    const slow = await Guest.create({ kitDir, accel: 'tcg', bootTimeoutMs: 1500 });
    const msg = await failure(verify(slow, { disk: sample.vmdk, upper: freshUpper(join(work, 'u-hang.ext4')) }));
    expect(msg).toMatch(/disk\.vmdk: guest hung: watchdog killed it after 2 s \(no ready signal from the init, tcg\); console tail: /);
  });

  it('missing kernel, missing qemu, missing disk', async () => {
    expect(await failure(Guest.create({ kitDir, kernel: join(work, 'no-vmlinuz') }))).toBe(`${join(work, 'no-vmlinuz')}: kernel not found`);
    expect(await failure(Guest.create({ kitDir: join(work, 'no-kit') }))).toMatch(/no-kit\/vmlinuz: guest kernel not found \(run tools\/fetch-guest-kernel\.sh, or pass --kernel\)/);
    expect(await failure(Guest.create({ kitDir, qemu: '/nonexistent/qemu-system-x86_64' }))).toMatch(/qemu is not installed/);
    expect(await failure(verify(guest, { disk: join(work, 'nope.vmdk'), upper: join(work, 'u-verify.ext4') }))).toMatch(/nope\.vmdk: cannot open/);
  });
});

describe.runIf(ready)('boot-ts CLI', () => {
  // Asynchronous: a boot under TCG can outlast vitest's 60 s limit for a worker that does not
  // answer its runner (a synchronous spawn would block the worker's event loop that long).
  function run(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [cli, ...args, '--kit', kitDir], { encoding: 'utf8', maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      });
    });
  }

  it('verify --json reports boot time, the accelerator and the check', async () => {
    const upper = freshUpper(join(work, 'u-cli.ext4'));
    const r = await run('verify', '--json', '--disk', sample.vmdk, '--upper', upper);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; accel: string; accelReason: string; checks: Array<{ check: string; ok: boolean; boots: Array<{ bootMs: number; accel: string }> }> };
    expect(report.ok).toBe(true);
    expect(['kvm', 'tcg']).toContain(report.accel);
    expect(report.accelReason).not.toBe('');
    expect(report.checks).toMatchObject([{ check: 'verify', ok: true }]);
    expect(report.checks[0]!.boots[0]!.bootMs).toBeGreaterThan(0);
  });

  it('exit 1 with one line for bad input, 2 for usage', async () => {
    const upper = freshUpper(join(work, 'u-cli-bad.ext4'));
    const missing = await run('verify', '--disk', join(work, 'missing.vmdk'), '--upper', upper);
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/missing\.vmdk: cannot open/);
    const noQemu = spawnSync(process.execPath, [cli, 'verify', '--disk', sample.vmdk, '--upper', upper, '--kit', kitDir], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } });
    expect(noQemu.status).toBe(1);
    expect(noQemu.stderr).toMatch(/^boot-ts: qemu-system-x86_64: qemu is not installed or not executable \(apt-get install qemu-system-x86\)\n$/);
    expect((await run('verify', '--disk', sample.vmdk)).status).toBe(2);
    expect((await run('--version')).stdout.trim()).toBe('0.1.0');
  });
});

describe.runIf(ready && haveDebianImage())('boot-ts on the Debian image (tools/make-debian-oci.sh)', () => {
  it('verify: the guest walk of the merged Debian tree equals the image tree', async () => {
    const disk = await debianDisk(join(work, 'debian'));
    const r = await verify(guest, { disk: disk.vmdk, upper: freshUpper(join(work, 'u-debian.ext4'), 1024) });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
  });
});

