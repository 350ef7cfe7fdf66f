import { Worker } from 'node:worker_threads';
import type { PclusterEncoder, SegmentPlan } from './compress-plan.js';
import { pays, planSegment } from './compress-plan.js';
import { DedupeIndex } from './dedupe.js';
import type { CompressionSetup } from './encoders.js';
import { createEncoder } from './encoders.js';

/** One segment of a file to plan: its bytes, whether it ends the file or is all of it, whether the file is the packed inode. */
export interface SegmentJob {
  src: Uint8Array;
  last: boolean;
  only: boolean;
  packed: boolean;
}

/** What a worker thread is started with. */
export interface WorkerSetup {
  setup: CompressionSetup;
  /** -E dedupe: where the dedupe index keeps extents' bytes (this thread plans every segment). */
  dedupeStore?: string;
}

/** A planned segment, with its input handed back (a file that does not compress is stored from it). */
export interface SegmentResult {
  plan: SegmentPlan;
  src: Uint8Array;
}

export type WorkerReply = { ok: true; results: SegmentResult[] } | { ok: false; message: string };

/**
 * Plans a batch of segments with `enc` (the packed inode's tails stay in it: no fragments, no
 * dedupe there). A file of one segment that compression does not shrink is marked flat, and what
 * the dedupe index learnt from it is forgotten (its pclusters will not be written).
 */
export function planBatch(setup: CompressionSetup, enc: PclusterEncoder, jobs: readonly SegmentJob[], dedupe?: DedupeIndex): SegmentResult[] {
  const packedPlan = { ...setup.plan, fragments: false, allFragments: false };
  return jobs.map((j) => {
    const d = j.packed ? undefined : dedupe;
    const mark = d?.mark();
    const plan = planSegment(j.src, j.last, enc, j.packed ? packedPlan : setup.plan, d);
    if (j.only && !pays(plan, j.src.length, setup.plan.blockSize)) {
      plan.flat = true;
      if (mark) d!.rollback(mark);
    }
    return { plan, src: j.src };
  });
}

/** The buffers a batch's results hold, to transfer rather than copy between threads. */
export function transferList(results: readonly SegmentResult[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const { plan, src } of results) for (const a of [src, plan.data, plan.inline, plan.fragment]) if (a && a.buffer instanceof ArrayBuffer) seen.add(a.buffer);
  return [...seen];
}

/** A worker thread and the batches it was sent that have not come back yet, oldest first. */
interface Lane {
  worker: Worker;
  pending: Array<{ bytes: number; resolve: (r: SegmentResult[]) => void; reject: (err: Error) => void }>;
  bytes: number;
}

/**
 * Plans batches of segments on `workers` worker threads (0: on the calling thread, at once).
 * Batches are independent and each result comes back with its own batch, so which thread ran
 * what, and when, changes nothing in the image. A batch is posted at once to the thread with the
 * fewest bytes outstanding: a thread never waits for the caller (busy filling the next batch) to
 * hand it work. Results may come back out of order across threads (the caller commits in order).
 */
export class CompressPool {
  private readonly lanes: Lane[] = [];
  private readonly encoder: PclusterEncoder | undefined;
  private readonly dedupe: DedupeIndex | undefined;

  /** With -E dedupe, `dedupeStore` names the dedupe index's scratch file, and one thread plans all. */
  constructor(
    private readonly setup: CompressionSetup,
    workers: number,
    dedupeStore?: string,
  ) {
    const threads = setup.plan.dedupe ? Math.min(workers, 1) : workers;
    for (let i = 0; i < threads; i++) {
      const workerData: WorkerSetup = { setup, dedupeStore };
      const lane: Lane = { worker: new Worker(new URL('./compress-worker.js', import.meta.url), { workerData }), pending: [], bytes: 0 };
      // A thread keeps the process alive only while it has work (an idle pool never holds it open).
      lane.worker.unref();
      lane.worker.on('message', (reply: WorkerReply) => {
        const job = lane.pending.shift()!;
        lane.bytes -= job.bytes;
        if (lane.pending.length === 0) lane.worker.unref();
        if (reply.ok) job.resolve(reply.results);
        else job.reject(new Error(`compression worker: ${reply.message}`));
      });
      lane.worker.on('error', (err) => {
        for (const job of lane.pending.splice(0)) job.reject(err);
      });
      this.lanes.push(lane);
    }
    this.encoder = threads === 0 ? createEncoder(setup) : undefined;
    this.dedupe = threads === 0 && dedupeStore ? new DedupeIndex(setup.plan.blockSize, dedupeStore) : undefined;
  }

  get threads(): number {
    return this.lanes.length;
  }

  run(jobs: SegmentJob[]): Promise<SegmentResult[]> {
    if (this.encoder) return Promise.resolve(planBatch(this.setup, this.encoder, jobs, this.dedupe));
    const lane = this.lanes.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    const bytes = jobs.reduce((n, j) => n + j.src.length, 0);
    return new Promise((resolve, reject) => {
      if (lane.pending.length === 0) lane.worker.ref();
      lane.pending.push({ bytes, resolve, reject });
      lane.bytes += bytes;
      // Segments of small files share a buffer: each buffer is transferred once.
      lane.worker.postMessage(jobs, [...new Set(jobs.map((j) => j.src.buffer as ArrayBuffer))]);
    });
  }

  async close(): Promise<void> {
    this.dedupe?.close();
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
  }
}
