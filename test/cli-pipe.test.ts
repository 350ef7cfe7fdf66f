import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliScript } from './helpers/cli.js';
import { scratchDir } from './helpers/erofs-oracles.js';

// `fsmerge ... --json | head -c0`, `mkext4-ts --version | true`: the reader of stdout goes away
// before the command writes. As SIGPIPE ends cat, the command ends quietly with status 141; it
// used to die of an unheard 'error' event on stdout, with a stack trace and status 1.

const dir = scratchDir('cli-pipe');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a CLI whose stdout pipe is closed at once; resolves with its status and stderr. */
function withStdoutClosed(name: Parameters<typeof cliScript>[0], args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cliScript(name), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((done) => child.on('close', (status) => done({ status, stderr })));
}

describe('stdout whose reader went away', () => {
  for (const name of ['mkerofs-ts', 'erofs-ts', 'mkext4-ts', 'fsmerge', 'vmdk-ts', 'boot-ts'] as const) {
    it(`${name} --version: status 141, nothing on stderr`, async () => {
      expect(await withStdoutClosed(name, ['--version'])).toEqual({ status: 141, stderr: '' });
    });
  }

  it('fsmerge --json after its work: status 141, nothing on stderr, the image written', async () => {
    const fsmeta = join(dir, 'out', 'fsmeta.erofs');
    const sample = join(import.meta.dirname, '../fixtures/sample-image.tar');
    expect(await withStdoutClosed('fsmerge', [sample, '-o', fsmeta, '--json'])).toEqual({ status: 141, stderr: '' });
    expect(existsSync(fsmeta)).toBe(true);
  });
});
