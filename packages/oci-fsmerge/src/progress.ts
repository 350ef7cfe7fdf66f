import type { ProgressEvent } from './fsmerge.js';

/** How often the fetch line is redrawn. */
const REDRAW_MS = 200;

/**
 * Progress on a terminal (stderr): a line per layer started and done, and below them one line,
 * redrawn in place, with the bytes fetched from a registry so far, the total, the rate and each
 * downloading layer's share.
 */
export class TerminalProgress {
  readonly #out: NodeJS.WriteStream;
  readonly #fetching = new Map<number, { fetched: number; size: number }>();
  #fetched = 0;
  #total = 0;
  #status = false;
  #drawn = 0;
  readonly #started = Date.now();

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
  }

  readonly onProgress = (e: ProgressEvent): void => {
    if (e.kind === 'layer-fetch') {
      const was = this.#fetching.get(e.index);
      if (!was) this.#total += e.size;
      this.#fetched += e.fetched - (was?.fetched ?? 0);
      this.#fetching.set(e.index, { fetched: e.fetched, size: e.size });
      if (Date.now() - this.#drawn >= REDRAW_MS) this.#draw();
      return;
    }
    if (e.kind === 'layer-start') this.#line(`${e.label}: converting`);
    else if (e.kind === 'layer-done') {
      this.#fetching.delete(e.index);
      const fetched = e.fetched > 0 ? `, fetched ${mib(e.fetched)}` : '';
      this.#line(`${e.label}: ${e.reused ? 'reused' : 'written'} ${mib(e.bytes)}${fetched} in ${e.seconds.toFixed(2)} s`);
    } else if (e.kind === 'merge') this.#line('merging layers');
    else this.#line(`writing ${e.path}`);
  };

  /** A line above the status line (which is redrawn after it while layers are downloading). */
  #line(text: string): void {
    this.#clear();
    this.#out.write(`fsmerge: ${text}\n`);
    if (this.#fetching.size > 0) this.#draw();
  }

  #clear(): void {
    if (this.#status) this.#out.write('\r\x1b[K');
    this.#status = false;
  }

  #draw(): void {
    this.#clear();
    const seconds = Math.max(0.001, (Date.now() - this.#started) / 1000);
    const layers = [...this.#fetching].map(([i, l]) => `layer ${i} ${l.size ? Math.floor((100 * l.fetched) / l.size) : 100}%`).join(', ');
    this.#out.write(`fsmerge: fetched ${mib(this.#fetched)} of ${mib(this.#total)} at ${mib(this.#fetched / seconds)}/s${layers ? `: ${layers}` : ''}`);
    this.#status = true;
    this.#drawn = Date.now();
  }
}

export function mib(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
}
