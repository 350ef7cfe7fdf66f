import { execFile, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKitDir } from '@fstools/boot';
import { haveKit } from './helpers/boot-images.js';
import { canFsck15, fsck15 } from './helpers/erofs-oracles.js';
import { e2fsckProblems } from './helpers/ext4-oracles.js';
import { hasCommand, oracle } from './helpers/oracles.js';

// A user's first ten minutes: a fresh clone, the README's set-up, then every command the README
// shows, literally, through npx; and the packed tarballs installed into a project of their own.
const repo = resolve(import.meta.dirname, '..');
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
const quickStart = blocks[0]!.split('\n').filter((l) => l.trim() !== '');
const setUp = quickStart.filter((l) => !/^npm test\b/.test(l));

const ready = oracle('git', hasCommand('git'), 'apt-get install git') && haveKit(defaultKitDir()) && canFsck15();
let work: string;
let clone: string;

/** The Node running the tests (24 in CI) first on PATH, so npm and npx run on it too. */
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
  npm_config_update_notifier: 'false',
};

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a shell script, asynchronously: a set-up of npm ci and a whole build would block this
 * worker's event loop past vitest's 60 s RPC limit on a loaded machine.
 */
function sh(script: string, cwd: string): Promise<Ran> {
  return new Promise((done) => {
    execFile('bash', ['-eo', 'pipefail', '-c', script], { cwd, env, encoding: 'utf8', maxBuffer: 1 << 28 }, (err, stdout, stderr) => {
      done({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
}

function expectOk(r: Ran | SpawnSyncReturns<string>, what: string): void {
  if (r.status !== 0) throw new Error(`${what}: exit ${r.status}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
}

/** A clone of this repository with the work tree's uncommitted changes (none in CI) laid over it. */
function freshClone(dest: string): void {
  expectOk(spawnSync('git', ['clone', '-q', '--no-hardlinks', repo, dest], { encoding: 'utf8' }), 'git clone');
  const status = spawnSync('git', ['status', '--porcelain', '-z', '--untracked-files=all'], { cwd: repo, encoding: 'utf8' });
  for (const entry of status.stdout.split('\0').filter(Boolean)) {
    const path = entry.slice(3);
    if (entry.startsWith('R')) continue; // a rename's source follows as its own field; git add -A states are not used here
    const from = join(repo, path);
    if (existsSync(from)) {
      mkdirSync(dirname(join(dest, path)), { recursive: true });
      copyFileSync(from, join(dest, path));
    } else rmSync(join(dest, path), { force: true });
  }
}

beforeAll(() => {
  work = spawnSync('mktemp', ['-d', '/tmp/readme-test-XXXXXX'], { encoding: 'utf8' }).stdout.trim();
  clone = join(work, 'clone');
  if (ready) freshClone(clone);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.runIf(ready)('the README, as a new user meets it', () => {
  it('the quick start names the set-up and the test command', () => {
    expect(setUp).toEqual(expect.arrayContaining([expect.stringMatching(/^npm run demo\b/)]));
    expect(quickStart.some((l) => /^npm test\b/.test(l))).toBe(true);
    expect(blocks.length).toBeGreaterThan(2);
  });

  it('set-up, then every command of the README through npx, in a fresh clone', async () => {
    // After the set-up all six commands are linked (npm skips a bin whose file is missing).
    for (const line of setUp) expectOk(await sh(line, clone), line);
    const bins = readdirSync(join(clone, 'node_modules/.bin'));
    expect(bins).toEqual(expect.arrayContaining(['mkerofs-ts', 'erofs-ts', 'mkext4-ts', 'fsmerge', 'vmdk-ts', 'boot-ts']));
    for (const block of blocks.slice(1)) {
      const r = await sh(block, clone);
      expectOk(r, block);
      expect(r.stderr).not.toMatch(/npm error|E404/);
    }
    // What the commands made is judged by the oracles, not only by their exit codes (boot-ts
    // verify already had the guest kernel mount the disk and the upper).
    for (const image of readdirSync(clone).filter((f) => f.endsWith('.erofs'))) fsck15(join(clone, image));
    expect(e2fsckProblems(join(clone, 'upper.ext4'))).toBeUndefined();
    const fsck = await sh('npx erofs-ts fsck cache/disk.img', clone);
    expect(fsck.stdout).toMatch(/^ok: \d+ inodes/m);
  });

  it('a command whose build is missing says what to run', async () => {
    rmSync(join(clone, 'packages/oci-fsmerge/bundle'), { recursive: true, force: true });
    const r = await sh('npx fsmerge --version', clone);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(/^fsmerge: not built yet \(.*bundle\/cli\.js is missing\): run `npm run build` at the repository root$/);
  });

  it('the packed tarballs install into a project of their own and run there', async () => {
    expectOk(await sh('npm run build >/dev/null && mkdir -p ../packs && npm pack --silent --workspaces --pack-destination ../packs >/dev/null', clone), 'npm pack');
    const packs = readdirSync(join(work, 'packs')).filter((f) => f.endsWith('.tgz'));
    const workspaces = (JSON.parse(readFileSync(join(clone, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    expect(packs).toHaveLength(workspaces.length);
    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
    expectOk(await sh(`npm install --no-audit --no-fund ${packs.map((p) => `../packs/${p}`).join(' ')}`, project), 'npm install of the tarballs');
    const tar = join(repo, 'fixtures/sample-rootfs.tar');
    expectOk(await sh(`npx mkerofs-ts --tar lib.erofs ${tar} && npx erofs-ts fsck lib.erofs && npx fsmerge ${join(repo, 'fixtures/sample-image.tar')} -o out/fsmeta.erofs --raw out/disk.img`, project), 'the installed commands');
    fsck15(join(project, 'lib.erofs'));
    const script = `import { writeErofsFromTar } from '@fstools/erofs-writer'; import { ErofsImage } from '@fstools/erofs-reader';
      import { createReadStream } from 'node:fs';
      const r = await writeErofsFromTar(createReadStream(${JSON.stringify(tar)}), 'sample-rootfs.tar', 'api.erofs');
      const entries = [...ErofsImage.open('api.erofs').toTree().walk()].length;
      console.log(r.inodes, entries);`;
    writeFileSync(join(project, 'api.mjs'), script);
    const r = await sh('node api.mjs', project);
    expectOk(r, 'the library from the installed packages');
    const [inodes, entries] = r.stdout.trim().split(' ').map(Number);
    expect(inodes).toBeGreaterThan(10);
    expect(entries).toBeGreaterThanOrEqual(inodes!);
    fsck15(join(project, 'api.erofs'));
  });
});
