/**
 * A problem with an input or an image, named by its file: the message is one line,
 * "<file>: <problem>" (a bad data block or hash block is named with its number and byte offset).
 */
export class VerityError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`.replace(/[\0-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
    this.name = 'VerityError';
  }
}

/** A failed system call on `file` (open, read, write) as a VerityError: "<file>: cannot <what>: <reason> (<code>)". */
export function systemError(file: string, what: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || typeof e.syscall !== 'string') return err as Error;
  const reason = e.message.replace(/^\w+: /, '').replace(/, \w+.*$/, '');
  return new VerityError(file, `cannot ${what}: ${reason} (${e.code})`);
}
