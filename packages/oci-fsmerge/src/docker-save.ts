import { InputError } from '@fstools/fstree';
import type { ImageSource } from './archive.js';
import { readSmallBlob } from './archive.js';
import { verifyBytes } from './blob-verify.js';
import type { ResolvedImage } from './image.js';
import { layerLabel } from './image.js';
import type { Candidate, SelectOptions } from './index-select.js';
import { selectImage } from './index-select.js';
import type { Json } from './json.js';
import { diffIdsOf, parseAny, parseObject } from './json.js';
import { platformFrom } from '@fstools/registry';

interface SaveEntry extends Candidate {
  config: string;
  layers: string[];
}

/**
 * Resolves a `docker save` archive or directory (manifest.json): legacy `<id>/layer.tar` layers
 * and Docker 25's `blobs/sha256/<hex>` layout alike. Layer compression is told by magic bytes;
 * blobs whose path names their digest are checked against it, and every layer's diff ID
 * against the config.
 */
export async function resolveDockerSave(src: ImageSource, opts: SelectOptions): Promise<ResolvedImage> {
  const list = parseAny(readSmallBlob(src.locate('manifest.json'), src.name, 'manifest.json'), src.name, 'manifest.json');
  if (list === null) throw new InputError(src.name, 'manifest.json is null: the archive describes no image');
  if (!Array.isArray(list)) throw new InputError(src.name, 'manifest.json is not a list of images');
  const entries = list.map((e, i) => entry(e, src.name, i));
  const chosen = await selectImage(entries, opts, src.name, async (c) => platformFrom(configOf(src, c.config)));
  const config = configOf(src, chosen.config);
  const diffIds = diffIdsOf(config, src.name);
  if (diffIds.length !== chosen.layers.length) {
    throw new InputError(src.name, `manifest.json lists ${chosen.layers.length} layers but the config has ${diffIds.length} diff IDs`);
  }
  const platform = chosen.platform ?? platformFrom(config);
  return {
    name: src.name,
    ...(chosen.refs[0] !== undefined && { ref: chosen.refs[0] }),
    ...(platform && { platform }),
    layers: chosen.layers.map((path, i) => {
      const label = layerLabel(i, path);
      if (!src.has(path)) throw new InputError(src.name, `${label}: missing blob ${path}`);
      const digest = digestInPath(path);
      return { index: i, diffId: diffIds[i]!, blob: src.locate(path), ...(digest && { digest }), compression: 'detect', label };
    }),
  };
}

function entry(v: unknown, source: string, i: number): SaveEntry {
  const o = v as Json | null;
  const isPath = (p: unknown): p is string => typeof p === 'string' && p !== '';
  if (!o || typeof o !== 'object' || !isPath(o.Config) || !Array.isArray(o.Layers) || !o.Layers.every(isPath)) {
    throw new InputError(source, `manifest.json entry ${i} needs Config and Layers (paths in the archive)`);
  }
  const tags = Array.isArray(o.RepoTags) ? o.RepoTags.filter((t): t is string => typeof t === 'string') : [];
  return { refs: tags, config: o.Config, layers: o.Layers };
}

function configOf(src: ImageSource, path: string): Json {
  const what = `config ${path}`;
  if (!src.has(path)) throw new InputError(src.name, `${what}: missing blob`);
  const bytes = readSmallBlob(src.locate(path), src.name, what);
  const digest = digestInPath(path);
  if (digest) verifyBytes(bytes, { digest }, src.name, what);
  return parseObject(bytes, src.name, what);
}

/**
 * The digest a blob's path promises, where it promises one: "blobs/sha256/<hex>",
 * "sha256:<hex>", "<hex>.json", "<hex>.tar.gz". Legacy "<v1 id>/layer.tar" promises nothing
 * (the v1 id is not a content digest); the diff ID still checks those.
 */
export function digestInPath(path: string): string | undefined {
  const m = /(?:^|\/)(?:blobs\/sha256\/|sha256:)?([0-9a-f]{64})(?:\.json|\.tar(?:\.gz|\.zst)?)?$/.exec(path);
  if (!m || /\/layer\.tar$/.test(path)) return undefined;
  return `sha256:${m[1]}`;
}
