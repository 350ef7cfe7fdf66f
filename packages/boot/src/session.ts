import { createReadStream, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, makeTempDir, memberBytes, readTar, removeTemp } from '@fstools/fstree';
import { guestInit, MARKER, SERIAL } from './guest-init.js';
import { writeInitramfs } from './initramfs.js';
import type { GuestKit, KitOptions } from './kernel.js';
import { loadKit } from './kernel.js';
import { chooseAccel } from './kvm-probe.js';
import type { AccelChoice } from './kvm-probe.js';
import type { LowerDisk } from './disk.js';
import type { Accel, Drive, Marker, QemuResult } from './qemu.js';
import { consoleTail, findQemu, runQemu } from './qemu.js';

export interface GuestOptions extends KitOptions {
  /** kvm, tcg, or auto: KVM when a probe guest boots under it, else TCG. */
  accel?: Accel | 'auto';
  /** qemu-system-x86_64 binary. */
  qemu?: string;
  /** Watchdog for a whole boot, ms (default 900 s). */
  timeoutMs?: number;
  /** Watchdog until the init has mounted everything, ms (default 120 s under TCG, 30 s under KVM). */
  bootTimeoutMs?: number;
  /** Guest memory (default 1024 MiB). */
  memoryMiB?: number;
  /** Folder to keep each boot's console log in (boot-N.log). */
  consoleDir?: string;
}

export interface BootSpec {
  /** Lower disk (/dev/vda, read-only) and upper image (/dev/vdb); both or neither. */
  disk?: LowerDisk;
  upper?: string;
  /** Shell commands the init runs once the overlay is assembled; files left in /out come back. */
  job: string;
  /** More disks for the job, found in the guest with `disk SERIAL wait` (the benchmark's images, say). */
  disks?: Drive[];
  onMarker?: (marker: Marker, kill: () => void) => void;
  /** The caller kills the guest (crash test): do not require a clean `done`. */
  expectKill?: boolean;
}

export interface BootResult {
  accel: Accel;
  /** ms from qemu's start to the init's `ready` (mounts done). */
  bootMs: number;
  /** ms from qemu's start to its exit. */
  totalMs: number;
  killed: boolean;
  markers: Marker[];
  /** Files the job left in /out, by relative path. */
  outputs: Map<string, Buffer>;
  console: string[];
}

/** Room for the job's results (a sparse file; only what is written takes space). */
const OUT_DISK_BYTES = 1 << 30;

/** A guest kernel and userland ready to boot, with the accelerator settled. */
export class Guest {
  private boots = 0;
  private readonly timeoutMs: number;
  private readonly readyTimeoutMs: number;

  private constructor(
    readonly kit: GuestKit,
    readonly accel: AccelChoice,
    private readonly opts: GuestOptions,
  ) {
    this.timeoutMs = opts.timeoutMs ?? 900_000;
    this.readyTimeoutMs = opts.bootTimeoutMs ?? (accel.accel === 'kvm' ? 30_000 : 120_000);
  }

  static async create(opts: GuestOptions = {}): Promise<Guest> {
    const kit = loadKit(opts);
    findQemu(opts.qemu); // a missing qemu is said now, not at the first boot (also without /dev/kvm)
    const accel = await chooseAccel(opts.accel ?? 'auto', kit, opts.qemu);
    return new Guest(kit, accel, opts);
  }

