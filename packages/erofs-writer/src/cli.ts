#!/usr/bin/env node
import { buildTime, hostXattrs, list, packageVersion, parseArgs, parseSize, parseWhole, progressLine, runCli, splitJoinedShort, usage, xattrsOff } from '@fstools/cli-kit';
import type { HostXattrs } from '@fstools/cli-kit';
import { checkOutputs, fileChunks, InputError, joinPath, splitPath, treeFromDirectory, utf8 } from '@fstools/fstree';
import type { ByteString } from '@fstools/fstree';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { compressionFromArgs, compressionOptionHelp } from './compression-args.js';
import type { ErofsOptions, ErofsResult } from './writer.js';
import { checkTarIndexOptions, writeErofsTarIndex } from './tar-index.js';
import { checkErofsOptions, writeErofs, writeErofsFromTar } from './writer.js';

/** yargs reads a lone "-" as a flag; it stands for stdin here, so it travels under another name. */
const STDIN = '\u0000stdin';

/** Exit codes: 0 success, 1 error, 2 usage. */
async function main(argv: string[]): Promise<number> {
  // mkfs.erofs's --tar takes its mode only as --tar=MODE, so `--tar IMAGE SOURCE` stays as it is.
  const tarModes = argv.filter((a) => a.startsWith('--tar=')).map((a) => a.slice('--tar='.length));
  const badMode = tarModes.find((m) => m !== 'f' && m !== 'i');
  if (badMode !== undefined) return usage('mkerofs-ts', `--tar=${badMode}: the mode is f (full image, the default) or i (an index followed by the tar)`);
  const tarIndex = tarModes.includes('i');
  argv = argv.map((a) => (a.startsWith('--tar=') ? '--tar' : a));
  const help = compressionOptionHelp('-z', ['noinline_data']);
  const parser = yargs(splitJoinedShort(argv, 'bULTEzCx').map((a) => (a === '-' ? STDIN : a)))
    .scriptName('mkerofs-ts')
    .usage('$0 [options] IMAGE SOURCE\n\nMake an EROFS image from a directory, or with --tar from a tar file or - (stdin; gzip and zstd detected).')
    .command('$0 <image> <source>', false)
    .option('tar', { type: 'boolean', describe: 'SOURCE is a tar archive (plain, gzip or zstd), or - for stdin. --tar=f (the same) writes the files\' data into the image; --tar=i writes an index with 512-byte blocks whose files point into the tar, and appends the (decompressed) tar after it' })
    .option('b', { type: 'string', describe: 'block size in bytes: 512, 1024, 2048 or 4096 (default 4096)' })
    .option('U', { type: 'string', describe: 'volume UUID (default: derived from the content)' })
    .option('L', { type: 'string', describe: 'volume label (up to 16 bytes)' })
    .option('T', { type: 'string', describe: 'build time in UNIX seconds; later mtimes are clamped to it (default: $SOURCE_DATE_EPOCH)' })
    .option('z', { type: 'string', describe: help.z })
    .option('C', { type: 'string', describe: help.C })
    .option('E', { type: 'string', describe: help.E })
    .option('workers', { type: 'string', describe: help.workers })
    .option('chunksize', { type: 'string', describe: 'chunk-based files with this chunk size (power of two >= block size, K/M/G suffixes); zero chunks become holes' })
    .option('all-root', { type: 'boolean', describe: 'make all files owned by root' })
    .option('force-uid', { type: 'string', describe: 'set all file uids to UID' })
    .option('force-gid', { type: 'string', describe: 'set all file gids to GID' })
    .option('uid-offset', { type: 'string', describe: 'add N to all uids' })
    .option('gid-offset', { type: 'string', describe: 'add N to all gids' })
    .option('exclude-path', { type: 'string', describe: 'leave out this path (relative to SOURCE) and what is under it; repeatable' })
    .option('exclude-regex', { type: 'string', describe: 'leave out paths matching this regular expression; repeatable' })
    .option('x', { type: 'string', describe: 'as mkfs.erofs, -x -1 leaves out the xattrs of a SOURCE directory (a tar\'s are kept); no other value is supported' })
    .option('xattr-prefix', { type: 'string', describe: 'store xattrs under this long name prefix compactly (e.g. trusted.overlay.); repeatable' })
    .option('ovl-whiteouts', { type: 'boolean', alias: 'aufs', describe: 'tar mode: turn OCI .wh. whiteouts into overlayfs char 0/0 whiteouts and opaque xattrs' })
    .option('json', { type: 'boolean', describe: 'print what was made as JSON on stdout' })
    .option('q', { type: 'boolean', alias: 'quiet', describe: 'print nothing but errors' });
  const parsed = await parseArgs('mkerofs-ts', packageVersion(import.meta.url), parser);
  if ('exit' in parsed) return parsed.exit;
  const { args } = parsed;
  const image = String(args.image);
  const source = args.source === STDIN ? '-' : String(args.source);
  checkOutputs([['IMAGE', image]], args.tar && source !== '-' ? [['SOURCE', source]] : []);
  let opts: ErofsOptions;
  let noXattrs: boolean;
  try {
    opts = optionsFrom(args);
    if (tarIndex) {
      if (args.b === undefined) delete opts.blockSize;
      checkTarIndexOptions(opts);
    }
    noXattrs = xattrsOff(args.x);
  } catch (err) {
    if (err instanceof InputError) return usage('mkerofs-ts', err.message);
    throw err;
  }
  let exclude: ((path: ByteString) => boolean) | undefined;
  try {
    exclude = excluder(list(args['exclude-path']), list(args['exclude-regex']));
  } catch (err) {
    return usage('mkerofs-ts', (err as Error).message);
  }
  const progress = !args.q && !args.json && process.stderr.isTTY ? progressLine(process.stderr) : undefined;
  if (progress) opts.progress = (files, bytes) => progress.update(() => `${files} files, ${(bytes / 1048576).toFixed(1)} MiB of data`);
  let result: ErofsResult;
  let host: HostXattrs | undefined;
  try {
    if (args.tar) {
      // As tar does: a terminal holds no archive, and waiting on one only looks like a hang.
      if (source === '-' && process.stdin.isTTY) throw new InputError('<stdin>', 'is a terminal: pipe a tar archive in, or name one');
      const input = source === '-' ? process.stdin : fileChunks(source);
      const write = tarIndex ? writeErofsTarIndex : writeErofsFromTar;
      result = await write(input, source === '-' ? '<stdin>' : source, image, { ...opts, exclude, whiteouts: args['ovl-whiteouts'] ? 'overlay' : 'keep' });
    } else {
      if (args['ovl-whiteouts']) throw new InputError('--ovl-whiteouts', 'only applies with --tar');
      const xattrs = hostXattrs('mkerofs-ts', noXattrs, Boolean(args.q));
      host = xattrs.status;
      result = await writeErofs(treeFromDirectory(source, { exclude, xattrs: xattrs.reader }), image, opts);
    }
  } finally {
    progress?.done();
  }
  if (args.json) {
    console.log(JSON.stringify({ image: result.path, inodes: result.inodes, blocks: result.blocks, bytes: result.bytes, seconds: result.seconds, uuid: result.uuid, ...(host && { hostXattrs: host }) }));
  } else if (!args.q) {
    console.log(`${result.path}: ${result.inodes} inodes, ${result.blocks} blocks of ${opts.blockSize ?? (tarIndex ? 512 : 4096)} bytes (${result.bytes} bytes), uuid ${result.uuid}, ${result.seconds.toFixed(2)} s`);
  }
  return 0;
}

