import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

export type DigestAlgorithm = 'sha256' | 'sha512';

/** The digests the OCI image spec registers, in their canonical (lowercase hex) form. */
const DIGEST = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** Whether `s` is a digest this package can verify: `sha256:<64 hex>` or `sha512:<128 hex>`. */
export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST.test(s);
}

/** The algorithm of a digest that passed isDigest. */
export function digestAlgorithm(digest: string): DigestAlgorithm {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** A running digest of the bytes seen. */
export class Digester {
  private readonly hash: Hash;
  constructor(readonly algorithm: DigestAlgorithm = 'sha256') {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  /** `algorithm:hex`; call once. */
  digest(): string {
    return `${this.algorithm}:${this.hash.digest('hex')}`;
  }
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  const d = new Digester(algorithm);
  d.update(bytes);
  return d.digest();
}
