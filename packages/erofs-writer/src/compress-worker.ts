import { parentPort, workerData } from 'node:worker_threads';
import type { SegmentJob, WorkerReply, WorkerSetup } from './compress-pool.js';
import { planBatch, transferList } from './compress-pool.js';
import { DedupeIndex } from './dedupe.js';
import { createEncoder } from './encoders.js';

/** Worker thread: plans the batches of segments it is sent, one at a time, with its own encoder (and dedupe index). */
const { setup, dedupeStore } = workerData as WorkerSetup;
const encoder = createEncoder(setup);
const dedupe = dedupeStore ? new DedupeIndex(setup.plan.blockSize, dedupeStore) : undefined;
parentPort!.on('message', (jobs: SegmentJob[]) => {
  try {
    const results = planBatch(setup, encoder, jobs, dedupe);
    parentPort!.postMessage({ ok: true, results } satisfies WorkerReply, transferList(results));
  } catch (err) {
    parentPort!.postMessage({ ok: false, message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies WorkerReply);
  }
});
