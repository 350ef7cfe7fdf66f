import { readFileSync } from 'node:fs';
import { describeSystemError, InputError, removeTemps, removeTempsOnSignals } from '@fstools/fstree';
import type { ArgumentsCamelCase, Argv } from 'yargs';

export { buildTime, parseSeconds, parseSize, parseWhole } from './values.js';
export { hostXattrs, xattrsOff } from './host-xattrs.js';
export type { HostXattrs } from './host-xattrs.js';

/**
 * The conventions every fstools command line follows: `--help`/`-h`, `--version`, unknown
 * options refused, exit codes 0 (ok), 1 (error: one line naming the file and the problem) and
 * 2 (usage, with a pointer to --help).
 */

/** The version in the package.json next to the compiled module at `moduleUrl`, one folder down (dist/ or the bundles in bin/). */
export function packageVersion(moduleUrl: string): string {
  return (JSON.parse(readFileSync(new URL('../package.json', moduleUrl), 'utf8')) as { version: string }).version;
}

/** Repeatable string options arrive as a string or an array. */
export function list(v: unknown): string[] {
  return v === undefined ? [] : ([] as unknown[]).concat(v).map(String);
}

/**
 * Splits short options written joined to their value, as getopt takes them (`-zlz4hc`,
 * `-C65536`, `-b4096`), into option and value for yargs, which would read them as a cluster of
 * one-letter flags. `letters` are the short options that take a value.
 */
export function splitJoinedShort(argv: string[], letters: string): string[] {
  return argv.flatMap((a) => {
    if (a.length < 3 || a[0] !== '-' || a[1] === '-' || !letters.includes(a[1]!)) return [a];
    return [a.slice(0, 2), a.slice(2)];
  });
}

export type Parsed<T> = { args: ArgumentsCamelCase<T> } | { exit: 0 | 2 };

/**
 * Finishes a command's yargs parser with the shared conventions and parses. Returns the arguments,
 * or the exit code parsing ended with: 0 after --help/--version, 2 after a usage error (printed).
 * `freePositionals` lets undeclared positional arguments through (only options are strict).
 */
export async function parseArgs<T>(name: string, version: string, parser: Argv<T>, opts: { freePositionals?: boolean } = {}): Promise<Parsed<T>> {
  // Only options declared as numbers are numbers. Positionals are file names and paths: yargs
  // would otherwise read "007", "1.0" or "1e3" as numbers and hand back "7", "1" or "1000".
  const finished = parser.parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false }).version(version).help().alias('h', 'help');
  let args: ArgumentsCamelCase<T>;
  try {
    args = await (opts.freePositionals ? finished.strictOptions() : finished.strict())
      .exitProcess(false)
      .fail((msg, err) => {
        // Thrown, not recorded: yargs would otherwise go on to run a command's handler.
        throw err ?? new UsageError(msg ?? 'invalid arguments');
      })
      .parseAsync();
  } catch (err) {
    if (err instanceof UsageError) return { exit: usage(name, err.message) };
    throw err;
  }
  return args.help || args.version ? { exit: 0 } : { args };
}

class UsageError extends Error {}

/** Prints a usage error ("<name>: <message>" and a pointer to --help); returns its exit code, 2. */
export function usage(name: string, message: string): 2 {
  console.error(`${name}: ${message}\nTry '${name} --help'.`);
  return 2;
}

/** An error class whose instances are the user's doing: printed as their one line, not as an internal error. */
export type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Runs a command's main and sets the process exit code from what it resolves to. An error that
 * escapes sets exit code 1 and prints as one line "<name>: <message>" when it is the user's (an
 * InputError, or an instance of one of `opts.expected`) or the system's (a failed system call:
 * "<path>: <reason> (<code>)"); anything else is an internal error, printed with its stack.
 * With `opts.json` the error also goes to stdout as {"ok":false,"error":"<message>"}. Output
 * whose reader went away (`| head`: EPIPE) ends the command quietly with status 141, as SIGPIPE
 * ends cat or ls.
 * With `opts.cleanUpOnSignals`, an interrupted command (SIGINT, SIGTERM, SIGHUP) removes its
 * temporary files and then dies of the signal (fstree removeTempsOnSignals). Only for commands
 * whose long work turns the event loop (awaits real I/O, or counts its synchronous copying
 * through fstree's LoopTurns): the handler runs only then, so a command that worked synchronously
 * throughout would ignore Ctrl-C until it was done.
 */
export function runCli(name: string, main: () => Promise<number>, opts: { expected?: ErrorClass[]; json?: boolean; cleanUpOnSignals?: boolean } = {}): void {
  if (opts.cleanUpOnSignals) removeTempsOnSignals();
  // console.log and process.stdout.write report a broken pipe as an 'error' event on stdout, not
  // as a throw: unheard, it would end the command with a stack trace. As SIGPIPE would, it ends
  // the command at once (its temporary files removed), quietly, with status 141.
  process.stdout.on('error', (err) => {
    if (!isBrokenPipe(err)) throw err;
    removeTemps();
    process.exit(SIGPIPE_STATUS);
  });
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      if (isBrokenPipe(err)) {
        process.exitCode = SIGPIPE_STATUS;
        return;
      }
      const line = errorLine(err, opts.expected ?? []);
      const message = err instanceof Error ? err.message : String(err);
      if (opts.json) process.stdout.write(`${JSON.stringify({ ok: false, error: line ?? `internal error: ${message}` })}\n`);
      console.error(`${name}: ${line ?? `internal error: ${(err instanceof Error && err.stack) || message}`}`);
      process.exitCode = 1;
    },
  );
}

/** What a shell reports for a command SIGPIPE ended: 128 + 13. */
const SIGPIPE_STATUS = 141;

/** A write to a pipe nobody reads any more: stdout's (files are written under their own names). */
function isBrokenPipe(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  return e instanceof Error && e.code === 'EPIPE' && e.syscall === 'write' && e.path === undefined;
}

/** The one line an expected or system error prints as; undefined for an internal error. */
function errorLine(err: unknown, expected: ErrorClass[]): string | undefined {
  if (err instanceof InputError || expected.some((c) => err instanceof c)) return (err as Error).message.replace(/\s*\n\s*/g, ' ');
  if (err instanceof Error && 'syscall' in err) {
    const path = (err as NodeJS.ErrnoException).path;
    return `${path === undefined ? '' : `${path}: `}${describeSystemError(err)}`;
  }
  return undefined;
}

/**
 * A one-line progress display for a TTY stream (callers only make one when stderr is a TTY):
 * `update` renders at most 10 times a second; `done` clears the line.
 */
export function progressLine(stream: NodeJS.WriteStream): { update: (render: () => string) => void; done: () => void } {
  let last = 0;
  let shown = false;
  return {
    update(render) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      stream.write(`\r${render()}`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
