import { formatCount } from '#core/counted.ts';
import { formatDuration, safeText } from './terminal.ts';

export interface Progress {
  fileDone(bytes: number): void;
  records(n: number): void;
  /** `bytes` more of `file` were read to know it by its contents (before the replay reads it): shown until the replay goes on. */
  identifying(file: string, bytes: number, fileBytes: number): void;
  stop(): void;
}

const MIB = 1024 * 1024;
const formatMib = (bytes: number): string => `${formatCount(Math.round(bytes / MIB))} MiB`;

/** Progress on stderr when it is a terminal (files, records, records/s, ETA); silent otherwise. */
export const createProgress = (totalFiles: number, totalBytes: number, stream: NodeJS.WriteStream = process.stderr): Progress => {
  if (!stream.isTTY) return { fileDone() {}, records() {}, identifying() {}, stop() {} };
  const started = Date.now();
  let files = 0;
  let bytes = 0;
  let records = 0;
  /** The file being hashed, and how far, until the replay's own progress goes on. */
  let hashing: { file: string; bytes: number; fileBytes: number } | undefined;
  const draw = (): void => {
    if (hashing !== undefined) {
      stream.write(`\r\x1b[K identifying ${safeText(hashing.file)} by its contents: ${formatMib(hashing.bytes)} of ${formatMib(hashing.fileBytes)}`);
      return;
    }
    const elapsed = Date.now() - started;
    const rate = elapsed > 0 ? (records * 1000) / elapsed : 0;
    const eta = bytes > 0 && totalBytes > 0 ? (elapsed * (totalBytes - bytes)) / bytes : Number.NaN;
    stream.write(`\r\x1b[K files ${formatCount(files)}/${formatCount(totalFiles)}  records ${formatCount(records)}  ${formatCount(Math.round(rate))} rec/s  ETA ${formatDuration(eta)}`);
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    identifying(file, b, fileBytes) {
      if (hashing?.file !== file) hashing = { file, bytes: 0, fileBytes };
      hashing.bytes += b;
    },
    fileDone(b) {
      hashing = undefined;
      files++;
      bytes += b;
    },
    records(n) {
      hashing = undefined;
      records += n;
    },
    stop() {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    },
  };
};

/** Progress of work that keeps the thread busy until it ends, where no timer would fire: drawn as it advances. */
export interface SteppedProgress {
  /** `n` more of the total are done. */
  advance(n: number): void;
  stop(): void;
}

/**
 * `kdm simulate`'s progress on stderr when it is a terminal ("records 120,000 of about 1,000,000 (12%)  ETA 0:17"),
 * redrawn at most every 250 ms of `nowMs`; silent otherwise. `what`: the plural of what is counted.
 */
export const createSteppedProgress = (what: string, total: number, stream: NodeJS.WriteStream = process.stderr, nowMs: () => number = Date.now): SteppedProgress => {
  if (!stream.isTTY) return { advance() {}, stop() {} };
  const started = nowMs();
  let drawnAt = started;
  let done = 0;
  return {
    advance(n) {
      done += n;
      const now = nowMs();
      if (now - drawnAt < 250) return;
      drawnAt = now;
      const share = total > 0 ? Math.min(done / total, 1) : 0;
      const eta = share > 0 ? ((now - started) * (1 - share)) / share : Number.NaN;
      stream.write(`\r\x1b[K ${what} ${formatCount(done)} of about ${formatCount(total)} (${Math.floor(share * 100)}%)  ETA ${formatDuration(eta)}`);
    },
    stop() {
      stream.write('\r\x1b[K');
    },
  };
};
