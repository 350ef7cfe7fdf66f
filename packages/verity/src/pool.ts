import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { VerityError } from './errors.js';
import type { RegionJob } from './region.js';
import { runRegion, Scratch } from './region.js';

/** What a worker thread sends back for each piece: the first mismatching block (-1: none, or not comparing), or its error. */
export type WorkerReply = { ok: true; mismatch: number } | { ok: false; file?: string; problem?: string; message: string };

/** Blocks per piece handed out: 32 MiB of 4 KiB blocks, a multiple of every read. */
const PIECE = 8192;

/** A worker thread that runs the pieces it is sent, one at a time. */
class HashWorker {
  private readonly worker = new Worker(new URL('./hash-worker.js', import.meta.url));
  private waiting: { resolve: (m: number) => void; reject: (err: Error) => void } | undefined;
  /** Why the thread is gone, if it is (a failed start included). */
  private dead: Error | undefined;

  constructor() {
    this.worker.on('message', (reply: WorkerReply) => {
      const w = this.waiting!;
      this.waiting = undefined;
      if (reply.ok) w.resolve(reply.mismatch);
      else w.reject(reply.file !== undefined ? new VerityError(reply.file, reply.problem!) : new Error(`dm-verity hash worker: ${reply.message}`));
    });
    const die = (err: Error) => {
      this.dead ??= err;
      this.waiting?.reject(this.dead);
      this.waiting = undefined;
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`dm-verity hash worker exited with code ${code}`)));
  }

  run(job: RegionJob): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.dead) return reject(this.dead);
      this.waiting = { resolve, reject };
      this.worker.postMessage(job);
    });
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Runs `job` on `threads` threads: this one (asynchronously, through the open handles) and
 * threads - 1 worker threads (which open the files themselves), each taking the next piece of
 * PIECE blocks as soon as it is free, so this thread is already hashing while the workers start.
 * Every block's digest lands in its own slot whoever computes it: the result never depends on
 * `threads`. When comparing, no piece is handed out once a mismatch is found; pieces go out in
 * order, so the smallest mismatch found is the first one. After a failure no piece is handed
 * out either, and the first failure is thrown once every thread has stopped.
 */
export async function runRegionOn(job: RegionJob, threads: number, src: FileHandle, dst: FileHandle): Promise<number> {
  if (threads <= 1 || job.count <= PIECE) return runRegion(job, src, dst);
  const end = job.first + job.count;
  let next = job.first;
  let found = -1;
  let failed = false;
  const take = (): RegionJob | undefined => {
    if (next >= end || found >= 0 || failed) return undefined;
    const piece = { ...job, first: next, count: Math.min(PIECE, end - next) };
    next += piece.count;
    return piece;
  };
  const record = (m: number) => {
    if (m >= 0 && (found < 0 || m < found)) found = m;
  };
  const workers = Array.from({ length: Math.min(threads - 1, Math.ceil(job.count / PIECE) - 1) }, () => new HashWorker());
  const lane = async (run: (piece: RegionJob) => Promise<number>) => {
    try {
      for (let piece = take(); piece; piece = take()) record(await run(piece));
    } catch (err) {
      failed = true;
      throw err;
    }
  };
  const scratch = new Scratch(job.salt, job.blockSize);
  // Every lane ends before this returns or throws: none writes on after a failure is reported.
  const ends = await Promise.allSettled([lane((p) => runRegion(p, src, dst, scratch)), ...workers.map((w) => lane((p) => w.run(p)))]);
  await Promise.all(workers.map((w) => w.close()));
  const failure = ends.find((e) => e.status === 'rejected');
  if (failure) throw failure.reason;
  return found;
}
