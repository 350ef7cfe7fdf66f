import { parentPort } from 'node:worker_threads';
import { InputError, removeTemps } from '@fstools/fstree';
import type { LayerJob, WorkerReply } from './layer-pool.js';
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
  ensureLayerBlob(job.image, job.layer, job.blobDir, job.limits).then(
    (blob) => parentPort!.postMessage({ ok: true, blob } satisfies WorkerReply),
    (err: unknown) =>
      parentPort!.postMessage({
        ok: false,
        error: err instanceof InputError ? { file: err.file, problem: err.problem } : { message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
      } satisfies WorkerReply),
  );
});
