export type { ErofsOptions, ErofsResult, TarOptions } from './writer.js';
export { checkErofsOptions, writeErofs, writeErofsFromTar } from './writer.js';
