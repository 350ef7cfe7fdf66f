import { spawn } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { InputError, onInterrupt } from '@fstools/fstree';
import { MARKER } from './guest-init.js';

export type Accel = 'kvm' | 'tcg';

export interface Drive {
  file: string;
  format: 'raw' | 'vmdk';
  readonly?: boolean;
  /** virtio serial the guest finds the disk by. */
  serial: string;
}

export interface QemuSpec {
  /** qemu-system-x86_64 binary (default: $FSTOOLS_QEMU, else found on PATH). */
  qemu?: string;
  accel: Accel;
  kernel: string;
  initrd: string;
  drives: readonly Drive[];
  memoryMiB?: number;
  /** Watchdog: the guest is killed and the run marked timed out after this long. */
  timeoutMs: number;
  /** Watchdog for the boot itself: killed if no `ready` marker came by then. */
  readyTimeoutMs?: number;
  /** Also write the whole console to this file. */
  consoleLog?: string;
  /** Called for each marker line the guest prints; `kill` stops qemu at once (SIGKILL). */
  onMarker?: (marker: Marker, kill: () => void) => void;
}

export interface Marker {
  word: string;
  rest: string;
  /** ms since qemu started. */
  at: number;
}

export interface QemuResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Killed on request (onMarker), not by the watchdog. */
  killed: boolean;
  markers: Marker[];
  /** Every console line (kernel and init). */
  console: string[];
  elapsedMs: number;
}

export const QEMU = 'qemu-system-x86_64';

/** The qemu binary to run: an explicit path, $FSTOOLS_QEMU, or qemu-system-x86_64 from PATH. */
export function findQemu(explicit?: string): string {
  const name = explicit ?? process.env.FSTOOLS_QEMU ?? QEMU;
  const candidates = isAbsolute(name) || name.includes('/') ? [name] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new InputError(name, 'qemu is not installed or not executable (apt-get install qemu-system-x86)');
}

/** qemu's command line: no defaults, serial console on stdout, virtio disks with serials. */
export function qemuArgs(spec: QemuSpec): string[] {
  const args = [
    '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
    '-accel', spec.accel, '-cpu', spec.accel === 'kvm' ? 'host' : 'max',
    '-m', String(spec.memoryMiB ?? 1024),
    '-serial', 'stdio',
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', 'console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init',
  ];
  spec.drives.forEach((d, i) => {
    const ro = d.readonly ? ',readonly=on' : '';
    args.push('-drive', `file=${d.file.replace(/,/g, ',,')},format=${d.format},if=none,id=d${i}${ro}`);
    args.push('-device', `virtio-blk-pci,drive=d${i},serial=${d.serial}`);
  });
  return args;
}

/** Runs qemu until it exits, the watchdog fires or onMarker kills it. */
export function runQemu(spec: QemuSpec): Promise<QemuResult> {
  const bin = findQemu(spec.qemu);
  const started = performance.now();
  const child = spawn(bin, qemuArgs(spec), { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const markers: Marker[] = [];
  let partial = '';
  let killed = false;
  let timedOut = false;
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const onLine = (raw: string): void => {
    const line = raw.replace(/\r/g, '');
    lines.push(line);
    const at = line.indexOf(MARKER);
    if (at < 0) return;
    const body = line.slice(at + MARKER.length);
    const sp = body.indexOf(' ');
    const marker = { word: sp < 0 ? body : body.slice(0, sp), rest: sp < 0 ? '' : body.slice(sp + 1), at: performance.now() - started };
    markers.push(marker);
    if (marker.word === 'ready') clearTimeout(readyWatchdog);
    spec.onMarker?.(marker, () => {
      killed = true;
      kill();
    });
  };
  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const p of parts) onLine(p);
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const expire = (): void => {
    timedOut = true;
    kill();
  };
  const watchdog = setTimeout(expire, spec.timeoutMs);
  // An interrupted command takes its guest down with it.
  const unregister = onInterrupt(async () => kill());
  const readyWatchdog = spec.readyTimeoutMs === undefined ? undefined : setTimeout(expire, spec.readyTimeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', (err) => {
      unregister();
      clearTimeout(watchdog);
      clearTimeout(readyWatchdog);
      reject(new InputError(bin, `cannot start: ${err.message}`));
    });
    child.on('close', (exitCode, signal) => {
      unregister();
      clearTimeout(watchdog);
      clearTimeout(readyWatchdog);
      if (partial) onLine(partial);
      for (const l of stderr.split('\n').filter(Boolean)) lines.push(`qemu: ${l}`);
      if (spec.consoleLog) writeFileSync(spec.consoleLog, lines.join('\n') + '\n');
      resolve({ exitCode, signal, timedOut: timedOut && !killed, killed, markers, console: lines, elapsedMs: performance.now() - started });
    });
  });
}

/** The last non-empty console lines, for one-line error messages. */
export function consoleTail(lines: readonly string[], n = 4): string {
  const tail = lines.filter((l) => l.trim() !== '').slice(-n);
  return tail.length ? tail.map((l) => JSON.stringify(l.trim())).join(' | ') : '(no console output)';
}
