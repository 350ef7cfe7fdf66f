import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { InputError } from '@fstools/fstree';

/** Lines a clean `e2fsck -fn` prints: the version, the five passes and the summary. */
const CLEAN = [/^e2fsck \d/, /^Pass [1-5]: /, /: \d+\/\d+ files \(.*\), \d+\/\d+ blocks$/];

function findE2fsck(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/sbin', '/usr/sbin'].filter(Boolean);
  for (const d of dirs) {
    try {
      accessSync(join(d, 'e2fsck'), constants.X_OK);
      return join(d, 'e2fsck');
    } catch {
      // next
    }
  }
  throw new InputError('e2fsck', 'not installed (apt-get install e2fsprogs)');
}

/**
 * Runs `e2fsck -fn` on an ext4 image (read-only, forced) and returns the lines that are not part
 * of a clean run; e2fsck can exit 0 and still report problems, so the output is what counts.
 *
 * The image was last written by a guest, whose clock (under TCG especially) may run seconds
 * ahead of the host's: e2fsck would call its superblock times "in the future". Its notion of now
 * (E2FSCK_TIME) is moved up to the guest's last mount or write time when that is less than a
 * day ahead; anything further ahead is still reported.
 */
export function e2fsckProblems(image: string): string[] {
  const hostNow = Math.floor(Date.now() / 1000);
  const { lastMount, lastWrite } = superblockTimes(image);
  const now = Math.min(Math.max(hostNow, lastMount, lastWrite), hostNow + DAY);
  const r = spawnSync(findE2fsck(), ['-fn', image], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, E2FSCK_TIME: String(now) } });
  if (r.error) throw new InputError(image, `e2fsck failed to run: ${r.error.message}`);
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
  const problems = lines.filter((l) => !CLEAN.some((re) => re.test(l)));
  if (r.status !== 0 && problems.length === 0) problems.push(`e2fsck exited ${r.status}`);
  return problems;
}

const DAY = 86_400;
const SUPERBLOCK = 1024;
// struct ext4_super_block offsets (ext4 docs, "Super Block").
const S_MTIME = 0x2c;
const S_WTIME = 0x30;
const S_MAGIC = 0x38;
const S_FEATURE_INCOMPAT = 0x60;
const S_WTIME_HI = 0x274;
const S_MTIME_HI = 0x275;
const EXT4_SUPER_MAGIC = 0xef53;
const EXT4_FEATURE_INCOMPAT_RECOVER = 0x4;

function readSuperblock(image: string): Buffer {
  const sb = Buffer.alloc(1024);
  const fd = openSync(image, 'r');
  try {
    readSync(fd, sb, 0, sb.length, SUPERBLOCK);
  } finally {
    closeSync(fd);
  }
  if (sb.readUInt16LE(S_MAGIC) !== EXT4_SUPER_MAGIC) throw new InputError(image, 'not an ext4 image (bad superblock magic)');
  return sb;
}

/** The superblock's last mount and last write times, seconds since the epoch (with their _hi bytes). */
function superblockTimes(image: string): { lastMount: number; lastWrite: number } {
  const sb = readSuperblock(image);
  return {
    lastMount: sb.readUInt32LE(S_MTIME) + sb[S_MTIME_HI]! * 2 ** 32,
    lastWrite: sb.readUInt32LE(S_WTIME) + sb[S_WTIME_HI]! * 2 ** 32,
  };
}

/**
 * Whether an ext4 image's superblock says its journal needs recovery: set while mounted, cleared
 * by a clean unmount, so after a hard kill it shows the stop really was unclean.
 */
export function needsRecovery(image: string): boolean {
  return (readSuperblock(image).readUInt32LE(S_FEATURE_INCOMPAT) & EXT4_FEATURE_INCOMPAT_RECOVER) !== 0;
}
