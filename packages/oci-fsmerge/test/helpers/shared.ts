import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { inCI } from '../../../../test/helpers/oracles.js';

/** The repository root and ../shared beside it (where CI always has it). */
export const repoRoot = resolve(import.meta.dirname, '../../../..');
export const conformance = resolve(repoRoot, '../shared/fixtures/oci-conformance/go-containerregistry');

/** Whether the shared conformance fixtures are here; under CI=true their absence fails. */
export function haveConformance(): boolean {
  if (existsSync(conformance)) return true;
  const msg = `shared fixtures absent at ${conformance}`;
  if (inCI) throw new Error(`${msg} (CI=true: they must be there)`);
  console.warn(`SKIP ${msg}`);
  return false;
}
