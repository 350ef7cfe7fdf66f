import { createHash, randomBytes } from 'node:crypto';
import { checkUpper, openLowerDisk } from './disk.js';
import { e2fsckProblems, needsRecovery } from './ext4-check.js';
import { GUEST_PATHS } from './guest-init.js';
import { guestManifest } from './guest-manifest.js';
import { walkOutputs } from './guest-walk.js';
import type { CheckReport } from './report.js';
import { MAX_PROBLEMS, timing } from './report.js';
import type { Guest } from './session.js';
import type { CheckInput } from './verify.js';
import { lowerManifest, mergedDifferences, WALK_MERGED_AND_UPPER, withLowerTree } from './verify.js';

export interface CrashOptions {
  /** Kill qemu once this many files were reported fsync'ed (default 8). */
  syncedFiles?: number;
}

/** Content of the N-th synced file: a line repeated to a size that varies with N. */
export function crashFileContent(n: number): Buffer {
  const line = `boot-ts crash file ${n}\n`;
  const size = 16384 + ((n * 7919) % 49152);
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size));
}

/**
 * The boot-1 workload: a background loop appends to a file and creates small files without ever
 * syncing (dirty data and journal traffic in flight), while the foreground writes numbered files,
 * fsyncs each and its directory, and only then reports it. The host kills qemu mid-stream.
 */
function crashScript(dir: string): string {
  return `cd ${GUEST_PATHS.merged} && mkdir '${dir}' || die "crash-setup cannot create ${dir}"
( j=0; while :; do j=$((j+1)); head -c 262144 /dev/urandom >> '${dir}/unsynced-log'; printf '%s\\n' "$j" > '${dir}/unsynced-'$j; done ) &
i=0
while :; do
  i=$((i+1))
  f='${dir}/synced-'$i
  line="boot-ts crash file $i"
  size=$((16384 + (i * 7919) % 49152))
  yes "$line" | head -c $size > "$f" || die "crash-write cannot write $f"
  sync "$f" && sync '${dir}' || die "crash-fsync cannot fsync $f"
  say "synced $i"
done`;
}

/**
 * Check 3: qemu is killed hard (SIGKILL) while the guest writes; the next boot mounts the upper
 * (the kernel replays the journal) and must find every file that was fsync'ed before the kill
 * intact, the merged view must still be the lower tree under the upper, and after that boot's
 * clean shutdown e2fsck -fn must find the ext4 clean.
 */
export async function crash(guest: Guest, input: CheckInput, opts: CrashOptions = {}): Promise<CheckReport> {
  const disk = openLowerDisk(input.disk);
  checkUpper(input.upper);
  const want = opts.syncedFiles ?? 8;
  const dir = `fstools-crash-${randomBytes(4).toString('hex')}`;
  return withLowerTree(disk, input.expected, async (tree) => {
    const lower = lowerManifest(tree);
    const synced: number[] = [];
    const boot1 = await guest.boot({
      disk,
      upper: input.upper,
      job: crashScript(dir),
      expectKill: true,
      onMarker: (m, kill) => {
        if (m.word !== 'synced') return;
        synced.push(Number(m.rest));
        if (synced.length >= want) kill();
      },
    });
    const problems: string[] = [];
    if (!boot1.killed) problems.push('boot 1 ended without being killed');
    else if (!needsRecovery(input.upper)) problems.push('after the kill the upper does not need journal recovery: the stop was not unclean');
    const boot2 = await guest.boot({ disk, upper: input.upper, job: WALK_MERGED_AND_UPPER });
    const merged = guestManifest(walkOutputs(boot2.outputs, 'merged', input.disk), input.disk);
    const seen = new Map(merged.map((e) => [e.path, e]));
    for (const n of synced) {
      const path = `${dir}/synced-${n}`;
      const content = crashFileContent(n);
      const e = seen.get(path);
      if (!e) problems.push(`fsync'ed ${path} is missing after the crash`);
      else if (e.type !== 'file' || e.size !== content.length || e.sha256 !== createHash('sha256').update(content).digest('hex')) {
        problems.push(`fsync'ed ${path} is damaged after the crash: ${e.type}, ${e.size} bytes (expected ${content.length})`);
      }
    }
    problems.push(...mergedDifferences(lower, merged, walkOutputs(boot2.outputs, 'upper', input.upper), input.disk).map((l) => `overlay model: ${l}`));
    problems.push(...e2fsckProblems(input.upper).map((l) => `e2fsck: ${l}`));
    const ok = problems.length === 0;
    return {
      check: 'crash',
      ok,
      summary: ok
        ? `killed after ${synced.length} fsync'ed files (journal left needing recovery); after replay all are intact and e2fsck is clean`
        : `data or consistency lost after a hard kill (${synced.length} files were fsync'ed)`,
      problems: problems.slice(0, MAX_PROBLEMS * 2),
      boots: [boot1, boot2].map(timing),
    };
  });
}
