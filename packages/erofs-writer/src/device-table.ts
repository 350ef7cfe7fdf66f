import { EROFS_DEVICE_TAG_SIZE, EROFS_DEVT_SLOT_SIZE } from './constants.js';

/** One struct erofs_deviceslot. */
export interface DeviceSlot {
  /** Identifies the blob (a digest); must not be empty (flat mounts before Linux 6.6 need it). */
  tag: string;
  blocks: number;
  /** Where the device starts when all devices sit on one disk after this image ("flat" mode). */
  mapped_blkaddr: number;
}

/**
 * The device table: slot N-1 describes the device a chunk with device_id N lives on. It sits at
 * byte devt_slotoff * 128 of the primary device.
 */
export function encodeDeviceTable(slots: readonly DeviceSlot[]): Buffer {
  const buf = Buffer.alloc(slots.length * EROFS_DEVT_SLOT_SIZE);
  slots.forEach((s, i) => {
    const at = i * EROFS_DEVT_SLOT_SIZE;
    const tag = Buffer.from(s.tag, 'utf8');
    if (tag.length === 0 || tag.length > EROFS_DEVICE_TAG_SIZE) throw new Error(`device tag '${s.tag}' must be 1..64 bytes`);
    tag.copy(buf, at);
    buf.writeUInt32LE(s.blocks, at + EROFS_DEVICE_TAG_SIZE);
    buf.writeUInt32LE(s.mapped_blkaddr, at + EROFS_DEVICE_TAG_SIZE + 4);
  });
  return buf;
}
