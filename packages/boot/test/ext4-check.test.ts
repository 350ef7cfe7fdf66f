import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e2fsckProblems, needsRecovery } from '../src/ext4-check.js';
import { cli } from '../../../test/helpers/cli.js';
import { hasE2fsprogs } from '../../../test/helpers/ext4-oracles.js';
import { oracle } from '../../../test/helpers/oracles.js';

let dir: string;
beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'ext4-check-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Sets the superblock's last mount time (debugfs keeps the checksum right). */
function setLastMount(image: string, seconds: number): void {
  const r = spawnSync('debugfs', ['-w', '-R', `ssv mtime @${seconds}`, image], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

describe.runIf(oracle('e2fsprogs', hasE2fsprogs, 'apt-get install e2fsprogs'))('e2fsck of a guest-written ext4 image', () => {
  it('takes a guest clock up to a day ahead of the host as now, and still reports times further ahead', () => {
    const image = join(dir, 'img');
    expect(cli('mkext4-ts', ['-q', image, '8M']).status).toBe(0);
    expect(e2fsckProblems(image)).toEqual([]);
    expect(needsRecovery(image)).toBe(false);
    const now = Math.floor(Date.now() / 1000);
    setLastMount(image, now + 120);
    // Plain e2fsck calls this "in the future"; the guest's clock simply ran ahead.
    expect(spawnSync('e2fsck', ['-fn', image], { encoding: 'utf8' }).stdout).toMatch(/in the future/);
    expect(e2fsckProblems(image)).toEqual([]);
    setLastMount(image, now + 3 * 86_400);
    expect(e2fsckProblems(image).join('\n')).toMatch(/last mount time .* is in the future/s);
  });
});
