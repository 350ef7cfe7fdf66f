import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, openSync, readlinkSync, statSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { describeSystemError, InputError } from './errors.js';
import { removeTemp, renameTemp, trackTemp } from './temp-files.js';

/**
 * Bytes per write(2). The kernel sizes page-cache folios by the length of the write: multi-MiB
 * writes ask for 2 MiB folios, and when memory is fragmented (as other programs leave it) each
 * costs a compaction stall. Measured on the large benchmark tree after an mkfs.erofs run: 4 MiB
 * writes 2.4-3.0 s, 64 KiB writes 1.6-1.7 s in every state.
 */
const WRITE_PIECE = 64 << 10;

/**
 * A durable file is written back as it grows: after each WRITEBACK_STEP bytes an fdatasync goes
 * to libuv's pool while writing goes on, so the one at commit waits only for the last bytes.
 * Measured with mkext4-ts on the large benchmark tree: its final fdatasync waited 0.59 s, and the
 * run took 2.28 s; with early writeback 1.76 s. The calls are not gated on each other: writers
 * that write synchronously never let their callbacks run, and each finds little left to do.
 * Linux only: elsewhere libuv's fdatasync is a full device flush (F_FULLFSYNC on macOS), far too
 * dear to repeat, so there the one at commit does it all.
 */
const WRITEBACK_STEP = process.platform === 'linux' ? 8 << 20 : Infinity;

let tempCount = 0;

/**
 * A fresh name beside `target` for a file that becomes it, or serves it, later: hidden, and unique
 * to this process and call ("<dir>/.<name>.<pid>.<count><random>.<suffix>"). The random part only
 * keeps a name left by a crashed process of a recycled pid out of the way (files are created
 * exclusively anyway), so Math.random serves; crypto's generator costs 6 ms to start.
 */
export function tempBeside(target: string, suffix = 'tmp'): string {
  const random = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, '0');
  return join(dirname(target), `.${basename(target)}.${process.pid}.${++tempCount}${random}.${suffix}`);
}

/**
 * Refuses, before any work, outputs that cannot be written as asked: an existing directory or
 * other non-file (a device such as /dev/null or /dev/sdb would be replaced by a regular file), a
 * file that is also an input (the result would replace it), one file given for two outputs.
 * Entries are [what, path] pairs naming the argument, e.g. ['--vmdk', 'disk.vmdk'] or ['SOURCE', 'x.tar'].
 */
export function checkOutputs(outputs: Array<[string, string]>, inputs: Array<[string, string]> = []): void {
  outputs.forEach(([what, path], i) => {
    const st = statOrUndefined(path);
    if (st?.isDirectory()) throw new InputError(path, 'is a directory');
    if (st && !st.isFile()) throw new InputError(path, 'is not a regular file (outputs are written as new files, renamed into place)');
    const input = inputs.find(([, p]) => sameFile(p, path));
    if (input) throw new InputError(path, `is an input too (${input[0]}): the output would replace it`);
    const earlier = outputs.slice(0, i).find(([, p]) => sameFile(p, path));
    if (earlier) throw new InputError(path, `is given for both ${earlier[0]} and ${what}`);
  });
}

/**
 * Where an output written at `target` lands: through symlinks to the file they name, existing or
 * not (where open(2), and so mkfs.erofs and mke2fs, would write), else `target` itself.
 */
export function outputPath(target: string): string {
  let path = target;
  for (let hops = 0; hops < 40; hops++) {
    let link: string;
    try {
      link = readlinkSync(path);
    } catch {
      return path; // not a symlink (or missing)
    }
    path = resolve(dirname(path), link);
  }
  throw new InputError(target, 'too many levels of symbolic links');
}

/** The same path, or two names of one file (links, symlinks, even to a file not made yet). */
function sameFile(a: string, b: string): boolean {
  if (resolve(outputPath(a)) === resolve(outputPath(b))) return true;
  const sa = statOrUndefined(a);
  const sb = statOrUndefined(b);
  return !!sa && !!sb && sa.dev === sb.dev && sa.ino === sb.ino;
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined; // missing (or unreachable: creating it reports why)
  }
}

/** Writes all of `data` at `pos` in `fd` (retrying short writes); a failure is an InputError naming `name`. */
export function writeAll(fd: number, data: Uint8Array, pos: number, name: string): void {
  let done = 0;
  try {
    while (done < data.length) done += writeSync(fd, data, done, Math.min(data.length - done, WRITE_PIECE), pos + done);
  } catch (err) {
    throw new InputError(name, `cannot write: ${describeSystemError(err)}`);
  }
}

