import { createHash, randomBytes } from 'node:crypto';
import type { FsTree, ManifestEntry } from '@fstools/fstree';
import { diffManifests, readAll, utf8 } from '@fstools/fstree';
import { checkUpper, openLowerDisk } from './disk.js';
import { e2fsckProblems } from './ext4-check.js';
import { Expectations } from './expectations.js';
import { GUEST_PATHS } from './guest-init.js';
import { guestManifest } from './guest-manifest.js';
import { walkOutputs } from './guest-walk.js';
import type { CheckReport } from './report.js';
import { MAX_PROBLEMS, timing } from './report.js';
import type { Guest } from './session.js';
import type { CheckInput } from './verify.js';
import { lowerManifest, mergedDifferences, WALK_MERGED_AND_UPPER, withLowerTree } from './verify.js';

/** Paths the workload touches are limited to these characters so the script needs no quoting tricks. */
const SAFE_PATH = /^[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/;
const APPENDED = 'appended by boot-ts persist\n';
const MAX_MODIFY_BYTES = 1 << 20;

export interface PersistPlan {
  /** Shell commands for boot 1, run in the merged root. */
  script: string;
  /** Lower files the workload changes: the upper must not have changed them before. */
  lowerTargets: ManifestEntry[];
  /** What the merged root must look like after them, from the state before them. */
  expect(initial: readonly ManifestEntry[]): Expectations;
  /** The steps, in words. */
  steps: string[];
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const parent = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '.');

/**
 * The boot-1 workload: in a new directory (`dir`, absent from the image), create, rename and
 * delete files, a symlink and a hardlink; on files from the lower image, append (copy-up with
 * data), delete (whiteout), rename and chmod (metadata copy-up); delete a small lower directory
 * tree. Lower targets come from the image's tree, so the appended file's content is known.
 */
export function planPersist(tree: FsTree, lower: readonly ManifestEntry[], dir: string): PersistPlan {
  const inLower = new Set(lower.map((e) => e.path));
  const files = lower.filter((e) => e.type === 'file' && !e.link && SAFE_PATH.test(e.path) && e.size! <= MAX_MODIFY_BYTES);
  const [mod, del, ren, chm] = files;
  const renamed = ren && !inLower.has(`${ren.path}.renamed`) ? `${ren.path}.renamed` : undefined;
  const targets = [mod, del, ren, chm].filter((e): e is ManifestEntry => e !== undefined);
  const delDir = lower.find((d) => {
    if (d.type !== 'dir' || d.path === '.' || !SAFE_PATH.test(d.path)) return false;
    const inside = lower.filter((e) => e.path.startsWith(`${d.path}/`));
    return inside.length > 0 && inside.length <= 30 && inside.every((e) => !e.link) && !targets.some((t) => t.path.startsWith(`${d.path}/`));
  });
  const lowerTargets = [...targets, ...(delDir ? [delDir, ...lower.filter((e) => e.path.startsWith(`${delDir.path}/`))] : [])];

  const steps: string[] = [];
  const lines: string[] = [];
  const run = (what: string, cmd: string): void => {
    steps.push(what);
    lines.push(`${cmd} || die "persist-step ${what} failed"`);
  };
  run(`create ${dir}/`, `mkdir '${dir}'`);
  run('create a file', `printf 'one\\n' > '${dir}/created.txt'`);
  run('create and rename a file', `printf 'two\\n' > '${dir}/to-rename.txt' && mv '${dir}/to-rename.txt' '${dir}/renamed.txt'`);
  run('create and delete a file', `printf 'three\\n' > '${dir}/to-delete.txt' && rm '${dir}/to-delete.txt'`);
  run('symlink', `ln -s created.txt '${dir}/link'`);
  run('hardlink', `ln '${dir}/created.txt' '${dir}/hardlink'`);
  if (mod) run(`append to lower ${mod.path}`, `printf '${APPENDED.replace('\n', '\\n')}' >> '${mod.path}'`);
  if (del) run(`delete lower ${del.path}`, `rm '${del.path}'`);
  if (ren && renamed) run(`rename lower ${ren.path}`, `mv '${ren.path}' '${renamed}'`);
  if (chm) run(`chmod lower ${chm.path}`, `chmod 0600 '${chm.path}'`);
  if (delDir) run(`delete lower tree ${delDir.path}/`, `rm -r '${delDir.path}'`);
  lines.push('sync');

  const expect = (start: readonly ManifestEntry[]): Expectations => {
    const x = new Expectations(start);
    const base = { uid: 0, gid: 0 };
    x.touch('.');
    x.set({ path: dir, type: 'dir', mode: '0755', ...base }, true);
    const file = (name: string, text: string, link?: string): void =>
      x.set({ path: `${dir}/${name}`, type: 'file', mode: '0644', ...base, size: text.length, sha256: sha256(text), ...(link ? { link } : {}) }, true);
    file('created.txt', 'one\n', `${dir}/created.txt`);
    file('hardlink', 'one\n', `${dir}/created.txt`);
    file('renamed.txt', 'two\n');
    x.set({ path: `${dir}/link`, type: 'symlink', mode: '0777', ...base, size: 'created.txt'.length, target: 'created.txt' }, true);
    if (mod) {
      const inode = tree.lookup(utf8(mod.path));
      const content = inode?.type === 'file' ? Buffer.concat([readAll(inode), Buffer.from(APPENDED)]) : Buffer.from(APPENDED);
      x.set({ ...mod, size: content.length, sha256: sha256(content) }, true);
    }
    if (del) {
      x.remove(del.path);
      x.touch(parent(del.path));
    }
    if (ren && renamed) {
      x.remove(ren.path);
      x.set({ ...ren, path: renamed });
      x.touch(parent(ren.path));
    }
    if (chm) x.set({ ...chm, mode: '0600' });
    if (delDir) {
      x.remove(delDir.path);
      x.touch(parent(delDir.path));
    }
    return x;
  };
  return { script: lines.join('\n'), lowerTargets, expect, steps };
}

/**
 * Check 2: boot 1 makes the planned changes and shuts down cleanly; boot 2 must see exactly the
 * tree boot 1 left (every field, mtimes included), boot 1's tree must be the starting tree with
 * exactly those changes, the upper must hold them the way overlayfs does (copy-ups and
 * whiteouts: the merged view equals the lower tree under the upper), and e2fsck -fn must pass.
 */
export async function persist(guest: Guest, input: CheckInput): Promise<CheckReport> {
  const disk = openLowerDisk(input.disk);
  checkUpper(input.upper);
  return withLowerTree(disk, input.expected, async (tree) => {
    const lower = lowerManifest(tree);
    const m = GUEST_PATHS.merged;
    const plan = planPersist(tree, lower, `fstools-persist-${randomBytes(4).toString('hex')}`);
    const boot1 = await guest.boot({
      disk,
      upper: input.upper,
      job: `walk ${m} /out/initial || die "walk-failed"\ncd ${m} || die "cd-failed"\n${plan.script}\ncd /\nwalk ${m} /out/before || die "walk-failed"`,
    });
    const initial = guestManifest(walkOutputs(boot1.outputs, 'initial', input.disk), input.disk);
    const before = guestManifest(walkOutputs(boot1.outputs, 'before', input.disk), input.disk);
    const boot2 = await guest.boot({ disk, upper: input.upper, job: WALK_MERGED_AND_UPPER });
    const after = guestManifest(walkOutputs(boot2.outputs, 'merged', input.disk), input.disk);
    const problems = [
      ...changedBefore(plan.lowerTargets, initial),
      ...plan.expect(initial).differences(before).map((l) => `changes: ${l}`),
      ...diffManifests(before, after, MAX_PROBLEMS).map((l) => `boot 2 vs boot 1: ${l}`),
      ...mergedDifferences(lower, after, walkOutputs(boot2.outputs, 'upper', input.upper), input.disk).map((l) => `overlay model: ${l}`),
      ...e2fsckProblems(input.upper).map((l) => `e2fsck: ${l}`),
    ].slice(0, MAX_PROBLEMS * 2);
    const ok = problems.length === 0;
    const steps = `${plan.steps.length} steps: ${plan.steps.join(', ')}`;
    return {
      check: 'persist',
      ok,
      summary: ok ? `boot 2 saw exactly boot 1's changes (${steps}); e2fsck clean` : `changes did not persist as made (${steps})`,
      problems,
      boots: [boot1, boot2].map(timing),
    };
  });
}

/** Lower targets the upper had already changed: their expected state is unknown (use a fresh upper). */
function changedBefore(targets: readonly ManifestEntry[], initial: readonly ManifestEntry[]): string[] {
  const seen = new Map(initial.map((e) => [e.path, JSON.stringify(e)]));
  return targets
    .filter((t) => seen.get(t.path) !== JSON.stringify(t))
    .map((t) => `setup: the upper had already changed ${t.path}, which persist modifies (run it on a fresh upper)`);
}
