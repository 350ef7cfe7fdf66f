/** A one-line progress display on a TTY stream: files and bytes so far, redrawn at most 10 times a second. */
export function progressReporter(stream: NodeJS.WriteStream): { update: (files: number, bytes: number) => void; done: () => void } {
  let last = 0;
  let shown = false;
  return {
    update(files, bytes) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      stream.write(`\r${files} files, ${(bytes / 1048576).toFixed(1)} MiB of data`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
