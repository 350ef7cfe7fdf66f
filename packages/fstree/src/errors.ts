/**
 * The one error type for bad input across the toolchain: names the file (or image, or tar
 * member) and the problem, and prints as one line: "<file>: <problem>".
 */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'InputError';
  }
}

/** Short text for a caught Node system error: "ENOENT: no such file or directory". */
export function describeSystemError(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    const msg = err instanceof Error ? err.message : String(err);
    // Node messages look like "ENOENT: no such file or directory, open '/x'": keep the reason only.
    const m = /^(\w+): ([^,]+)/.exec(msg);
    return m ? `${m[2]} (${m[1]})` : err.code;
  }
  return err instanceof Error ? err.message : String(err);
}
