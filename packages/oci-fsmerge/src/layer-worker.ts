import { parentPort } from 'node:worker_threads';
import { InputError, removeTemps } from '@fstools/fstree';
import type { LayerJob, WorkerReply } from './layer-pool.js';
import { FETCH_REPORT_MS } from './layer-pool.js';
import { ensureLayerBlob } from './layer-blob.js';

/**
 * Worker thread: converts the layers it is sent, one at a time. 'abort' (the command was
 * interrupted) removes its temporary files and ends the thread.
 */
parentPort!.on('message', (job: LayerJob | 'abort') => {
  if (job === 'abort') {
    removeTemps();
    process.exit();
  }
  // Bytes fetched are sent at most every FETCH_REPORT_MS, the rest with the outcome.
  let unsent = 0;
  let last = 0;
  const report = (): void => {
    if (unsent > 0) parentPort!.postMessage({ fetched: unsent } satisfies WorkerReply);
    unsent = 0;
    last = Date.now();
  };
  const onFetched = (n: number): void => {
    unsent += n;
    if (Date.now() - last >= FETCH_REPORT_MS) report();
  };
  ensureLayerBlob(job.image, job.layer, job.blobDir, job.limits, { ...(job.keepBlobs && { keepBlobs: job.keepBlobs }), onFetched }).finally(report).then(
    (blob) => parentPort!.postMessage({ ok: true, blob } satisfies WorkerReply),
    (err: unknown) =>
      parentPort!.postMessage({
        ok: false,
        error: err instanceof InputError ? { file: err.file, problem: err.problem } : { message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
      } satisfies WorkerReply),
  );
});