/**
 * A file being written, for images and other outputs: a temporary file beside the target
 * (created with 'wx', so never an existing file), renamed over the target only when complete
 * and removed on failure, so a failed run leaves no partial output and the old target untouched.
 * Writes are positional; ranges never written stay holes.
 */
export class OutputFile {
  private closed = false;
  /** Bytes written since the last early writeback started (durable files). */
  private unsynced = 0;
  /** Early writebacks not yet known to be done; each resolves when its fdatasync returns. */
  private writebacks: Array<Promise<void>> = [];
  /** The first error an early writeback met (commit fails with it). */
  private writebackError: Error | undefined;

  private constructor(
    /** The path as given (errors name it). */
    readonly target: string,
    /** Where the file goes: `target`, or the file it links to. */
    private readonly dest: string,
    private readonly temp: string,
    private readonly fd: number,
    /** Flushed to the disk before it is renamed into place, and written back as it grows. */
    private readonly durable: boolean,
  ) {}

  /**
   * Creates the temporary file beside `target`, or beside the file it links to (mode 0644 before
   * the umask). A `durable` file is on the disk (fdatasync) before commit renames it; call
   * writtenBack() before commit or discard.
   */
  static create(target: string, opts: { durable?: boolean } = {}): OutputFile {
    checkOutputs([['output', target]]);
    const dest = outputPath(target);
    const temp = tempBeside(dest);
    let fd: number;
    try {
      fd = openSync(temp, 'wx', 0o644);
    } catch (err) {
      throw new InputError(target, `cannot create: ${describeSystemError(err)}`);
    }
    trackTemp(temp);
    return new OutputFile(target, dest, temp, fd, opts.durable ?? false);
  }

  /** Writes `data` at byte `pos`. */
  write(data: Uint8Array, pos: number): void {
    writeAll(this.fd, data, pos, this.target);
    if (!this.durable) return;
    this.unsynced += data.length;
    if (this.unsynced < WRITEBACK_STEP) return;
    this.unsynced = 0;
    // Linux reports a writeback error once per open file, so the first one is kept for commit.
    const started = new Promise<void>((done) =>
      fdatasync(this.fd, (err) => {
        this.writebackError ??= err ?? undefined;
        done();
      }),
    );
    this.writebacks.push(started);
  }

  /** Waits for the early writebacks write() started, so the descriptor can be closed under none. */
  async writtenBack(): Promise<void> {
    await Promise.all(this.writebacks);
    this.writebacks = [];
  }

  /**
   * Sets the final size, flushes a durable file's data to the disk (fdatasync), and moves the
   * file over the target. On failure the temporary file is removed and an InputError thrown.
   */
  commit(size: number): void {
    if (this.writebacks.length) throw new Error(`${this.target}: commit before writtenBack()`);
    let step = 'write';
    try {
      ftruncateSync(this.fd, size);
      if (this.writebackError) throw this.writebackError;
      if (this.durable) fdatasyncSync(this.fd);
      this.close();
      step = 'rename into place';
      renameTemp(this.temp, this.dest);
    } catch (err) {
      this.discard();
      throw new InputError(this.target, `cannot ${step}: ${describeSystemError(err)}`);
    }
  }

  /**
   * Removes the temporary file (after an error); safe to call more than once, and after commit.
   * A durable file's writtenBack() comes first, so no fdatasync is left queued on a closed descriptor.
   */
  discard(): void {
    try {
      this.close();
    } catch {
      // the file goes anyway
    }
    try {
      removeTemp(this.temp); // already gone, or renamed into place, after commit
    } catch {
      // left behind: nothing more to do about it here
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

/**
 * Writes `target` through an OutputFile: `fill` writes the bytes and returns the final size (or a
 * promise of it, and then so does writeOutputFile); the file is committed when it does and
 * discarded when it throws (or rejects).
 */
export function writeOutputFile(target: string, fill: (out: OutputFile) => number): void;
export function writeOutputFile(target: string, fill: (out: OutputFile) => Promise<number>): Promise<void>;
export function writeOutputFile(target: string, fill: (out: OutputFile) => number | Promise<number>): void | Promise<void> {
  const out = OutputFile.create(target);
  const fail = (err: unknown): never => {
    out.discard();
    throw err;
  };
  try {
    const size = fill(out);
    if (typeof size !== 'number') return size.then((n) => out.commit(n), fail);
    out.commit(size);
  } catch (err) {
    fail(err);
  }
}
