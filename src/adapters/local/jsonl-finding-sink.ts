import { accessSync, constants, createWriteStream, existsSync, openSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { UsageError } from '#core/errors.ts';
import { stringifyJsonSafely } from '#core/events/fields.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { FindingSink } from '#core/ports.ts';

export interface JsonlFindingSink extends FindingSink {
  /** Finishes the file: only now does it replace what the path held. */
  close(): Promise<void>;
  /** The run failed: the path keeps what it held before, and no partial file stays behind. */
  abandon(): void;
}

const cannotWrite = (target: string, error: Error): UsageError => new UsageError(`cannot write findings to ${target}: ${error.message}`, { cause: error });

/**
 * The file beside the target that the findings are written to, opened now: a path that cannot be written is an
 * error before any work, naming it. (The replay has told a missing directory or a directory at the path already,
 * in the words of the other output files.)
 */
const openForWriting = (target: string, partial: string): WriteStream => {
  try {
    if (existsSync(target)) accessSync(target, constants.W_OK);
    return createWriteStream(partial, { fd: openSync(partial, 'w'), encoding: 'utf8' });
  } catch (error) {
    throw cannotWrite(target, error as Error);
  }
};

/**
 * Writes one rendered finding per line to a file, or to stdout for `-`. The file is written beside the target
 * and renamed onto it when closed, so a run that fails never leaves an empty or half-written findings file, nor
 * wipes the one an earlier run wrote.
 */
export const createJsonlFindingSink = (target: string, render: (f: FindingRecord) => unknown): JsonlFindingSink => {
  const partial = `${target}.partial-${process.pid}`;
  const stream: NodeJS.WritableStream = target === '-' ? process.stdout : openForWriting(target, partial);
  // A failure while writing (a full disk, say) is kept and reported by the next write or the close.
  let failure: Error | undefined;
  if (target !== '-') stream.on('error', (error: Error) => (failure ??= error));
  const failed = (error: Error): UsageError => cannotWrite(target, error);
  const write = (line: string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (failure !== undefined) return reject(failed(failure));
      const ok = stream.write(line, (err) => (err ? reject(failed(err)) : undefined));
      if (ok) resolve();
      else stream.once('drain', resolve);
    });
  return {
    async put(findings) {
      for (const f of findings) await write(`${stringifyJsonSafely(render(f))}\n`);
    },
    close: () =>
      new Promise((resolve, reject) => {
        if (target === '-') return resolve();
        if (failure !== undefined) return reject(failed(failure));
        (stream as WriteStream).end((err?: Error | null) => {
          if (err) return reject(failed(err));
          try {
            renameSync(partial, target);
            resolve();
          } catch (error) {
            reject(failed(error as Error));
          }
        });
      }),
    abandon() {
      if (target === '-') return;
      (stream as WriteStream).destroy();
      rmSync(partial, { force: true });
    },
  };
};
