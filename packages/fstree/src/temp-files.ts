import { mkdtempSync, renameSync, rmSync } from 'node:fs';

/**
 * Temporary files and folders this thread has made and not yet renamed into place or removed,
 * so that an interrupted command (Ctrl-C, kill) can remove them before it dies: a failed run
 * removes its own on the way out, but a signal ends the process where it stands.
 */
const live = new Set<string>();

/** Cleanups of other threads' temporaries (a pool asking its workers), run on interruption. */
const interruptHooks = new Set<() => Promise<void>>();

/** Notes a temporary file or folder this thread just made. */
export function trackTemp(path: string): void {
  live.add(path);
}

/** Forgets a temporary that was renamed into place or removed. */
export function untrackTemp(path: string): void {
  live.delete(path);
}

/** Makes a fresh temporary folder whose path starts with `prefix` (mkdtemp), tracked. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(prefix);
  trackTemp(dir);
  return dir;
}

/** Renames a tracked temporary into place (`dest`) and forgets it. */
export function renameTemp(path: string, dest: string): void {
  renameSync(path, dest);
  untrackTemp(path);
}

/** Removes a tracked temporary (a folder with its contents) and forgets it. */
export function removeTemp(path: string): void {
  rmSync(path, { recursive: true, force: true });
  untrackTemp(path);
}

/**
 * Removes every temporary this thread still holds (folders with their contents), as far as it
 * can: on the way out, one that cannot be removed must not stop the others.
 */
export function removeTemps(): void {
  for (const path of live) {
    try {
      removeTemp(path);
    } catch {
      // left behind; nothing more to do about it here
    }
  }
}

/** Registers a cleanup to run when the command is interrupted; returns its unregistration. */
export function onInterrupt(hook: () => Promise<void>): () => void {
  interruptHooks.add(hook);
  return () => interruptHooks.delete(hook);
}

/** How long an interrupted command waits for its hooks before it removes its own temporaries and dies. */
const INTERRUPT_WAIT_MS = 3000;

/**
 * What a command does on SIGINT, SIGTERM or SIGHUP: the registered hooks run (for at most
 * INTERRUPT_WAIT_MS), this thread's temporaries are removed, and the process then dies of the
 * signal as it would have (a second signal meanwhile kills it at once).
 */
export function removeTempsOnSignals(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      const hooks = Promise.allSettled([...interruptHooks].map((hook) => hook()));
      const timeout = new Promise((done) => setTimeout(done, INTERRUPT_WAIT_MS));
      void Promise.race([hooks, timeout]).then(() => {
        removeTemps();
        process.kill(process.pid, signal);
      });
    });
  }
}