  /** One boot: builds the initramfs for the job, runs qemu, returns the job's results. */
  async boot(spec: BootSpec): Promise<BootResult> {
    if ((spec.disk === undefined) !== (spec.upper === undefined)) throw new Error('a boot takes both a lower disk and an upper, or neither');
    const work = makeTempDir(join(tmpdir(), 'boot-ts-'));
    try {
      const initrd = join(work, 'initramfs.cpio');
      writeInitramfs({ kit: this.kit, init: guestInit({ mount: spec.disk !== undefined, job: spec.job }) }, initrd);
      const out = join(work, 'out.img');
      writeFileSync(out, '');
      truncateSync(out, OUT_DISK_BYTES);
      const drives: Drive[] = [];
      if (spec.disk) drives.push({ file: spec.disk.path, format: spec.disk.format, readonly: true, serial: SERIAL.lower });
      if (spec.upper) drives.push({ file: spec.upper, format: 'raw', serial: SERIAL.upper });
      drives.push(...(spec.disks ?? []));
      drives.push({ file: out, format: 'raw', serial: SERIAL.out });
      const accel = this.accel.accel;
      const n = ++this.boots;
      const result = await runQemu({
        qemu: this.opts.qemu,
        accel,
        kernel: this.kit.kernel,
        initrd,
        drives,
        memoryMiB: this.opts.memoryMiB,
        timeoutMs: this.timeoutMs,
        readyTimeoutMs: this.readyTimeoutMs,
        consoleLog: this.opts.consoleDir ? join(this.opts.consoleDir, `boot-${n}.log`) : undefined,
        onMarker: spec.onMarker,
      });
      const ready = this.raiseFailure(result, spec);
      return {
        accel,
        bootMs: Math.round(ready.at),
        totalMs: Math.round(result.elapsedMs),
        killed: result.killed,
        markers: result.markers,
        outputs: spec.expectKill ? new Map() : await readOutputs(out),
        console: result.console,
      };
    } finally {
      removeTemp(work);
    }
  }

  /**
   * Turns a failed boot into one line (the guest's own error with what it printed and the
   * kernel's lines, or the console tail); returns the `ready` marker of a good one.
   */
  private raiseFailure(r: QemuResult, spec: BootSpec): Marker {
    const error = r.markers.find((m) => m.word === 'error');
    if (error) {
      const [what, ...msg] = error.rest.split(' ');
      const file = what === 'mount-lower' || what === 'no-disk' ? spec.disk?.path : what === 'mount-upper' ? spec.upper : undefined;
      const klog = r.markers.filter((m) => m.word === 'klog' && m.at >= error.at).map((m) => m.rest.replace(/^\[\s*[\d.]+\]\s*/, ''));
      const output = outputBefore(r.console, `${MARKER}error `);
      const detail = [output.length ? `guest output: ${output.join(' | ')}` : '', klog.length ? `guest kernel: ${klog.slice(-4).join(' | ')}` : ''].filter(Boolean);
      throw new InputError(file ?? 'guest', [msg.join(' '), ...detail].join('; '));
    }
    const where = spec.disk?.path ?? 'guest';
    const ready = r.markers.find((m) => m.word === 'ready');
    if (r.timedOut) {
      const limit = Math.round((ready ? this.timeoutMs : this.readyTimeoutMs) / 1000);
      throw new InputError(where, `guest hung: watchdog killed it after ${limit} s (${ready ? 'job unfinished' : 'no ready signal from the init'}, ${this.accel.accel}); console tail: ${consoleTail(r.console)}`);
    }
    const finished = r.markers.some((m) => m.word === 'done') || (r.killed && spec.expectKill);
    if (!ready || !finished) {
      throw new InputError(where, `guest stopped before ${ready ? 'finishing' : 'mounting'} (qemu exit ${r.exitCode ?? r.signal}); console tail: ${consoleTail(r.console)}`);
    }
    return ready;
  }
}

/** What the guest printed (not markers, not kernel lines) just before the line starting with `marker`. */
function outputBefore(lines: readonly string[], marker: string): string[] {
  const at = lines.findIndex((l) => l.startsWith(marker));
  const out: string[] = [];
  for (let i = at - 1; i >= 0 && out.length < 3; i--) {
    const l = lines[i]!.trim();
    if (l.startsWith(MARKER)) break;
    if (l !== '' && !/^\[\s*\d+\.\d+\]/.test(l)) out.unshift(l);
  }
  return out;
}

async function readOutputs(out: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for await (const entry of readTar(createReadStream(out), out)) {
    if (entry.type === 'file') files.set(entry.path.replace(/^\.\//, ''), await memberBytes(entry));
  }
  return files;
}
