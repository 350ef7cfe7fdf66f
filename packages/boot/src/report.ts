import type { Accel } from './qemu.js';
import type { BootResult } from './session.js';

export type CheckName = 'verify' | 'persist' | 'crash';

export interface BootTiming {
  accel: Accel;
  /** ms from qemu's start until the init had mounted the overlay. */
  bootMs: number;
  /** ms from qemu's start to its exit. */
  totalMs: number;
}

/** The outcome of one check, as `--json` prints it. */
export interface CheckReport {
  check: CheckName;
  ok: boolean;
  /** One line: what was proven, or what failed. */
  summary: string;
  /** The first differences or problems (empty when ok). */
  problems: string[];
  boots: BootTiming[];
}

export function timing(b: BootResult): BootTiming {
  return { accel: b.accel, bootMs: b.bootMs, totalMs: b.totalMs };
}

/** How many differences a report keeps. */
export const MAX_PROBLEMS = 20;
