import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { InputError } from '@fstools/fstree';

/** "sha256:<64 hex>" or "sha512:<128 hex>": the digests OCI registers. */
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST.test(s);
}

/** Throws unless s is a digest we can verify. */
export function parseDigest(s: unknown, source: string, what: string): { algorithm: 'sha256' | 'sha512'; hex: string; digest: string } {
  if (!isDigest(s)) throw new InputError(source, `${what}: invalid or unsupported digest ${JSON.stringify(s)}`);
  const [algorithm, hex] = s.split(':') as ['sha256' | 'sha512', string];
  return { algorithm, hex, digest: s };
}

/** The blob path of a digest in an image layout. */
export function blobPath(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

/** A running digest of the bytes seen. */
export class Digester {
  private readonly hash: Hash;
  constructor(readonly algorithm: 'sha256' | 'sha512' = 'sha256') {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  digest(): string {
    return `${this.algorithm}:${this.hash.digest('hex')}`;
  }
}

export function digestOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  const d = new Digester(algorithm);
  d.update(bytes);
  return d.digest();
}
