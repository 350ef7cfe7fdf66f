#!/usr/bin/env node
import { packageVersion, parseArgs, parseWhole, runCli } from '@fstools/cli-kit';
import yargs from 'yargs';
import type { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { crash } from './crash.js';
import { checkUpper, openLowerDisk } from './disk.js';
import { loadKit } from './kernel.js';
import { chooseAccel } from './kvm-probe.js';
import { persist } from './persist.js';
import type { CheckReport } from './report.js';
import { Guest } from './session.js';
import type { GuestOptions } from './session.js';
import type { CheckInput } from './verify.js';
import { verify } from './verify.js';

interface Common {
  json: boolean;
  quiet: boolean;
  kernel?: string;
  modules?: string;
  kit?: string;
  accel: 'auto' | 'kvm' | 'tcg';
  qemu?: string;
  timeout: string;
  'boot-timeout'?: string;
  memory: string;
  'console-dir'?: string;
}

function guestOptions(a: Common): GuestOptions {
  return {
    kitDir: a.kit,
    kernel: a.kernel,
    modules: a.modules,
    accel: a.accel,
    qemu: a.qemu,
    timeoutMs: parseWhole(a.timeout, '--timeout', 1) * 1000,
    bootTimeoutMs: a['boot-timeout'] === undefined ? undefined : parseWhole(a['boot-timeout'], '--boot-timeout', 1) * 1000,
    memoryMiB: parseWhole(a.memory, '--memory', 1),
    consoleDir: a['console-dir'],
  };
}

function common<T>(y: Argv<T>) {
  return y
    .option('kernel', { type: 'string', describe: 'guest kernel image (default: the fetched kit\'s vmlinuz); without --modules its drivers must be built in' })
    .option('modules', { type: 'string', describe: 'modules folder (lib/modules/<version>, indexed by depmod) for --kernel' })
    .option('kit', { type: 'string', describe: 'guest kit folder from tools/fetch-guest-kernel.sh (default: $FSTOOLS_KERNEL_DIR or ~/.cache/fstools/kernel)' })
    .option('accel', { choices: ['auto', 'kvm', 'tcg'] as const, default: 'auto' as const, describe: 'auto: KVM if a probe guest boots under it, else TCG' })
    .option('qemu', { type: 'string', describe: 'qemu-system-x86_64 binary (default: $FSTOOLS_QEMU or PATH)' })
    .option('timeout', { type: 'string', default: '900', describe: 'watchdog per boot, seconds' })
    .option('boot-timeout', { type: 'string', describe: 'watchdog until the guest has mounted everything, seconds (default 120 under TCG, 30 under KVM)' })
    .option('memory', { type: 'string', default: '1024', describe: 'guest memory, MiB' })
    .option('console-dir', { type: 'string', describe: 'keep each boot\'s serial console log here' });
}

function images<T>(y: Argv<T>) {
  return common(y)
    .option('disk', { type: 'string', demandOption: true, describe: 'lower disk: VMDK descriptor or raw image (fsmeta + layers, or one EROFS image)' })
    .option('upper', { type: 'string', demandOption: true, describe: 'upper ext4 image (persist and crash write to it)' });
}

type Check = (guest: Guest, input: CheckInput) => Promise<CheckReport>;
const checks: Record<'verify' | 'persist' | 'crash', Check> = { verify, persist, crash };

/** Runs the named checks on one guest and reports them; resolves to the exit code (1: a check failed). */
async function runChecks(a: Common & { disk: string; upper: string }, names: Array<keyof typeof checks>): Promise<number> {
  // Bad images fail before the kit is looked for or a probe guest is started.
  openLowerDisk(a.disk);
  checkUpper(a.upper);
  const guest = await Guest.create(guestOptions(a));
  const reports: CheckReport[] = [];
  for (const name of names) {
    reports.push(await checks[name](guest, { disk: a.disk, upper: a.upper }));
  }
  const ok = reports.every((r) => r.ok);
  if (a.json) {
    process.stdout.write(JSON.stringify({ ok, accel: guest.accel.accel, accelReason: guest.accel.reason, checks: reports }) + '\n');
  } else {
    for (const r of reports) {
      if (a.quiet && r.ok) continue;
      const boots = r.boots.map((b) => `${(b.bootMs / 1000).toFixed(1)} s`).join(', ');
      process.stdout.write(`${r.check}: ${r.ok ? 'ok' : 'FAILED'}: ${r.summary} [${guest.accel.accel}, boot ${boots}]\n`);
      for (const p of r.problems) process.stdout.write(`  ${p}\n`);
    }
  }
  return ok ? 0 : 1;
}

/** Exit codes: 0 all checks passed, 1 a check failed or bad input, 2 usage. */
async function main(argv: string[]): Promise<number> {
  let code = 0;
  // What a check command's handler does: run the checks and keep their exit code.
  const run = async (a: Common & { disk: string; upper: string }, names: Array<keyof typeof checks>): Promise<void> => {
    code = await runChecks(a, names);
  };
  const parser = yargs(argv)
    .scriptName('boot-ts')
    .usage('$0 <command>: boot a real guest kernel on the images and prove the sandbox root mounts, reads right and keeps its writes')
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON report on stdout (boot times, accelerator, each check)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print only failures' })
    .command('verify', 'the guest walks the merged root; its manifest must equal the image\'s tree', (y) => images(y), (a) => run(a, ['verify']))
    .command('persist', 'boot 1 changes files (copy-ups, whiteouts), boot 2 must see exactly those changes', (y) => images(y), (a) => run(a, ['persist']))
    .command('crash', 'qemu killed during fsync\'ed writes; after journal replay the files are intact and e2fsck clean', (y) => images(y), (a) => run(a, ['crash']))
    .command('all', 'verify, then persist, then crash, on the same upper', (y) => images(y), (a) => run(a, ['verify', 'persist', 'crash']))
    .command(
      'accel',
      'print the accelerator boots would use (runs the KVM probe under --accel auto)',
      (y) => common(y),
      async (a) => {
        const o = guestOptions(a);
        const choice = await chooseAccel(o.accel ?? 'auto', loadKit(o), o.qemu);
        if (a.json) process.stdout.write(JSON.stringify(choice) + '\n');
        else if (!a.quiet) process.stdout.write(`${choice.accel}: ${choice.reason}\n`);
      },
    )
    .wrap(Math.min(110, process.stdout.columns || 110))
    .demandCommand(1, 'a command is required');
  const parsed = await parseArgs('boot-ts', packageVersion(import.meta.url), parser);
  return 'exit' in parsed ? parsed.exit : code;
}

runCli('boot-ts', () => main(hideBin(process.argv)), { json: process.argv.includes('--json'), cleanUpOnSignals: true });
