export { writeExt4, writeExt4FromTar } from './writer.js';
export type { Ext4Options, Ext4Result, TarSource } from './writer.js';
export { OptionError, TooSmallError } from './errors.js';
export type { FsType } from './features.js';
