import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffManifests, InputError } from '@fstools/fstree';
import type { WalkFiles } from '@fstools/boot';
import { defaultKitDir, guestManifest, parseWalk, WALK_FILES, WALK_FUNCTION } from '@fstools/boot';
import { hostManifest } from '../../../test/helpers/host-xattrs.js';
import { isRoot, oracle } from '../../../test/helpers/oracles.js';

// The walk runs here with the guest's busybox (the kit's, else the host's busybox-static) as a
// standalone shell whose PATH holds only busybox applets, as in the guest.
const kitBusybox = join(defaultKitDir(), 'guest/bin/busybox');
const busybox = existsSync(kitBusybox) ? kitBusybox : '/bin/busybox';
const ready = oracle('busybox', existsSync(busybox), 'apt-get install busybox-static') && oracle('getfattr', existsSync('/usr/bin/getfattr'), 'apt-get install attr');

const work = mkdtempSync(join(tmpdir(), 'boot-walk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const root = join(work, 'root');
const bin = join(work, 'bin');

function walkHost(dir: string, out: string): WalkFiles {
  const r = spawnSync(busybox, ['sh', '-c', `${WALK_FUNCTION}\nwalk '${dir}' '${out}'`], { env: { PATH: bin }, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return Object.fromEntries(WALK_FILES.map((k) => [k, readFileSync(join(out, k))])) as WalkFiles;
}

beforeAll(() => {
  if (!ready) return;
  mkdirSync(bin);
  for (const a of ['sh', 'find', 'xargs', 'stat', 'sha256sum', 'mkdir', 'busybox']) symlinkSync(busybox, join(bin, a));
  mkdirSync(join(root, 'sub/deeper'), { recursive: true });
  const odd = ['new\nline', 'back\\slash', "q'uote", 'dq"uote', 'sp ace', 'caf\u00e9', '-dash', 'tab\there'];
  odd.forEach((n, i) => writeFileSync(join(root, n), `odd ${i}`));
  writeFileSync(Buffer.from(`${root}/bad-\xff-utf8`, 'latin1'), 'latin1 name');
  writeFileSync(join(root, 'sub/big'), Buffer.alloc(300_000, 7));
  writeFileSync(join(root, 'sub/empty'), '');
  linkSync(join(root, 'sub/big'), join(root, 'sub/deeper/big-link'));
  symlinkSync('target\nwith newline', join(root, 'link-odd'));
  symlinkSync("it's", join(root, 'link-quote'));
  symlinkSync('/absolute/dangling', join(root, 'link-abs'));
  spawnSync('mkfifo', [join(root, 'fifo')]);
  if (isRoot) spawnSync('mknod', [join(root, 'null'), 'c', '1', '3']);
  spawnSync('setfattr', ['-n', 'user.text', '-v', 'hello', join(root, 'sub/empty')]);
  spawnSync('setfattr', ['-n', 'user.bin', '-v', '0x00ff0a', join(root, 'sub/empty')]);
  spawnSync('setfattr', ['-n', 'user.none', join(root, 'sub')]);
  spawnSync('setfattr', ['-n', 'user.we ird\\name', '-v', '1', join(root, 'sub/deeper')]);
  if (isRoot) spawnSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', join(root, 'sub/deeper')]);
  utimesSync(join(root, 'sub/empty'), new Date(-5_000_500), new Date(-5_000_500));
  spawnSync('touch', ['-h', '-d', '2001-02-03 04:05:06.123456789', join(root, 'link-abs')]);
  // Enough long names that xargs needs several batches.
  mkdirSync(join(root, 'many'));
  for (let i = 0; i < 2500; i++) writeFileSync(join(root, 'many', `${'long-name-'.repeat(12)}${i}`), `${i}`);
});

describe.runIf(ready)('guest walk protocol', () => {
  it('gives exactly the canonical manifest fstree builds for the same tree', () => {
    const got = guestManifest(parseWalk(walkHost(root, join(work, 'out')), 'walk'), 'walk');
    const want = hostManifest(root);
    expect(diffManifests(want, got)).toEqual([]);
    expect(JSON.stringify(got)).toBe(JSON.stringify(want));
    expect(got.find((e) => e.path === 'sub/deeper/big-link')!.link).toBe('sub/big');
    expect(got.find((e) => e.path === 'link-odd')!.target).toBe('target\nwith newline');
    expect(got.find((e) => e.path === 'sub/empty')!.mtime).toBe('-5000500000000');
  });

  it('refuses walk output that does not add up, in one line', () => {
    const files = walkHost(root, join(work, 'out2'));
    const cut = { ...files, stat: files.stat.subarray(0, files.stat.length - 10) };
    expect(() => parseWalk(cut, 'guest')).toThrow(InputError);
    expect(() => parseWalk(cut, 'guest')).toThrow(/^guest: walk output is inconsistent: \d+ paths, \d+ stat lines$/);
    const badSha = { ...files, sha256: Buffer.from(files.sha256.toString('latin1').replace(/^[0-9a-f]/, 'x'), 'latin1') };
    expect(() => parseWalk(badSha, 'guest')).toThrow(/sha256 output does not match the file list/);
  });
});
