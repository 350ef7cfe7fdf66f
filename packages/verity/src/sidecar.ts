import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { systemError, VerityError } from './errors.js';
import type { VerityInfo } from './options.js';

/**
 * The dm-verity sidecar containerd's EROFS differ writes beside a layer blob and its snapshotter
 * reads (plugins/snapshots/erofs, internal/dmverity: struct DmverityMetadata): JSON with the root
 * hash as hex and the superblock's offset in the blob; everything else is in the superblock.
 */
export interface Sidecar {
  roothash: string;
  hashoffset: number;
}

/** Where the sidecar of an image lives: IMAGE.dmverity. */
export function sidecarPath(image: string): string {
  return `${image}.dmverity`;
}

/** The sidecar's text for an image: the two fields, in containerd's order, indented as its json.MarshalIndent does. */
export function sidecarJson(info: Pick<VerityInfo, 'rootHash' | 'hashOffset'>): string {
  return `${JSON.stringify({ roothash: info.rootHash, hashoffset: info.hashOffset } satisfies Sidecar, null, 2)}\n`;
}

/** Writes IMAGE.dmverity for `info` (temp file + rename: never half written). */
export async function writeSidecar(image: string, info: Pick<VerityInfo, 'rootHash' | 'hashOffset'>): Promise<string> {
  const path = sidecarPath(image);
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, sidecarJson(info), { mode: 0o644 });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw systemError(path, 'write', err);
  }
  return path;
}

/**
 * The sidecar of `image`, or undefined when there is none. A sidecar that is not one (not JSON,
 * no root hash, an offset that is not a non-negative integer) is a VerityError naming it. A root
 * hash written "sha256:<hex>" (as some writers do) is read as the hex.
 */
export async function readSidecar(image: string): Promise<{ rootHash: string; hashOffset: number } | undefined> {
  const path = sidecarPath(image);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw systemError(path, 'read', err);
  }
  let json: Partial<Sidecar>;
  try {
    json = JSON.parse(text) as Partial<Sidecar>;
  } catch {
    throw new VerityError(path, 'not JSON');
  }
  if (typeof json.roothash !== 'string' || json.roothash === '') throw new VerityError(path, 'no "roothash"');
  if (!Number.isSafeInteger(json.hashoffset) || json.hashoffset! < 0) throw new VerityError(path, `"hashoffset" ${JSON.stringify(json.hashoffset)} is not a byte offset`);
  return { rootHash: json.roothash.replace(/^sha256:/, ''), hashOffset: json.hashoffset! };
}
