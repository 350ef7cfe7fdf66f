import { inspect } from 'node:util';
import { expect } from 'vitest';
import { RegistryError } from '@fstools/registry';
import type { RegistryErrorKind } from '@fstools/registry';

/** Every error message a test file provoked, to search for secrets at the end. */
export const provoked: string[] = [];

/** The error `p` rejects with: a one-line RegistryError of `kind` whose message starts with `source`. */
export async function oneLineError(p: Promise<unknown> | (() => Promise<unknown>), kind: RegistryErrorKind, source?: string): Promise<RegistryError> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a rejection').toBeInstanceOf(RegistryError);
  const err = caught as RegistryError;
  provoked.push(err.message, String(err), inspect(err), JSON.stringify(err), err.stack ?? '');
  expect(err.message).not.toMatch(/[\n\r]/);
  expect(err.kind, err.message).toBe(kind);
  if (source !== undefined) expect(err.message.startsWith(`${source}: `), err.message).toBe(true);
  return err;
}

/** Records any error's texts (for the secrets check) and returns it. */
export function record<T>(err: T): T {
  provoked.push(String(err), inspect(err), JSON.stringify(err) ?? '', err instanceof Error ? (err.stack ?? '') : '');
  return err;
}

/** No recorded text holds any of the secrets. */
export function expectNoSecrets(secrets: string[]): void {
  expect(provoked.length).toBeGreaterThan(0);
  for (const text of provoked) for (const s of secrets) expect(text.includes(s), `a secret in: ${text.slice(0, 300)}`).toBe(false);
}
