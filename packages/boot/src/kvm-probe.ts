import { accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTempDir, removeTemp } from '@fstools/fstree';
import { guestInit } from './guest-init.js';
import { writeInitramfs } from './initramfs.js';
import type { GuestKit } from './kernel.js';
import type { Accel } from './qemu.js';
import { consoleTail, findQemu, runQemu } from './qemu.js';

export interface AccelChoice {
  accel: Accel;
  /** Why: "requested", "no usable /dev/kvm", "KVM probe guest booted in 1.2 s", ... */
  reason: string;
}

/** A KVM guest that works reaches its init within a second or two; a nested one here hangs. */
export const PROBE_WATCHDOG_MS = 8_000;

const probes = new Map<string, Promise<AccelChoice>>();

/**
 * The accelerator to boot with. `auto` uses KVM only when /dev/kvm opens and a probe guest (the
 * kernel and a busybox-only initramfs that prints a marker and powers off) finishes under it
 * within a short watchdog; otherwise TCG. The probe runs once per process and kernel.
 */
export function chooseAccel(want: Accel | 'auto', kit: GuestKit, qemu?: string): Promise<AccelChoice> {
  if (want !== 'auto') return Promise.resolve({ accel: want, reason: 'requested' });
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return Promise.resolve({ accel: 'tcg', reason: 'no usable /dev/kvm' });
  }
  const key = `${findQemu(qemu)}\0${kit.kernel}`;
  let probe = probes.get(key);
  if (!probe) {
    probe = probeKvm(kit, qemu);
    probes.set(key, probe);
  }
  return probe;
}

async function probeKvm(kit: GuestKit, qemu?: string): Promise<AccelChoice> {
  const work = makeTempDir(join(tmpdir(), 'boot-ts-probe-'));
  try {
    const initrd = join(work, 'probe.cpio');
    writeInitramfs({ kit: { userland: kit.userland, modules: [] }, init: guestInit({ mount: false, job: '' }) }, initrd);
    const r = await runQemu({ qemu, accel: 'kvm', kernel: kit.kernel, initrd, drives: [], memoryMiB: 256, timeoutMs: PROBE_WATCHDOG_MS });
    const done = r.markers.find((m) => m.word === 'done');
    if (done) return { accel: 'kvm', reason: `KVM probe guest finished in ${(done.at / 1000).toFixed(1)} s` };
    const why = r.timedOut ? `hung for ${PROBE_WATCHDOG_MS / 1000} s` : `failed (qemu exit ${r.exitCode ?? r.signal}: ${consoleTail(r.console, 1)})`;
    return { accel: 'tcg', reason: `KVM probe guest ${why}` };
  } finally {
    removeTemp(work);
  }
}
