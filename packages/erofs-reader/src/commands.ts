import { writeSync } from 'node:fs';
import { list, packageVersion, parseArgs } from '@fstools/cli-kit';
import type { ByteString } from '@fstools/fstree';
import { displayName, formatUuid, manifest, manifestText, parseDisplayName } from '@fstools/fstree';
import yargs from 'yargs';
import { ErofsError } from './errors.js';
import { extract } from './extract.js';
import { featureNames } from './features.js';
import { fsck } from './fsck.js';
import type { ErofsStat } from './image.js';
import { ErofsImage } from './image.js';

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x), 2);
/** Writes all of `data` to stdout synchronously (retrying when a non-blocking pipe is full). */
function writeOut(data: Uint8Array): void {
  for (let done = 0; done < data.length; ) {
    try {
      done += writeSync(1, data, done, data.length - done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
}
const out = (s: string) => writeOut(Buffer.from(s.endsWith('\n') ? s : `${s}\n`));

interface Common {
  image: string;
  device: string | string[] | undefined;
  json: boolean;
}

function withImage<T>(args: Common, fn: (img: ErofsImage) => T): T {
  const img = ErofsImage.open(args.image, { devices: list(args.device) });
  try {
    return fn(img);
  } finally {
    img.close();
  }
}

/** Paths on the command line are UTF-8, or "b64:..." for raw bytes (as manifests print them). */
const pathArg = (p: string | undefined): ByteString => parseDisplayName(p ?? '/');

function info(img: ErofsImage): Record<string, unknown> {
  const sb = img.superblock;
  return {
    blockSize: img.blockSize,
    blocks: sb.blocks,
    inodes: sb.inos,
    rootNid: sb.root_nid,
    metaBlkaddr: sb.meta_blkaddr,
    xattrBlkaddr: sb.xattr_blkaddr,
    uuid: formatUuid(sb.uuid),
    volumeName: sb.volume_name,
    epoch: sb.epoch,
    fixedNsec: sb.fixed_nsec,
    features: featureNames(sb.feature_compat, sb.feature_incompat),
    checksum: img.checksumOk === undefined ? 'none' : img.checksumOk ? 'ok' : 'bad',
    packedNid: sb.packed_nid,
    devices: img.deviceSlots.map((s, i) => ({ id: i + 1, ...s })),
    flatDevices: img.flat,
  };
}

function lsLine(name: string, st: ErofsStat): string {
  const size = st.rdev ? `${st.rdev.major},${st.rdev.minor}` : String(st.size);
  return `${st.type.padEnd(7)} ${st.mode.toString(8).padStart(4, '0')} ${String(st.uid).padStart(5)} ${String(st.gid).padStart(5)} ${size.padStart(10)} ${name}`;
}

function statJson(st: ErofsStat): Record<string, unknown> {
  return { ...st, mode: st.mode.toString(8).padStart(4, '0') };
}

/**
 * Runs the erofs-ts command line on `argv` (without node and script); resolves to the exit code
 * (0 ok, 1 fsck found problems, 2 usage). Errors are thrown, for runCli to print.
 */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const parser = yargs(argv)
    .scriptName('erofs-ts')
    .usage('$0 <command> IMAGE [PATH]: read, verify and extract EROFS images')
    .option('device', { type: 'string', describe: 'file holding an extra device (blob), in device-table order; repeatable' })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output' })
    .command('info <image>', 'superblock, features and device table', {}, (a) => {
      withImage(a as unknown as Common, (img) => {
        const i = info(img);
        if (a.json) return out(json(i));
        for (const [k, v] of Object.entries(i)) out(`${k}: ${typeof v === 'object' ? json(v).replace(/\s+/g, ' ') : String(v)}`);
      });
    })
    .command('ls <image> [path]', 'list a directory (or one entry)', {}, (a) => {
      withImage(a as unknown as Common, (img) => {
        const nid = img.lookup(pathArg(a.path as string | undefined));
        const st = img.stat(nid);
        const rows = st.type === 'dir' ? img.readdir(nid).map((d) => ({ name: displayName(d.name), st: img.stat(d.nid) })) : [{ name: displayName(pathArg(a.path as string)), st }];
        if (a.json) return out(json(rows.map((r) => ({ name: r.name, ...statJson(r.st) }))));
        for (const r of rows) out(lsLine(r.name, r.st));
      });
    })
    .command('stat <image> <path>', 'inode details', {}, (a) => {
      withImage(a as unknown as Common, (img) => {
        const nid = img.lookup(pathArg(a.path as string));
        const st = statJson(img.stat(nid));
        const x = Object.fromEntries([...img.xattrs(nid)].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
        const ext = img.stat(nid).type === 'file' ? img.fileExtents(nid) : undefined;
        const all = { ...st, ...(img.stat(nid).type === 'symlink' ? { target: displayName(img.readlink(nid)) } : {}), xattrs: x, ...(ext ? { extents: ext } : {}) };
        if (a.json) return out(json(all));
        for (const [k, v] of Object.entries(all)) out(`${k}: ${typeof v === 'object' ? json(v).replace(/\s+/g, ' ') : String(v)}`);
      });
    })
    .command('cat <image> <path>', "write a file's bytes to stdout", {}, (a) => {
      withImage(a as unknown as Common, (img) => {
        const nid = img.lookup(pathArg(a.path as string));
        if (img.stat(nid).type !== 'file') throw new ErofsError(String(a.image), 'WRONG_TYPE', 'not a regular file', { path: String(a.path) });
        const buf = Buffer.alloc(1 << 20);
        for (let pos = 0, n; (n = img.read(nid, buf, pos)) > 0; pos += n) writeOut(buf.subarray(0, n));
      });
    })
    .command('extract <image> <dest>', 'write the whole tree into a host directory', {}, (a) => {
      withImage(a as unknown as Common, (img) => {
        const r = extract(img, a.dest as string);
        for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
        if (a.json) out(json(r));
      });
    })
    .command('fsck <image>', 'verify the image; exit 1 on any problem', (y) => y.option('data', { type: 'boolean', default: true, describe: 'read and decompress all file data' }), (a) => {
      const r = fsck(a.image as string, { devices: list(a.device), data: a.data as boolean });
      if (a.json) out(json({ ok: r.errors.length === 0, ...r, errors: r.errors.map((e) => e.toJSON()) }));
      else {
        for (const e of r.errors) out(e.message);
        out(`${r.errors.length ? 'FAILED' : 'ok'}: ${r.inodes} inodes, ${r.directories} directories, ${r.bytes} data bytes checked, ${r.errors.length} problems`);
      }
      if (r.errors.length) code = 1;
    })
    .command('manifest <image>', "print fstree's canonical manifest of the image", {}, (a) => {
      withImage(a as unknown as Common, (img) => writeOut(Buffer.from(manifestText(manifest(img.toTree())))));
    })
    .demandCommand(1, 'name a command');
  const parsed = await parseArgs('erofs-ts', packageVersion(import.meta.url), parser);
  return 'exit' in parsed ? parsed.exit : code;
}
