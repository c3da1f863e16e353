import { formatCount, formatDuration } from './terminal.ts';

export interface Progress {
  fileDone(bytes: number): void;
  records(n: number): void;
  stop(): void;
}

/** Progress on stderr when it is a terminal (files, records, records/s, ETA); silent otherwise. */
export const createProgress = (totalFiles: number, totalBytes: number, stream: NodeJS.WriteStream = process.stderr): Progress => {
  if (!stream.isTTY) return { fileDone() {}, records() {}, stop() {} };
  const started = Date.now();
  let files = 0;
  let bytes = 0;
  let records = 0;
  const draw = (): void => {
    const elapsed = Date.now() - started;
    const rate = elapsed > 0 ? (records * 1000) / elapsed : 0;
    const eta = bytes > 0 && totalBytes > 0 ? (elapsed * (totalBytes - bytes)) / bytes : Number.NaN;
    stream.write(`\r\x1b[K files ${formatCount(files)}/${formatCount(totalFiles)}  records ${formatCount(records)}  ${formatCount(Math.round(rate))} rec/s  ETA ${formatDuration(eta)}`);
  };
  const timer = setInterval(draw, 250);
  timer.unref();
  return {
    fileDone(b) {
      files++;
      bytes += b;
    },
    records(n) {
      records += n;
    },
    stop() {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    },
  };
};