type Args = Record<string, unknown>;

function optionsFrom(args: Args): ErofsOptions {
  const opts: ErofsOptions = { blockSize: args.b === undefined ? 4096 : parseWhole(String(args.b), '-b') };
  if (args.U !== undefined) opts.uuid = args.U as string;
  if (args.L !== undefined) opts.label = args.L as string;
  opts.timestamp = buildTime(args.T as string | undefined);
  const z = compressionFromArgs(args, ['noinline_data']);
  if (z.extended.includes('noinline_data')) opts.inlineData = false;
  if (z.compression) opts.compression = z.compression;
  if (z.workers !== undefined) opts.workers = z.workers;
  if (args.chunksize !== undefined) opts.chunkSize = parseSize(args.chunksize as string, '--chunksize');
  const id = (key: string): number | undefined => (args[key] === undefined ? undefined : parseWhole(String(args[key]), `--${key}`, 0, 0xffffffff));
  opts.owners = {
    allRoot: args['all-root'] as boolean | undefined,
    forceUid: id('force-uid'),
    forceGid: id('force-gid'),
    uidOffset: id('uid-offset'),
    gidOffset: id('gid-offset'),
  };
  opts.xattrPrefixes = list(args['xattr-prefix']);
  checkErofsOptions(opts);
  return opts;
}

/** mkfs.erofs semantics: exact relative paths, or regular expressions over the relative path. */
function excluder(paths: string[], regexes: string[]): ((path: ByteString) => boolean) | undefined {
  if (paths.length === 0 && regexes.length === 0) return undefined;
  const exact = new Set(
    paths.map((p) => {
      const parts = splitPath(utf8(p), true);
      if (typeof parts === 'string') throw new InputError('--exclude-path', `'${p}': ${parts}`);
      return joinPath(parts);
    }),
  );
  const res = regexes.map((r) => {
    try {
      return new RegExp(r, 'u');
    } catch (err) {
      throw new InputError('--exclude-regex', `'${r}': ${(err as Error).message}`);
    }
  });
  return (path) => exact.has(path) || (res.length > 0 && res.some((re) => re.test(Buffer.from(path, 'latin1').toString('utf8'))));
}

runCli('mkerofs-ts', () => main(hideBin(process.argv)), { cleanUpOnSignals: true });
