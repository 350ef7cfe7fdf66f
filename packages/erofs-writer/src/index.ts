export type { ErofsOptions, ErofsResult, TarOptions } from './writer.js';
export { checkErofsOptions, writeErofs, writeErofsFromTar, writeErofsFromTarEntries } from './writer.js';
