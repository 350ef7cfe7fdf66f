export { formatDescriptor, sectorsOf, SECTOR, writeDescriptor } from './descriptor.js';
export type { AdapterType, DescriptorOptions, ExtentSpec, WriteOptions } from './descriptor.js';
export { badExtentName } from './extent-name.js';
export { openDisk, parseDescriptor } from './parse.js';
export type { Descriptor, DiskExtent, ExtentAccess, ParsedExtent, VmdkDisk } from './parse.js';
export { writeRawDisk } from './raw.js';
