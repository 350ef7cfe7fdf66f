import { openSync } from 'node:fs';
import { InputError } from '@fstools/fstree';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../src/index.js';

class OptionError extends Error {}

/** Runs runCli on `main` and returns what it printed and the exit code it set. */
async function outcome(main: () => Promise<number>, opts?: Parameters<typeof runCli>[2]): Promise<{ code: number | string | null | undefined; stderr: string; stdout: string }> {
  const err = vi.spyOn(console, 'error').mockImplementation(() => {});
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  runCli('tool', main, opts);
  await new Promise((resolve) => setImmediate(resolve));
  const printed = { code: process.exitCode, stderr: err.mock.calls.map((c) => `${c.join(' ')}\n`).join(''), stdout: out.mock.calls.map((c) => String(c[0])).join('') };
  err.mockRestore();
  out.mockRestore();
  return printed;
}

describe('runCli', () => {
  afterEach(() => {
    process.exitCode = undefined;
  });

  it('sets the exit code main resolves to, printing nothing', async () => {
    expect(await outcome(async () => 0)).toEqual({ code: 0, stderr: '', stdout: '' });
    expect(await outcome(async () => 2)).toEqual({ code: 2, stderr: '', stdout: '' });
  });

  it('prints an InputError as one line after the name, exit 1; control characters in it escaped', async () => {
    const r = await outcome(async () => {
      throw new InputError('/img', 'member a\nb\x1b[2J: bad');
    });
    expect(r).toEqual({ code: 1, stderr: 'tool: /img: member a\\nb\\x1b[2J: bad\n', stdout: '' });
  });

  it('prints the expected error classes as one line too', async () => {
    const r = await outcome(
      async () => {
        throw new OptionError('contradictory features');
      },
      { expected: [OptionError] },
    );
    expect(r).toEqual({ code: 1, stderr: 'tool: contradictory features\n', stdout: '' });
  });

  it('prints a failed system call as "<path>: <reason> (<code>)"', async () => {
    const r = await outcome(async () => {
      openSync('/nonexistent/x', 'r');
      return 0;
    });
    expect(r).toEqual({ code: 1, stderr: 'tool: /nonexistent/x: no such file or directory (ENOENT)\n', stdout: '' });
  });

  it('ends quietly with status 141 (as SIGPIPE would) when the reader of its output goes away', async () => {
    const gone = Object.assign(new Error('EPIPE: broken pipe, write'), { code: 'EPIPE', syscall: 'write', errno: -32 });
    expect(
      await outcome(async () => {
        throw gone;
      }),
    ).toEqual({ code: 141, stderr: '', stdout: '' });
    // A named file's broken pipe is a real failure and is reported.
    const named = Object.assign(new Error('EPIPE: broken pipe, write'), { code: 'EPIPE', syscall: 'write', errno: -32, path: '/tmp/fifo' });
    const r = await outcome(async () => {
      throw named;
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tool: \/tmp\/fifo: /);
  });

  it('prints anything else as an internal error with its stack', async () => {
    const r = await outcome(async () => {
      throw new TypeError('x is undefined');
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tool: internal error: TypeError: x is undefined\n\s+at /);
  });

  it('with json, also reports the error on stdout', async () => {
    const r = await outcome(
      async () => {
        throw new InputError('/img', 'cannot open');
      },
      { json: true },
    );
    expect(r).toEqual({ code: 1, stderr: 'tool: /img: cannot open\n', stdout: '{"ok":false,"error":"/img: cannot open"}\n' });
    const internal = await outcome(
      async () => {
        throw new Error('boom');
      },
      { json: true },
    );
    expect(JSON.parse(internal.stdout)).toEqual({ ok: false, error: 'internal error: boom' });
  });
});
