#!/usr/bin/env node
// Fixture builder: OCI image layouts, OCI archives and docker-save tars (legacy and Docker 25
// style) from layer specs, for fsmerge's tests and tools/make-debian-oci.sh.
//
// Library:  import { layerTar, buildImage } from './oci-fixture.mjs'
// CLI:      node tools/oci-fixture.mjs SPEC.json OUT [--format oci|oci-archive|docker|docker25] [OUT2 [--format ...]]...
//   (several outputs are made from the same blobs: each layer is compressed once)
//   SPEC.json: { "images": [ { "ref": "name:tag", "platform": "linux/amd64",
//                "layers": [ { "tar": "layer.tar", "compression": "gzip" } | { "entries": [...] } ] } ] }
//   (a single image may be given as { "ref", "platform", "layers" } directly). Relative tar paths
//   resolve against SPEC.json's folder.
//
// Entry: { path, type: file|dir|symlink|hardlink|chr|blk|fifo (default file), mode, uid, gid,
//          mtime (ns as string/bigint, or seconds as number), data (string|Uint8Array),
//          target (symlink/hardlink), major, minor, xattrs: { name: string|Uint8Array } }.
// Whiteouts are ordinary entries named .wh.NAME / .wh..wh..opq.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, createReadStream, createWriteStream, linkSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { encodeHeader, endOfArchive, padding } from '@fstools/fstree';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const FORMATS = ['oci', 'oci-archive', 'docker', 'docker25'];
const LAYER_TYPES = {
  none: 'application/vnd.oci.image.layer.v1.tar',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
};

/** ns mtime from the spec's forms. */
function mtimeOf(v) {
  if (v === undefined) return 0n;
  if (typeof v === 'number') return BigInt(v) * 1_000_000_000n;
  return BigInt(v);
}

function bytesOf(v) {
  if (v === undefined) return Buffer.alloc(0);
  return typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v);
}

/** Names in specs are UTF-8 text; tar paths are byte strings (latin1 of the bytes). */
function byteStr(s) {
  return Buffer.from(s, 'utf8').toString('latin1');
}

/** A layer tar (uncompressed) from entries, in the given order, ending with two zero blocks. */
export function layerTar(entries) {
  const parts = [];
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = type === 'file' ? bytesOf(e.data) : Buffer.alloc(0);
    const xattrs = new Map(Object.entries(e.xattrs ?? {}).map(([k, v]) => [k, new Uint8Array(bytesOf(v))]));
    const defaultMode = type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
    parts.push(
      encodeHeader({
        path: byteStr(e.path),
        type,
        mode: e.mode ?? defaultMode,
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mtime: mtimeOf(e.mtime),
        size: data.length,
        linkname: byteStr(e.target ?? ''),
        major: e.major ?? 0,
        minor: e.minor ?? 0,
        xattrs,
      }),
    );
    if (data.length) parts.push(data, padding(data.length));
  }
  parts.push(endOfArchive());
  return Buffer.concat(parts);
}

