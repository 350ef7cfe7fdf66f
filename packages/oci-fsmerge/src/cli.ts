#!/usr/bin/env node
import { packageVersion, parseArgs, runCli, splitJoinedShort, usage as usageOf } from '@fstools/cli-kit';
import { checkErofsOptions, compressionFromArgs, compressionOptionHelp } from '@fstools/erofs-writer';
import { InputError } from '@fstools/fstree';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { FsmergeInput, FsmergeResult } from './fsmerge.js';
import { fsmerge } from './fsmerge.js';
import { mib, TerminalProgress } from './progress.js';
import type { ImageReference } from '@fstools/registry';
import { parsePlatform, parseReference } from '@fstools/registry';

/** Exit codes: 0 done, 1 bad input or failure, 2 usage. */
async function main(argv: string[]): Promise<number> {
  const help = compressionOptionHelp('--standalone -z');
  const parser = yargs(splitJoinedShort(argv, 'zCEoj'))
    .scriptName('fsmerge')
    .usage('$0 IMAGE -o fsmeta.erofs [options]\n$0 --layer L0.tar --layer L1.tar.gz ... -o fsmeta.erofs\n$0 --layer L0.erofs --layer L1.erofs ... -o fsmeta.erofs   (rebuild)\n\nIMAGE, as skopeo names images:\n  docker://[REGISTRY[:PORT]/]REPO[:TAG|@DIGEST]   pulled from the registry, each layer converted as it downloads\n  oci:DIR[:REF|:@N], oci-archive:FILE[:REF|:@N]  an OCI image layout, or a tar of one\n  docker-archive:FILE[:REF|:@N]                  a docker-save tar (legacy or Docker 25+)\n  PATH                                           any of those on disk, told by its contents\n  -                                              an archive on stdin (docker save NAME | fsmerge - -o ...)')
    .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'fsmeta.erofs to write (the whole image with --standalone)' })
    .option('blobs', { type: 'string', describe: 'layer image cache, content-addressed by diff ID (default: blobs/ beside the output)' })
    .option('vmdk', { type: 'string', describe: 'also write a VMDK descriptor joining fsmeta and the layer images' })
    .option('raw', { type: 'string', describe: 'also write the same disk as one raw file' })
    .option('standalone', { type: 'boolean', default: false, describe: 'one self-contained EROFS holding all data; no blobs kept' })
    .option('z', { type: 'string', describe: `with --standalone: ${help.z}. Layer images that an fsmeta references always stay uncompressed (fsmeta maps their bytes in place)` })
    .option('C', { type: 'string', describe: help.C })
    .option('E', { type: 'string', describe: help.E })
    .option('workers', { type: 'string', describe: help.workers })
    .option('layer', { type: 'string', array: true, describe: 'layer tar (plain, gzip, zstd) or layer image, bottom first, instead of IMAGE' })
    .option('platform', { type: 'string', describe: 'os/arch[/variant] to pick from a multi-platform index' })
    .option('ref', { type: 'string', describe: 'image name or tag to pick from a multi-image archive' })
    .option('jobs', { alias: 'j', type: 'number', describe: 'layers downloaded and converted at once (default: min(2, cores))' })
    .option('creds', { type: 'string', describe: 'docker://: USER[:PASS] for the registry' })
    .option('authfile', { type: 'string', describe: 'docker://: auth.json to read credentials from (default: REGISTRY_AUTH_FILE, then containers auth.json, ~/.docker/config.json)' })
    .option('tls-verify', { type: 'boolean', describe: 'docker://: require HTTPS with a trusted certificate (default true; false also tries plain HTTP)' })
    .option('keep-blobs', { type: 'string', describe: 'docker://: also keep what was pulled as an OCI layout in this directory (blobs there are not fetched again)' })
    .option('max-entries', { type: 'number', describe: 'refuse layers with more tar members than this' })
    .option('json', { type: 'boolean', default: false, describe: 'print what was made as JSON' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'print nothing on success' })
    .wrap(100);
  const parsed = await parseArgs('fsmerge', packageVersion(import.meta.url), parser, { freePositionals: true });
  if ('exit' in parsed) return parsed.exit;
  const { args } = parsed;
  const images = args._.map(String);
  const layers = args.layer ?? [];
  if (images.length > 1) return usage('give one IMAGE');
  if ((images.length === 1) === layers.length > 0) return usage('give either IMAGE or --layer files');
  if (args.standalone && (args.vmdk || args.raw)) return usage('--standalone makes one image: --vmdk and --raw do not apply');
  if (args.jobs !== undefined && !(Number.isInteger(args.jobs) && args.jobs >= 1)) return usage('--jobs must be a positive integer');
  if (args['max-entries'] !== undefined && !(Number.isInteger(args['max-entries']) && args['max-entries'] >= 1)) return usage('--max-entries must be a positive integer');
  let platform;
  let z: ReturnType<typeof compressionFromArgs>;
  try {
    platform = args.platform ? parsePlatform(args.platform) : undefined;
    z = compressionFromArgs(args);
    if (z.compression) checkErofsOptions({ compression: z.compression }); // fsmerge's block size is the default, 4096
  } catch (err) {
    return usage((err as Error).message);
  }
  if ((z.compression || args.E !== undefined) && !args.standalone) return usage('-z, -C, -E and --workers apply with --standalone: layer images stay uncompressed, fsmeta maps their bytes in place');
  let reference: ImageReference | undefined;
  try {
    if (images.length === 1 && images[0] !== '-') reference = parseReference(images[0]!);
  } catch (err) {
    return usage((err as Error).message);
  }
  const remote = reference?.transport === 'docker';
  for (const flag of ['creds', 'authfile', 'tls-verify', 'keep-blobs'] as const) if (args[flag] !== undefined && !remote) return usage(`--${flag} applies to a docker:// IMAGE`);
  if (args.ref !== undefined && reference && reference.transport !== 'path') return usage('--ref applies to a plain path: give the image in the reference (oci:DIR:REF, docker-archive:FILE:REF)');
  const input: FsmergeInput = images[0] === '-' ? { archive: stdinArchive(), name: STDIN } : reference ? { reference } : { layers };
  const registry = {
    ...(args['tls-verify'] !== undefined && { tlsVerify: args['tls-verify'] }),
    ...(args.creds !== undefined && { creds: args.creds }),
    ...(args.authfile !== undefined && { authfile: args.authfile }),
  };
  const tty = process.stderr.isTTY && !args.quiet;
  const result = await fsmerge(input, {
    output: args.output,
    ...(args.blobs && { blobDir: args.blobs }),
    ...(args.vmdk && { vmdk: args.vmdk }),
    ...(args.raw && { raw: args.raw }),
    standalone: args.standalone,
    ...(z.compression && { compression: z.compression }),
    ...(z.workers !== undefined && { workers: z.workers }),
    ...(platform && { platform }),
    ...(args.ref !== undefined && { ref: args.ref }),
    ...(args.jobs !== undefined && { parallel: args.jobs }),
    ...(args['max-entries'] !== undefined && { limits: { maxEntries: args['max-entries'] } }),
    ...(remote && { registry }),
    ...(args['keep-blobs'] !== undefined && { keepBlobs: args['keep-blobs'] }),
    ...(tty && { onProgress: new TerminalProgress().onProgress }),
  });
  if (args.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else if (!args.quiet) process.stdout.write(summary(result));
  return 0;
}

