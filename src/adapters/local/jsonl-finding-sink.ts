import { createWriteStream, openSync, type WriteStream } from 'node:fs';
import { UsageError } from '#core/errors.ts';
import { stringifyJsonSafely } from '#core/events/fields.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { FindingSink } from '#core/ports.ts';

export interface JsonlFindingSink extends FindingSink {
  close(): Promise<void>;
}

const cannotWrite = (target: string, error: Error): UsageError => new UsageError(`cannot write findings to ${target}: ${error.message}`, { cause: error });

/** The file, opened now: a path that cannot be written is an error before any work, naming it. */
const openForWriting = (target: string): WriteStream => {
  try {
    return createWriteStream(target, { fd: openSync(target, 'w'), encoding: 'utf8' });
  } catch (error) {
    throw cannotWrite(target, error as Error);
  }
};

/** Writes one rendered finding per line to a file (opened, and so checked, at once), or to stdout for `-`. */
export const createJsonlFindingSink = (target: string, render: (f: FindingRecord) => unknown): JsonlFindingSink => {
  const stream: NodeJS.WritableStream = target === '-' ? process.stdout : openForWriting(target);
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
        (stream as WriteStream).end((err?: Error | null) => (err ? reject(failed(err)) : resolve()));
      }),
  };
};
