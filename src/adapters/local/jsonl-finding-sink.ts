import { createWriteStream, type WriteStream } from 'node:fs';
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
      // Bidi overrides as \uXXXX escapes: the same JSON, and nothing that reorders text when shown in a terminal.
      for (const f of findings) await write(`${JSON.stringify(render(f)).replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`);
    },
    close: () =>
      new Promise((resolve, reject) => {
        if (target === '-') return resolve();
        (stream as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve()));
      }),
  };
};
