import { InputError } from '@fstools/fstree';

export type Json = Record<string, unknown>;

/** Parses a metadata blob; anything but a JSON object is an error naming it. */
export function parseObject(bytes: Buffer, source: string, what: string): Json {
  const v = parseAny(bytes, source, what);
  if (v === null) throw new InputError(source, `${what} is null`);
  if (typeof v !== 'object' || Array.isArray(v)) throw new InputError(source, `${what} is not a JSON object`);
  return v as Json;
}

export function parseAny(bytes: Buffer, source: string, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InputError(source, `${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The image config's layer list: rootfs.diff_ids, checked. */
export function diffIdsOf(config: Json, source: string): string[] {
  const rootfs = config.rootfs as Json | undefined;
  const ids = rootfs?.diff_ids;
  if (!rootfs || rootfs.type !== 'layers' || !Array.isArray(ids)) throw new InputError(source, 'image config has no rootfs.diff_ids');
  for (const id of ids) if (typeof id !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(id)) throw new InputError(source, `image config has an invalid diff ID ${JSON.stringify(id)}`);
  return ids as string[];
}