const STDIN = '<stdin>';

/** stdin as an image archive; a terminal is refused (nothing would ever come). */
function stdinArchive(): AsyncIterable<Uint8Array> {
  if (process.stdin.isTTY) throw new InputError(STDIN, 'is a terminal: pipe an image archive in (docker save NAME | fsmerge - ...), or name one');
  return process.stdin;
}

function usage(msg: string): number {
  return usageOf('fsmerge', msg);
}

function summary(r: FsmergeResult): string {
  const lines = [`${r.fsmeta.path}: ${mib(r.fsmeta.bytes)}, ${r.fsmeta.inodes} inodes${r.standalone ? ' (standalone)' : ''}`];
  if (r.pull) lines.push(`pulled ${r.pull.pinned}: fetched ${mib(r.pull.fetched)}, ${r.pull.cacheHits} layer images cached${r.pull.keptIn ? `, kept in ${r.pull.keptIn}` : ''}`);
  for (const l of r.layers) lines.push(`  layer ${l.index} ${l.diffId} ${mib(l.bytes)}${l.reused ? ' (reused)' : ''}`);
  if (r.vmdk) lines.push(`${r.vmdk}: VMDK over ${r.devices.length} files`);
  if (r.raw) lines.push(`${r.raw}: raw disk`);
  lines.push(`done in ${r.seconds.toFixed(2)} s`);
  return lines.join('\n') + '\n';
}

runCli('fsmerge', () => main(hideBin(process.argv)), { cleanUpOnSignals: true });
