import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bins = {
  'mkerofs-ts': '../../packages/erofs-writer/bin/bin.cjs',
  'erofs-ts': '../../packages/erofs-reader/bin/cli.js',
  'mkext4-ts': '../../packages/ext4-writer/bin/cli.js',
  fsmerge: '../../packages/oci-fsmerge/bin/cli.js',
  'boot-ts': '../../packages/boot/bin/cli.js',
} as const;

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The built script of one of our CLIs (run it with process.execPath). */
export function cliScript(name: keyof typeof bins): string {
  return fileURLToPath(new URL(bins[name], import.meta.url));
}

/** Runs one of our CLIs (built) as a user would, with a clean environment plus `env`, in `cwd` when given. */
export function cli(name: keyof typeof bins, args: string[], opts: { env?: Record<string, string>; input?: Buffer; cwd?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [cliScript(name), ...args], {
    env: { PATH: process.env.PATH ?? '', ...opts.env },
    input: opts.input,
    cwd: opts.cwd,
    maxBuffer: 1 << 28,
  });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}
