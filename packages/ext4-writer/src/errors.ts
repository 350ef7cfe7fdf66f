/**
 * A bad option or a contradiction between options (the inputs themselves are fine): prints as one
 * line, exit status 1. Problems with input files are fstree's InputError.
 */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

/** The size cannot hold the filesystem (or its content); the writer turns it into a minimum. */
export class TooSmallError extends OptionError {
  override name = 'TooSmallError';
}
