import { EROFS_DEVT_SLOT_SIZE, EROFS_DEVT_TAG_SIZE } from './constants.js';
import type { Fail } from './errors.js';

/** struct erofs_deviceslot: one extra device (blob) the image's chunks may point into. */
export interface DeviceSlot {
  /** tag[64] up to the first NUL (usually a digest or a layer id). */
  tag: string;
  /** Size of the device in blocks (blocks_lo). */
  blocks: number;
  /** Where the device starts on the unified ("flat") address space (uniaddr_lo / mapped_blkaddr). */
  mapped_blkaddr: number;
}

/** Parses one 128-byte slot. */
export function parseDeviceSlot(b: Uint8Array): DeviceSlot {
  const v = new DataView(b.buffer, b.byteOffset, EROFS_DEVT_SLOT_SIZE);
  const tag = b.subarray(0, EROFS_DEVT_TAG_SIZE);
  const nul = tag.indexOf(0);
  return {
    tag: Buffer.from(tag.subarray(0, nul < 0 ? tag.length : nul)).toString('latin1'),
    blocks: v.getUint32(64, true),
    mapped_blkaddr: v.getUint32(68, true),
  };
}

/** Byte offset of the device table on the primary device: devt_slotoff * 128. */
export function deviceTableOffset(devt_slotoff: number): number {
  return devt_slotoff * EROFS_DEVT_SLOT_SIZE;
}

/** Reads `count` slots at devt_slotoff; the table must not overlap the superblock (ending at `sbEnd`). */
export function readDeviceTable(devt_slotoff: number, count: number, sbEnd: number, read: (pos: number, len: number) => Uint8Array, fail: Fail): DeviceSlot[] {
  const start = deviceTableOffset(devt_slotoff);
  if (count && start < sbEnd) fail('BAD_DEVICE_TABLE', `device table at ${start} overlaps the superblock`, { offset: start });
  return Array.from({ length: count }, (_, i) => parseDeviceSlot(read(start + i * EROFS_DEVT_SLOT_SIZE, EROFS_DEVT_SLOT_SIZE)));
}
