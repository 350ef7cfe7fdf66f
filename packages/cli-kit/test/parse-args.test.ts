import yargs from 'yargs';
import { describe, expect, it, vi } from 'vitest';
import { parseArgs } from '../src/index.js';

const parser = (argv: string[]) =>
  yargs(argv)
    .command('$0 <image> [size]', false)
    .option('b', { type: 'number' })
    .option('L', { type: 'string' });

describe('parseArgs', () => {
  it('hands positionals back verbatim, however much they look like numbers', async () => {
    for (const [image, size] of [['007', '1.0'], ['1e3', '0x10'], ['12', '64']]) {
      const parsed = await parseArgs('tool', '1.2.3', parser([image!, size!]));
      expect('args' in parsed && [parsed.args.image, parsed.args.size]).toEqual([image, size]);
    }
  });

  it('passes free positionals through as text too', async () => {
    const parsed = await parseArgs('tool', '1.2.3', yargs(['0755', '1.10', '-q']).option('q', { type: 'boolean' }), { freePositionals: true });
    expect('args' in parsed && parsed.args._).toEqual(['0755', '1.10']);
  });

  it('makes numbers of the options declared as numbers only', async () => {
    const parsed = await parseArgs('tool', '1.2.3', parser(['img', '-b', '4096', '-L', '0042']));
    expect('args' in parsed && [parsed.args.b, parsed.args.L]).toEqual([4096, '0042']);
  });

  it('exits 2 with a pointer to --help on a usage error', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await parseArgs('tool', '1.2.3', parser(['img', '--nope']))).toEqual({ exit: 2 });
    expect(err.mock.calls.map((c) => c.join(' ')).join('\n')).toMatch(/^tool: Unknown argument: nope\nTry 'tool --help'\.$/);
    err.mockRestore();
  });
});
