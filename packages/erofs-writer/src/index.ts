export type { ErofsOptions, ErofsResult, TarOptions, TarResult } from './writer.js';
export { checkErofsOptions, writeErofs, writeErofsFromTar, writeErofsFromTarEntries } from './writer.js';
