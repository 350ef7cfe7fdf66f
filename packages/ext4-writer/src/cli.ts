#!/usr/bin/env node
import { statSync } from 'node:fs';
import { buildTime, hostXattrs, list, packageVersion, parseArgs, parseSeconds, parseSize, parseWhole, progressLine, runCli, usage, xattrsOff } from '@fstools/cli-kit';
import type { HostXattrs } from '@fstools/cli-kit';
import { checkOutputs, fileChunks, InputError, treeFromDirectory } from '@fstools/fstree';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { OptionError } from './errors.js';
import type { Ext4Options, Ext4Result, TarSource } from './writer.js';
import { writeExt4, writeExt4FromTar } from './writer.js';
import { isUsageType } from './layout/geometry.js';
import type { FsType } from './features.js';

/** Exit codes: 0 success, 1 error, 2 usage. */
async function main(argv: string[]): Promise<number> {
  const parser = yargs(argv)
    .scriptName('mkext4-ts')
    .usage(
      '$0 [options] IMAGE [SIZE]\n\n' +
        'Make an ext4 filesystem image in the file IMAGE as mke2fs would, with its options where they exist.\n' +
        'SIZE takes K, M, G, T suffixes (powers of 1024); a bare number is KiB, or blocks with -b.\n' +
        'Without SIZE an existing IMAGE keeps its size. The file is sparse: unwritten blocks are holes.',
    )
    .wrap(Math.min(110, process.stdout.columns || 110))
    .command('$0 <image> [size]', false)
    .option('b', { type: 'string', describe: 'block size: 1024, 2048 or 4096, or 1k, 2k, 4k (default by size, as mke2fs)' })
    .option('I', { type: 'string', describe: 'inode size in bytes (default 256)' })
    .option('N', { type: 'string', describe: 'number of inodes' })
    .option('i', { type: 'string', describe: 'bytes per inode (K/M suffixes)' })
    .option('m', { type: 'string', describe: 'percent of blocks reserved for root (default 5)' })
    .option('J', { type: 'string', describe: 'journal options: size=MiB' })
    .option('L', { type: 'string', describe: 'volume label (up to 16 bytes)' })
    .option('U', { type: 'string', describe: 'UUID, random, time or clear (default: derived from the content)' })
    .option('E', { type: 'string', describe: 'extended options: root_owner[=UID:GID], hash_seed=UUID, resize=BLOCKS; repeatable' })
    .option('O', { type: 'string', describe: 'features, comma separated; ^name switches one off; repeatable' })
    .option('t', { type: 'string', describe: 'filesystem type for the default features: ext2, ext3 or ext4', default: 'ext4' })
    .option('T', { type: 'string', describe: 'build time in UNIX seconds (default $SOURCE_DATE_EPOCH): later times are clamped to it; or mke2fs usage types (small, news, largefile, ...)' })
    .option('d', { type: 'string', describe: 'copy this directory or tar archive (plain, gzip or zstd) into the image' })
    .option('x', { type: 'string', describe: 'ours, not mke2fs\'s: -x -1 leaves out the xattrs of a -d directory (a tar\'s are kept), as mkfs.erofs -x -1' })
    .option('overlay-upper', { type: 'boolean', describe: 'lay out an overlayfs upper layer: the content in /upper, and /work' })
    .option('patch', { type: 'string', describe: 'OCI layer tar to bake into /upper (with --overlay-upper); repeatable, applied in order' })
    .option('F', { type: 'boolean', alias: 'force', describe: 'allow growing an existing IMAGE' })
    .option('json', { type: 'boolean', describe: 'print what was made as JSON on stdout' })
    .option('q', { type: 'boolean', alias: 'quiet', describe: 'print nothing but errors' });
  const parsed = await parseArgs('mkext4-ts', packageVersion(import.meta.url), parser);
  if ('exit' in parsed) return parsed.exit;
  const { args } = parsed;

  const image = String(args.image);
  const source = args.d as string | undefined;
  const inputs: Array<[string, string]> = list(args.patch).map((p) => ['--patch', p]);
  if (source !== undefined) inputs.push(['-d', source]);
  checkOutputs([['IMAGE', image]], inputs);
  let noXattrs: boolean;
  try {
    noXattrs = xattrsOff(args.x);
  } catch (err) {
    if (err instanceof InputError) return usage('mkext4-ts', err.message);
    throw err;
  }
  const opts = optionsFrom(args, image);
  const progress = !args.q && !args.json && process.stderr.isTTY ? progressLine(process.stderr) : undefined;
  if (progress) opts.onProgress = (bytes) => progress.update(() => `${(bytes / 1048576).toFixed(1)} MiB of file data`);
  let result: Ext4Result;
  let host: HostXattrs | undefined;
  try {
    if (source === undefined) result = await writeExt4(undefined, image, opts);
    else if (isDirectory(source)) {
      opts.checkSourceUnchanged = true;
      const xattrs = hostXattrs('mkext4-ts', noXattrs, Boolean(args.q));
      host = xattrs.status;
      result = await writeExt4(treeFromDirectory(source, { xattrs: xattrs.reader }), image, opts);
    } else result = await writeExt4FromTar(tarSource(source), image, opts);
  } finally {
    progress?.done();
  }
  if (!args.q) for (const note of result.notes) console.error(`mkext4-ts: note: ${note}`);
  if (args.json) console.log(JSON.stringify({ ...result, ...(host && { hostXattrs: host }) }));
  else if (!args.q) {
    console.log(
      `${result.path}: ext4, ${result.blocks} blocks of ${result.blockSize} bytes, ${result.inodes} inodes, ` +
        `${result.inodes - result.freeInodes} used, ${result.blocks - result.freeBlocks} blocks used, uuid ${result.uuid}, ${result.seconds.toFixed(2)} s`,
    );
  }
  return 0;
}

