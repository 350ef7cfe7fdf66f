import { parentPort } from 'node:worker_threads';
import { VerityError } from './errors.js';
import type { WorkerReply } from './pool.js';
import type { RegionJob } from './region.js';
import { runRegionSync, Scratch } from './region.js';

/** Worker thread: runs each region job it is sent, answering each in turn, with the same buffers. */
let scratch: Scratch | undefined;
parentPort!.on('message', (job: RegionJob) => {
  let reply: WorkerReply;
  try {
    if (!scratch?.fits(job)) scratch = new Scratch(job.salt, job.blockSize);
    reply = { ok: true, mismatch: runRegionSync(job, scratch) };
  } catch (err) {
    reply =
      err instanceof VerityError
        ? { ok: false, file: err.file, problem: err.problem, message: err.message }
        : { ok: false, message: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  parentPort!.postMessage(reply);
});
