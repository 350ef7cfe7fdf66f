/**
 * The one error type for bad input across the toolchain: names the file (or image, or tar
 * member) and the problem, and prints as one line: "<file>: <problem>". Control characters
 * (a member name may hold newlines or terminal escapes) appear in the message escaped, as
 * \n, \t, \r or \xNN; `file` and `problem` keep them as given.
 */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(escapeControls(`${file}: ${problem}`));
    this.name = 'InputError';
  }
}

/**
 * A problem with one entry of a tree being written, where only the tree's own path can name it:
 * `file` is that path (as displayName shows it). A writer that knows the tree came from an
 * archive says so with `inArchive`: "<archive>: member <path>: <problem>".
 */
export class EntryError extends InputError {
  inArchive(archive: string): InputError {
    return new InputError(archive, `member ${this.file}: ${this.problem}`);
  }
}

const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };

function escapeControls(text: string): string {
  // C0 controls, DEL and the C1 controls (a terminal may act on any of them).
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => NAMED_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
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
