export type { ErofsOptions, ErofsResult, TarOptions } from './writer.js';
export { writeErofs, writeErofsFromTar } from './writer.js';
