#!/usr/bin/env node
// Fixture builder: OCI image layouts, OCI archives and docker-save tars (legacy and Docker 25
// style) from layer specs, for fsmerge's tests and tools/make-debian-oci.sh.
//
// Library:  import { layerTar, buildImage } from './oci-fixture.mjs'
// CLI:      node tools/oci-fixture.mjs SPEC.json OUT [--format oci|oci-archive|docker|docker25]
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
import { closeSync, copyFileSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { encodeHeader, endOfArchive, padding } from '@fstools/fstree';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
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

async function sha256File(path) {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c);
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

/** Moves/copies a file into blobs/sha256 under `dir`, returning digest and size. */
async function addBlobFile(dir, path) {
  const hex = await sha256File(path);
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
 * A layer is { entries } or { tar: path } (an existing uncompressed tar) or { bytes } (a raw,
 * possibly broken, blob used as is), with optional compression.
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
    const diffId = `sha256:${await sha256File(tarPath)}`;
    const blobSrc = join(scratch, `blob-${i}-${Math.random().toString(36).slice(2)}`);
    if (compression === 'none') {
      copyFileSync(tarPath, blobSrc);
    } else await compressFile(tarPath, blobSrc, compression);
    const b = await addBlobFile(dir, blobSrc);
    out.push({ ...b, diffId: l.diffId ?? diffId, mediaType: l.mediaType ?? LAYER_TYPES[compression], compression });
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
 * images: [{ ref?, platform?, layers }]; opts.nestedIndex puts the manifests behind a nested index.
 */
export async function buildImage(images, out, format = 'oci', opts = {}) {
  const scratch = mkdtempSync(join(opts.tmp ?? tmpdir(), 'oci-fixture-'));
  try {
    const dir = format === 'oci' ? out : join(scratch, 'root');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const descriptors = [];
    const saveEntries = [];
    const extraFiles = [];
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
      if (format === 'docker') {
        // Legacy layout: <v1 id>/layer.tar (uncompressed) or <digest>.tar.gz, <config hex>.json.
        const paths = layers.map((l, i) => {
          const blob = join(dir, 'blobs/sha256', l.hex);
          if (l.compression && l.compression !== 'none') {
            const name = `${l.hex}.tar.${l.compression === 'gzip' ? 'gz' : 'zst'}`;
            extraFiles.push([name, blob]);
            return name;
          }
          const id = createHash('sha256').update(`${l.hex}/${i}`).digest('hex');
          extraFiles.push([`${id}/VERSION`, Buffer.from('1.0')], [`${id}/layer.tar`, blob]);
          return `${id}/layer.tar`;
        });
        extraFiles.push([`${config.hex}.json`, join(dir, 'blobs/sha256', config.hex)]);
        saveEntries.push({ Config: `${config.hex}.json`, RepoTags: img.ref ? [img.ref] : null, Layers: paths });
      } else {
        saveEntries.push({ Config: `blobs/sha256/${config.hex}`, RepoTags: img.ref ? [img.ref] : null, Layers: layers.map((l) => `blobs/sha256/${l.hex}`) });
      }
    }
    let manifests = descriptors;
    if (opts.nestedIndex) {
      const nested = addBlobBytes(dir, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: descriptors })));
      manifests = [{ mediaType: OCI_INDEX, digest: nested.digest, size: nested.size, ...(opts.nestedRef && { annotations: { 'io.containerd.image.name': opts.nestedRef } }) }];
    }
    if (format === 'docker') {
      const files = [...extraFiles, ['manifest.json', Buffer.from(JSON.stringify(saveEntries))]];
      writeTar(out, files);
      return;
    }
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
    if (format === 'docker25') writeFileSync(join(dir, 'manifest.json'), JSON.stringify(saveEntries));
    if (format === 'oci') return;
    const files = [];
    for (const name of ['oci-layout', 'index.json', ...(format === 'docker25' ? ['manifest.json'] : [])]) files.push([name, join(dir, name)]);
    for (const d of listBlobs(dir)) files.push([`blobs/sha256/${d}`, join(dir, 'blobs/sha256', d)]);
    writeTar(out, files);
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
  const args = argv.slice(2);
  const fi = args.indexOf('--format');
  const format = fi >= 0 ? args.splice(fi, 2)[1] : 'oci';
  const [specPath, out] = args;
  if (!specPath || !out) {
    console.error('usage: oci-fixture.mjs SPEC.json OUT [--format oci|oci-archive|docker|docker25]');
    process.exit(2);
  }
  const spec = JSON.parse(readFileSync(specPath, 'utf8'));
  const images = spec.images ?? [spec];
  const base = dirname(resolve(specPath));
  for (const img of images) for (const l of img.layers) if (l.tar) l.tar = resolve(base, l.tar);
  await buildImage(images, resolve(out), format, { tmp: dirname(resolve(out)) });
  console.log(`${format} image written to ${out}`);
}

if (process.argv[1] && basename(process.argv[1]) === 'oci-fixture.mjs') {
  main(process.argv).catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
