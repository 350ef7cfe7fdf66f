import type { DeviceSlot } from './device-table.js';
import type { ErofsWhere, Fail } from './errors.js';
import type { BlockFile } from './io.js';

/**
 * Where the bytes of each device live: the primary image (device 0), extra devices in separate
 * files, or, on a "flat" disk, extra devices inside the primary at each slot's mapped_blkaddr.
 * Flat mode applies when no files are given and every slot has a mapped_blkaddr (how Linux >= 6.4
 * mounts an image without -o device=).
 */
export class DeviceMap {
  readonly flat: boolean;

  constructor(
    private readonly primary: BlockFile,
    readonly slots: readonly DeviceSlot[],
    private readonly files: readonly BlockFile[],
    private readonly blockSize: number,
    private readonly fail: Fail,
  ) {
    if (files.length > slots.length) fail('BAD_DEVICE_TABLE', `${files.length} devices given, the image has ${slots.length}`);
    this.flat = files.length === 0 && slots.length > 0 && slots.every((s) => s.mapped_blkaddr > 0);
  }

  /**
   * The file and byte offset holding `length` bytes at `physical` of device `device`. With
   * separate files, device-0 addresses inside a slot's mapped range belong to that slot (unified
   * addressing, kernel erofs_map_dev).
   */
  resolve(device: number, physical: number, length: number, where: ErofsWhere): { file: BlockFile; pos: number } {
    const bs = this.blockSize;
    if (device === 0) {
      if (this.files.length) {
        for (const [i, slot] of this.slots.entries()) {
          const start = slot.mapped_blkaddr * bs;
          if (slot.mapped_blkaddr && physical >= start && physical < start + slot.blocks * bs) return this.resolve(i + 1, physical - start, length, where);
        }
      }
      return { file: this.primary, pos: physical };
    }
    const slot = this.slots[device - 1];
    if (!slot) this.fail('BAD_CHUNK', `device id ${device} beyond the ${this.slots.length} extra devices`, where);
    if (physical + length > slot.blocks * bs) this.fail('BLOCK_OUT_OF_RANGE', `${length} bytes at ${physical} lie outside device ${device} (${slot.blocks} blocks)`, { ...where, device });
    if (this.flat) return { file: this.primary, pos: slot.mapped_blkaddr * bs + physical };
    const file = this.files[device - 1];
    if (!file) this.fail('IO', `data on device ${device} (${slot.tag || 'no tag'}) but no file was given for it (--device)`, { ...where, device });
    return { file, pos: physical };
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}
