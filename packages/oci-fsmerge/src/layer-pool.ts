import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InputError, onInterrupt } from '@fstools/fstree';
import type { LayerSource } from './image.js';
import type { LayerBlob } from './layer-blob.js';
import { ensureLayerBlob } from './layer-blob.js';
import type { LayerLimits } from './limits.js';

export interface LayerJob {
  image: string;
  layer: LayerSource;
  blobDir: string;
  limits: LayerLimits;
  /** --keep-blobs: the OCI layout registry blobs are saved into. */
  keepBlobs?: string;
}

/** A worker's answer to a job: progress (bytes fetched since the last), then the outcome. */
export type WorkerReply = { ok: true; blob: LayerBlob } | { ok: false; error: { file: string; problem: string } | { message: string } } | { fetched: number };

/** How often a worker reports bytes fetched. */
export const FETCH_REPORT_MS = 100;

export interface PoolEvents {
  onStart?: (layer: LayerSource) => void;
  onDone?: (layer: LayerSource, blob: LayerBlob) => void;
  /** Bytes of the layer's blob fetched from a registry (worker threads report every FETCH_REPORT_MS). */
  onFetched?: (layer: LayerSource, bytes: number) => void;
}

/**
 * Converts layers to layer images, `parallel` at a time (layers are independent): one on the
 * calling thread, the others on worker threads. The workers start when the pool is made, so they
 * load their code while the caller is still reading the image's manifests. The calling thread
 * needs no start and keeps the tree it wrote (a worker's is copied over), so it takes the largest
 * layer first: on the Debian benchmark image 1.25 s -> 1.18 s against two workers.
 */
export class LayerPool {
  private readonly workers: Worker[];
  private readonly unregister: () => void;

  constructor(private readonly parallel = defaultParallelism()) {
    this.workers = Array.from({ length: parallel - 1 }, () => new Worker(new URL('./layer-worker.js', import.meta.url)));
    // Interrupted, each worker removes the temporary files of the layer it is writing.
    this.unregister = onInterrupt(() => Promise.all(this.workers.map(abort)).then(() => {}));
  }

  /**
   * Converts the layers, largest blob first; results come back in stack order. A layer's onDone
   * runs once its lane has taken the next layer, so a worker does not wait on what the caller
   * does with a result.
   * On the first failure (a conversion's or an onDone's) nothing new starts, the running
   * conversions finish (each either renames a complete image into place or removes its
   * temporary file) and the failure is thrown.
   */
  async convert(jobs: LayerJob[], events: PoolEvents = {}): Promise<LayerBlob[]> {
    const results: LayerBlob[] = new Array(jobs.length);
    const order = jobs.map((_, i) => i).sort((a, b) => jobs[b]!.layer.blob.size - jobs[a]!.layer.blob.size);
    let next = 0;
    let failure: unknown;
    const lane = async (run: (job: LayerJob) => Promise<LayerBlob>): Promise<void> => {
      let done: (() => void) | undefined;
      const finish = (): void => {
        try {
          done?.();
        } catch (err) {
          failure ??= err;
        }
        done = undefined;
      };
      while (failure === undefined && next < jobs.length) {
        const i = order[next++]!;
        const job = jobs[i]!;
        events.onStart?.(job.layer);
        const running = run(job);
        finish();
        try {
          const blob = await running;
          results[i] = blob;
          done = () => events.onDone?.(job.layer, blob);
        } catch (err) {
          failure ??= err;
        }
      }
      finish();
    };
    const lanes = Math.max(1, Math.min(this.parallel, jobs.length));
    const fetched = (job: LayerJob) => (n: number) => events.onFetched?.(job.layer, n);
    const here = (job: LayerJob): Promise<LayerBlob> => ensureLayerBlob(job.image, job.layer, job.blobDir, job.limits, { ...(job.keepBlobs && { keepBlobs: job.keepBlobs }), onFetched: fetched(job) });
    await Promise.all([lane(here), ...this.workers.slice(0, lanes - 1).map((w) => lane((job) => runOn(w, job, fetched(job))))]);
    if (failure !== undefined) throw failure;
    return results;
  }

  async close(): Promise<void> {
    this.unregister();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export function defaultParallelism(): number {
  return Math.max(1, Math.min(2, availableParallelism()));
}

/** Asks a worker to remove its temporary files and stop; resolves once it has. */
function abort(worker: Worker): Promise<void> {
  return new Promise((done) => {
    worker.once('exit', () => done());
    worker.postMessage('abort');
  });
}

function runOn(worker: Worker, job: LayerJob, onFetched: (bytes: number) => void): Promise<LayerBlob> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      worker.off('message', onMessage);
      reject(err);
    };
    const onMessage = (reply: WorkerReply): void => {
      if ('fetched' in reply) return onFetched(reply.fetched);
      worker.off('message', onMessage);
      worker.off('error', onError);
      if (reply.ok) resolve(reply.blob);
      else if ('file' in reply.error) reject(new InputError(reply.error.file, reply.error.problem));
      else reject(new Error(reply.error.message));
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.postMessage(job);
  });
}
