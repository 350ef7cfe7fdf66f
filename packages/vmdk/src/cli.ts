#!/usr/bin/env node
import { packageVersion, parseArgs, runCli } from '@fstools/cli-kit';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { writeDescriptor } from './descriptor.js';
import type { AdapterType } from './descriptor.js';
import { openDisk } from './parse.js';
import { writeRawDisk } from './raw.js';

interface Common {
  json: boolean;
  quiet: boolean;
}

function report(argv: Common, json: unknown, text: string): void {
  if (argv.json) process.stdout.write(JSON.stringify(json) + '\n');
  else if (!argv.quiet) process.stdout.write(text + '\n');
}

function describeDisk(path: string): { json: unknown; text: string } {
  const disk = openDisk(path);
  const json = {
    descriptor: disk.descriptor,
    cid: disk.cid,
    createType: disk.createType,
    size: disk.size,
    extents: disk.extents.map((e) => ({ file: e.file, path: e.path, sectors: e.sectors, offset: e.offset, start: e.start })),
  };
  const text = [`${path}: ${disk.size} bytes, ${disk.extents.length} extent(s), CID ${disk.cid}`, ...disk.extents.map((e) => `  ${e.start}\t${e.sectors * 512}\t${e.file}`)].join('\n');
  return { json, text };
}

/** Exit codes: 0 done, 1 bad input, 2 usage. */
async function main(argv: string[]): Promise<number> {
  const parser = yargs(argv)
    .scriptName('vmdk-ts')
    .usage('$0 <command>: VMDK descriptors that join existing files into one disk without copying')
    .option('json', { type: 'boolean', default: false, describe: 'print a JSON result on stdout' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing on success' })
    .command(
      'create <descriptor> <files..>',
      'write a descriptor joining FILES in order (names relative to the descriptor unless --absolute)',
      (y) =>
        y
          .positional('descriptor', { type: 'string', demandOption: true })
          .positional('files', { type: 'string', array: true, demandOption: true })
          .option('absolute', { type: 'boolean', default: false, describe: 'write absolute file names' })
          .option('adapter-type', { choices: ['ide', 'lsilogic', 'buslogic', 'legacyESX'] as const, default: 'ide' as const }),
      (argv) => {
        writeDescriptor(argv.descriptor, argv.files, { absolute: argv.absolute, adapterType: argv.adapterType as AdapterType });
        const d = describeDisk(argv.descriptor);
        report(argv, d.json, d.text);
      },
    )
    .command(
      'info <descriptor>',
      'parse a descriptor, check its extent files and print the layout',
      (y) => y.positional('descriptor', { type: 'string', demandOption: true }),
      (argv) => {
        const d = describeDisk(argv.descriptor);
        report(argv, d.json, d.text);
      },
    )
    .command(
      'raw <descriptor> <out>',
      'write the disk as one raw file (the extents concatenated; zero runs left as holes)',
      (y) => y.positional('descriptor', { type: 'string', demandOption: true }).positional('out', { type: 'string', demandOption: true }),
      async (argv) => {
        const disk = openDisk(argv.descriptor);
        await writeRawDisk(disk, argv.out);
        report(argv, { out: argv.out, size: disk.size }, `${argv.out}: ${disk.size} bytes`);
      },
    )
    .demandCommand(1, 'a command is required');
  const parsed = await parseArgs('vmdk-ts', packageVersion(import.meta.url), parser);
  return 'exit' in parsed ? parsed.exit : 0;
}

runCli('vmdk-ts', () => main(hideBin(process.argv)), { cleanUpOnSignals: true });
