import type { ManifestEntry } from '@fstools/fstree';
import { MAX_PROBLEMS } from './report.js';

/** What one path should look like after a workload: absent, or an entry (mtime optionally free). */
export interface Expected {
  entry?: ManifestEntry;
  /** The workload changed the mtime to a time the host cannot know. */
  anyMtime?: boolean;
}

/** Expectations keyed by manifest path, starting from a manifest (every entry unchanged). */
export class Expectations {
  private readonly map = new Map<string, Expected>();

  constructor(start: readonly ManifestEntry[]) {
    for (const e of start) this.map.set(e.path, { entry: e });
  }

  set(entry: ManifestEntry, anyMtime = false): void {
    this.map.set(entry.path, { entry, anyMtime });
  }

  /** The entry stays but its mtime may change (a directory whose entries changed, say). */
  touch(path: string): void {
    const e = this.map.get(path);
    if (e?.entry) e.anyMtime = true;
  }

  /** The path and everything under it are gone. */
  remove(path: string): void {
    for (const p of this.map.keys()) if (p === path || p.startsWith(`${path}/`)) this.map.set(p, {});
  }

  /** Differences between what was expected and what the guest saw ("- expected", "+ guest"). */
  differences(actual: readonly ManifestEntry[]): string[] {
    const got = new Map(actual.map((e) => [e.path, e]));
    const out: string[] = [];
    for (const path of [...new Set([...this.map.keys(), ...got.keys()])].sort()) {
      const want = this.map.get(path) ?? {};
      const have = got.get(path);
      const free = want.anyMtime === true;
      const a = want.entry && canonical(want.entry, free);
      const b = have && canonical(have, free);
      if (a === b) continue;
      out.push(a ? `- ${a}` : `- (no ${path})`, b ? `+ ${b}` : `+ (no ${path})`);
      if (out.length >= MAX_PROBLEMS * 2) break;
    }
    return out;
  }
}

/** Key-sorted JSON of an entry, its mtime left out when it is free. */
function canonical(e: ManifestEntry, freeMtime: boolean): string {
  const rec = e as unknown as Record<string, unknown>;
  const keys = Object.keys(rec).filter((k) => !(freeMtime && k === 'mtime') && rec[k] !== undefined).sort();
  return JSON.stringify(Object.fromEntries(keys.map((k) => [k, rec[k]])));
}