function sha256File(path) {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

/** Compresses `src` into `dst` (gzip in-process, zstd with the zstd command). */
async function compressFile(src, dst, compression) {
  if (compression === 'gzip') {
    await pipeline(createReadStream(src), createGzip({ level: 6 }), createWriteStream(dst));
  } else if (compression === 'zstd') {
    const r = spawnSync('zstd', ['-q', '-f', '-3', '-T0', src, '-o', dst]);
    if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr}`);
  } else throw new Error(`unknown compression ${compression}`);
}

/** Moves a file into blobs/sha256 under `dir` (`hex`: its sha256 when known), returning digest and size. */
function addBlobFile(dir, path, hex) {
  hex ??= sha256File(path);
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  renameSync(path, join(dir, 'blobs/sha256', hex));
  return { digest: `sha256:${hex}`, size: statSync(join(dir, 'blobs/sha256', hex)).size, hex };
}

function addBlobBytes(dir, bytes) {
  const hex = createHash('sha256').update(bytes).digest('hex');
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  writeFileSync(join(dir, 'blobs/sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length, hex };
}

function parsePlatform(p) {
  const [os, architecture, variant] = (p ?? 'linux/amd64').split('/');
  return variant ? { os, architecture, variant } : { os, architecture };
}

/**
 * Writes the layers of one image as blobs under `dir` and returns descriptors and diff IDs.
 * A layer is { entries } or { tar: path } (an existing uncompressed tar; with link: true and no
 * compression its blob is a hard link to it, not a copy: for huge sparse tars) or { bytes } (a
 * raw, possibly broken, blob used as is), with optional compression.
 */
async function writeLayers(dir, layers, scratch) {
  const out = [];
  for (const [i, l] of layers.entries()) {
    const compression = l.compression ?? 'none';
    if (l.bytes) {
      const b = addBlobBytes(dir, Buffer.from(l.bytes));
      out.push({ ...b, diffId: l.diffId ?? b.digest, mediaType: l.mediaType ?? LAYER_TYPES[compression] });
      continue;
    }
    let tarPath = l.tar;
    if (!tarPath) {
      tarPath = join(scratch, `layer${out.length}-${i}.tar`);
      writeFileSync(tarPath, layerTar(l.entries ?? []));
    }
    const tarHex = sha256File(tarPath);
    const blobSrc = join(scratch, `blob-${i}-${Math.random().toString(36).slice(2)}`);
    if (compression === 'none') (l.link ? linkSync : copyFileSync)(tarPath, blobSrc);
    else await compressFile(tarPath, blobSrc, compression);
    // An uncompressed blob is the tar itself: its digest is the diff ID.
    const b = addBlobFile(dir, blobSrc, compression === 'none' ? tarHex : undefined);
    out.push({ ...b, diffId: l.diffId ?? `sha256:${tarHex}`, mediaType: l.mediaType ?? LAYER_TYPES[compression], compression });
  }
  return out;
}

function configFor(platform, diffIds) {
  return Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant && { variant: platform.variant }),
      config: {},
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map(() => ({ created_by: 'oci-fixture' })),
    }),
  );
}

/**
 * Builds an image container at `out`.
 * format: 'oci' (layout directory), 'oci-archive' (tar of it), 'docker' (legacy docker save tar),
 * 'docker25' (Docker 25 save: OCI layout plus manifest.json in one tar).
 * images: [{ ref?, platform?, layers }]; opts.nestedIndex puts the manifests behind a nested index;
 * opts.also: more [out, format] pairs, made from the same blobs (each layer compressed once).
 */
export async function buildImage(images, out, format = 'oci', opts = {}) {
  const outputs = [[out, format], ...(opts.also ?? [])];
  const formats = outputs.map(([, f]) => f);
  if (formats.some((f) => !FORMATS.includes(f)) || formats.filter((f) => f === 'oci').length > 1) {
    throw new Error(`formats ${formats.join(', ')}: each one of ${FORMATS.join(', ')}, at most one oci`);
  }
  const scratch = mkdtempSync(join(opts.tmp ?? tmpdir(), 'oci-fixture-'));
  try {
    const dir = outputs.find(([, f]) => f === 'oci')?.[0] ?? join(scratch, 'root');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const descriptors = [];
    const saveEntries = [];
    const legacyEntries = [];
    const legacyFiles = [];
    for (const img of images) {
      const platform = parsePlatform(img.platform);
      const layers = await writeLayers(dir, img.layers, scratch);
      const config = addBlobBytes(dir, configFor(platform, layers.map((l) => l.diffId)));
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
          layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
        }),
      );
      const m = addBlobBytes(dir, manifest);
      descriptors.push({
        mediaType: OCI_MANIFEST,
        digest: m.digest,
        size: m.size,
        platform,
        ...(img.ref && { annotations: { 'io.containerd.image.name': img.ref, 'org.opencontainers.image.ref.name': img.ref.replace(/^.*:/, '') } }),
      });
      saveEntries.push({ Config: `blobs/sha256/${config.hex}`, RepoTags: img.ref ? [img.ref] : null, Layers: layers.map((l) => `blobs/sha256/${l.hex}`) });
      if (formats.includes('docker')) {
        // Legacy layout: <v1 id>/layer.tar (uncompressed) or <digest>.tar.gz, <config hex>.json.
        const paths = layers.map((l, i) => {
          const blob = join(dir, 'blobs/sha256', l.hex);
          if (l.compression && l.compression !== 'none') {
            const name = `${l.hex}.tar.${l.compression === 'gzip' ? 'gz' : 'zst'}`;
            legacyFiles.push([name, blob]);
            return name;
          }
          const id = createHash('sha256').update(`${l.hex}/${i}`).digest('hex');
          legacyFiles.push([`${id}/VERSION`, Buffer.from('1.0')], [`${id}/layer.tar`, blob]);
          return `${id}/layer.tar`;
        });
        legacyFiles.push([`${config.hex}.json`, join(dir, 'blobs/sha256', config.hex)]);
        legacyEntries.push({ Config: `${config.hex}.json`, RepoTags: img.ref ? [img.ref] : null, Layers: paths });
      }
    }
    let manifests = descriptors;
    if (opts.nestedIndex) {
      const nested = addBlobBytes(dir, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors })));
      manifests = [{ mediaType: OCI_INDEX, digest: nested.digest, size: nested.size, ...(opts.nestedRef && { annotations: { 'io.containerd.image.name': opts.nestedRef } }) }];
    }
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    const layout = [['oci-layout', join(dir, 'oci-layout')], ['index.json', join(dir, 'index.json')]];
    const blobs = listBlobs(dir).map((d) => [`blobs/sha256/${d}`, join(dir, 'blobs/sha256', d)]);
    for (const [o, f] of outputs) {
      if (f === 'docker') writeTar(o, [...legacyFiles, ['manifest.json', Buffer.from(JSON.stringify(legacyEntries))]]);
      else if (f === 'oci-archive') writeTar(o, [...layout, ...blobs]);
      else if (f === 'docker25') writeTar(o, [...layout, ['manifest.json', Buffer.from(JSON.stringify(saveEntries))], ...blobs]);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function listBlobs(dir) {
  const r = spawnSync('ls', [join(dir, 'blobs/sha256')], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** Writes a tar of [name, Buffer | host path] pairs, streaming host files, atomically. */
function writeTar(out, files) {
  const tmp = `${out}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    const dirs = new Set();
    for (const [name] of files) {
      const parts = name.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    }
    const header = (path, type, size) =>
      encodeHeader({ path, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 0n, size, linkname: '', major: 0, minor: 0, xattrs: new Map() });
    for (const d of [...dirs].sort()) writeSync(fd, header(d, 'dir', 0));
    for (const [name, src] of files) {
      if (Buffer.isBuffer(src)) {
        writeSync(fd, header(name, 'file', src.length));
        writeSync(fd, src);
        writeSync(fd, padding(src.length));
        continue;
      }
      const size = statSync(src).size;
      writeSync(fd, header(name, 'file', size));
      const ifd = openSync(src, 'r');
      const buf = Buffer.alloc(1 << 20);
      for (let pos = 0; pos < size; ) {
        const n = readSync(ifd, buf, 0, buf.length, pos);
        writeSync(fd, buf, 0, n);
        pos += n;
      }
      closeSync(ifd);
      writeSync(fd, padding(size));
    }
    writeSync(fd, endOfArchive());
    closeSync(fd);
    renameSync(tmp, out);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}

async function main(argv) {
  const [specPath, ...rest] = argv.slice(2);
  const outputs = [];
  let bad = !specPath;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] !== '--format') outputs.push([resolve(rest[i]), 'oci']);
    else if (outputs.length > 0 && i + 1 < rest.length) outputs.at(-1)[1] = rest[++i];
    else bad = true;
  }
  if (bad || outputs.length === 0) {
    console.error('usage: oci-fixture.mjs SPEC.json OUT [--format oci|oci-archive|docker|docker25] [OUT2 [--format ...]]...');
    process.exit(2);
  }
  const spec = JSON.parse(readFileSync(specPath, 'utf8'));
  const images = spec.images ?? [spec];
  const base = dirname(resolve(specPath));
  for (const img of images) for (const l of img.layers) if (l.tar) l.tar = resolve(base, l.tar);
  const [[out, format], ...also] = outputs;
  await buildImage(images, out, format, { tmp: dirname(out), also });
  for (const [o, f] of outputs) console.log(`${f} image written to ${o}`);
}

if (process.argv[1] && basename(process.argv[1]) === 'oci-fixture.mjs') {
  main(process.argv).catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