type Args = Record<string, unknown>;

/** A whole-number option, when given. */
function whole(args: Args, key: string): number | undefined {
  return args[key] === undefined ? undefined : parseWhole(String(args[key]), `-${key}`);
}

/** Turns the command line into writer options, checking IMAGE and SIZE as mke2fs does. */
function optionsFrom(args: Args, image: string): Ext4Options {
  // As mke2fs (parse_num_blocks2): bytes, a K suffix allowed.
  const blockSize = args.b === undefined ? undefined : parseSize(String(args.b), '-b');
  const existing = fileSize(image);
  let size: number;
  let fileBytes: number | undefined;
  if (args.size !== undefined) {
    size = parseSize(String(args.size), 'SIZE', blockSize ?? 1024);
    if (existing !== undefined && size > existing && !args.F) {
      throw new OptionError(`${image} exists and is ${existing} bytes; growing it to ${size} needs -F`);
    }
    if (existing !== undefined && existing > size) fileBytes = existing;
  } else {
    if (existing === undefined) throw new OptionError(`${image} does not exist and no SIZE was given`);
    // mke2fs uses whole pages of an existing file; the file keeps its size.
    size = existing - (existing % 4096);
    fileBytes = existing;
  }
  const opts: Ext4Options = { size, fileSize: fileBytes, blockSize };
  opts.inodeSize = whole(args, 'I');
  opts.inodeCount = whole(args, 'N');
  if (args.i !== undefined) opts.inodeRatio = parseSize(String(args.i), '-i');
  if (args.m !== undefined) {
    const m = String(args.m);
    if (!/^\d+(\.\d+)?$/.test(m)) throw new OptionError(`-m: '${m}' is not a percentage`);
    opts.reservedRatio = Number(m);
  }
  if (args.L !== undefined) opts.label = String(args.L);
  if (args.U !== undefined) opts.uuid = String(args.U);
  const fsType = String(args.t);
  if (!['ext2', 'ext3', 'ext4'].includes(fsType)) throw new OptionError(`unknown filesystem type '${fsType}' (ext2, ext3 or ext4)`);
  opts.fsType = fsType as FsType;
  opts.features = list(args.O);
  if (args.J !== undefined) {
    for (const j of String(args.J).split(',')) {
      const m = /^size=(\d+)$/.exec(j);
      if (!m) throw new OptionError(`bad journal option '${j}' (supported: size=MiB)`);
      opts.journalMiB = Number(m[1]);
    }
  }
  for (const e of list(args.E).flatMap((x) => x.split(','))) extendedOption(e, opts);
  // -T is a build time, or else (as in mke2fs) usage types; the time then comes from SOURCE_DATE_EPOCH.
  const t = args.T as string | undefined;
  if (t !== undefined && parseSeconds(t) === undefined) {
    opts.usageTypes = t.split(',').filter((x) => x);
    if (opts.usageTypes.length === 0 || !opts.usageTypes.every(isUsageType)) throw new OptionError(`-T '${t}' is neither a time in seconds nor a known usage type`);
  }
  opts.timestamp = buildTime(opts.usageTypes ? undefined : t);
  opts.overlayUpper = Boolean(args['overlay-upper']);
  opts.patches = list(args.patch).map(tarSource);
  return opts;
}

function extendedOption(e: string, opts: Ext4Options): void {
  if (e === '') return;
  const [key, value] = e.split('=', 2) as [string, string | undefined];
  if (key === 'root_owner') {
    if (value === undefined) {
      opts.rootOwner = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
      return;
    }
    const m = /^(\d+):(\d+)$/.exec(value);
    if (!m || Number(m[1]) > 0xffffffff || Number(m[2]) > 0xffffffff) throw new OptionError(`-E root_owner='${value}' is not UID:GID`);
    opts.rootOwner = { uid: Number(m[1]), gid: Number(m[2]) };
  } else if (key === 'hash_seed' && value !== undefined) opts.hashSeed = value;
  else if (key === 'resize' && value !== undefined) {
    if (!/^\d+$/.test(value)) throw new OptionError(`-E resize='${value}' is not a number of blocks`);
    opts.resizeMaxBlocks = Number(value);
  } else throw new OptionError(`unknown extended option '${e}' (supported: root_owner[=UID:GID], hash_seed=UUID, resize=BLOCKS)`);
}

function fileSize(path: string): number | undefined {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new OptionError(`${path} is not a regular file`);
    return st.size;
  } catch (err) {
    if (err instanceof OptionError) throw err;
    return undefined;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function tarSource(path: string): TarSource {
  return { name: path, open: () => fileChunks(path) };
}

runCli('mkext4-ts', () => main(hideBin(process.argv)), { expected: [OptionError], cleanUpOnSignals: true });
