import { createWriteStream, type WriteStream } from 'node:fs';
import { stringifyJsonSafely } from '#core/events/fields.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { FindingSink } from '#core/ports.ts';

export interface JsonlFindingSink extends FindingSink {
  close(): Promise<void>;
}

/** Writes one rendered finding per line to a file, or to stdout for `-`. */
export const createJsonlFindingSink = (target: string, render: (f: FindingRecord) => unknown): JsonlFindingSink => {
  const stream: NodeJS.WritableStream = target === '-' ? process.stdout : createWriteStream(target, { encoding: 'utf8' });
  const write = (line: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const ok = stream.write(line, (err) => (err ? reject(err) : undefined));
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
        (stream as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve()));
      }),
  };
};
