import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RECORDS_PIECE_BYTES, type InputFile } from '#adapters/local/cloudtrail-files.ts';
import { ReaderThreads, readInputs, startReaderThreads } from '#adapters/local/threaded-reader.ts';
import { READER_NICENESS } from '#adapters/local/thread-priority.ts';
import { normalizeRecord } from '#core/events/normalize.ts';
import { kmsRecord } from '#core/testing/builders.ts';
import { taskStatFields } from '../../../../bench/baselines/task-stat.mjs';

/** The reader thread's script, as the build makes it (the test run's global setup builds it). */
const WORKER_SCRIPT = new URL('../../../../dist/kdm-reader-worker.js', import.meta.url);

/** `count` CloudTrail files of one record each, in reading order. */
const logFiles = (count: number): InputFile[] => {
  const dir = mkdtempSync(join(tmpdir(), 'kdm-reader-'));
  return Array.from({ length: count }, (_, i) => {
    const path = join(dir, `file-${String(i).padStart(3, '0')}.json`);
    const record = { eventVersion: '1.08', eventSource: 'kms.amazonaws.com', eventName: 'Decrypt', eventTime: '2026-10-01T00:00:00Z', eventID: `id-${i}`, awsRegion: 'us-east-1' };
    writeFileSync(path, JSON.stringify({ Records: [record] }));
    return { path, bytes: statSync(path).size };
  });
};

/** Reads `inputs` whole, noting at each file's end which entries of the list are still held. */
const readNoting = async (inputs: (InputFile | undefined)[], options: Parameters<typeof readInputs>[1]) => {
  const files = inputs.map((i) => i?.path);
  const heldAtEachEnd: number[][] = [];
  const done: string[] = [];
  for await (const item of readInputs(inputs, options)) {
    if (item.type !== 'file-done') continue;
    done.push(item.file);
    heldAtEachEnd.push(inputs.flatMap((input, i) => (input === undefined ? [] : [i])));
  }
  return { files, done, heldAtEachEnd };
};

describe('readInputs lets go of each file of its list once handed to a reader', () => {
  it('on reader threads: only the files not yet asked for are held, and none at the end', async () => {
    // One reader, which is asked for at most 16 files ahead of the engine (threaded-reader.ts): the rest wait in the list.
    const inputs = logFiles(40);
    const { files, done, heldAtEachEnd } = await readNoting(inputs, { workerScript: WORKER_SCRIPT, readers: 1 });
    expect(done).toEqual(files);
    const heldAtFirstEnd = heldAtEachEnd[0] ?? [];
    expect(heldAtFirstEnd.length).toBeGreaterThan(0);
    expect(heldAtFirstEnd.length).toBeLessThan(40 - 1);
    // What is held is the end of the list: files are let go of in order.
    expect(heldAtFirstEnd).toEqual(Array.from({ length: heldAtFirstEnd.length }, (_, i) => 40 - heldAtFirstEnd.length + i));
    expect(inputs.every((i) => i === undefined)).toBe(true);
  });

  it('on this thread: the file being read and those before it are let go of, the rest held', async () => {
    const inputs = logFiles(5);
    const { files, done, heldAtEachEnd } = await readNoting(inputs, { readers: 0 });
    expect(done).toEqual(files);
    expect(heldAtEachEnd).toEqual([[1, 2, 3, 4], [2, 3, 4], [3, 4], [4], []]);
  });
});

describe('readInputs on reader threads, which normalize and encode a file\'s records a piece at a time', () => {
  it('gives the batches and issues that reading on this thread gives: large files, batches across pieces, a file that breaks after its first pieces', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdm-pieces-'));
    const many = Array.from({ length: 300 }, (_, i) => kmsRecord({ eventId: `p${i}` }));
    const nested = { ...kmsRecord({ eventId: 'n' }), pad: 'x'.repeat(RECORDS_PIECE_BYTES), nested: [{ a: 1 }, { eventVersion: 'inner' }] };
    const texts = {
      'large.json': JSON.stringify({ Records: many }),
      'broken.json': JSON.stringify({ Records: many }).replace('"eventID":"p290"', '"eventID":p290"'),
      'nested.json': JSON.stringify({ Records: [...many.slice(0, 60), nested, ...many.slice(60, 120)] }),
      'small.json': JSON.stringify({ Records: many.slice(0, 3) }),
    };
    const inputs = (): InputFile[] => Object.entries(texts).map(([name, text]) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return { path, bytes: statSync(path).size };
    });
    const read = async (options: Parameters<typeof readInputs>[1]) => {
      const out: unknown[] = [];
      for await (const item of readInputs(inputs(), { ...options, batchSize: 120 })) {
        if (item.type === 'batch') {
          const { records, ...batch } = item.batch;
          out.push({ type: 'normalized', batch, results: records.map((r) => normalizeRecord(r)) });
        } else out.push(item);
      }
      return out;
    };

    const onThreads = await read({ workerScript: WORKER_SCRIPT, readers: 2 });
    const here = await read({ readers: 0 });

    expect(onThreads).toEqual(here);
    const kinds = here.map((i) => (i as { type: string }).type);
    expect(kinds.filter((k) => k === 'normalized')).toHaveLength(3 + 2 + 2 + 1);
    expect(here).toContainEqual({ type: 'issue', issue: { kind: 'file-failed', origin: { file: join(dir, 'broken.json') }, message: expect.stringMatching(/^invalid JSON: .*\(after its first 240 records, which were read\)$/) } });
  });
});

describe('reader threads started before their files are known (startReaderThreads)', () => {
  /** What reading `inputs` yields, file by file, as plain data. */
  const readAll = async (inputs: InputFile[], options: Parameters<typeof readInputs>[1]): Promise<unknown[]> => {
    const out: unknown[] = [];
    for await (const item of readInputs(inputs, options)) out.push(item);
    return out;
  };

  it('read what threads started for the read give, use as many as there are files, and are all ended with it', async () => {
    const listed = logFiles(6);
    const toRead = [listed[1], listed[4], listed[5]] as InputFile[];
    const threads = startReaderThreads(listed, { workerScript: WORKER_SCRIPT, readers: 2 });
    expect(threads?.size).toBe(2);
    const started = await readAll([...toRead], { started: threads });
    expect(threads?.size).toBe(0);
    expect(started).toEqual(await readAll([...toRead], { workerScript: WORKER_SCRIPT, readers: 2 }));
    expect(started.filter((i) => (i as { type: string }).type === 'file-done').map((i) => (i as { file: string }).file)).toEqual(toRead.map((i) => i.path));

    // Fewer files than threads: one file, read on the first thread; the other is ended before the first item.
    const one = startReaderThreads(listed, { workerScript: WORKER_SCRIPT, readers: 2 });
    const sizesAtEachItem: number[] = [];
    const fromOne: unknown[] = [];
    for await (const item of readInputs([listed[0] as InputFile], { started: one })) {
      sizesAtEachItem.push(one?.size ?? -1);
      fromOne.push(item);
    }
    expect(fromOne).toEqual(await readAll([listed[0] as InputFile], { readers: 0 }));
    expect(new Set(sizesAtEachItem)).toEqual(new Set([1]));
    expect(one?.size).toBe(0);

    // Nothing left to read once planned (every file in the database already): the threads are ended, nothing read.
    const none = startReaderThreads(listed, { workerScript: WORKER_SCRIPT, readers: 2 });
    expect(await readAll([], { started: none })).toEqual([]);
    expect(none?.size).toBe(0);
  });

  it('are not started where they would not be used: no reader asked for, no worker script, standard input to read', () => {
    const listed = logFiles(2);
    expect(startReaderThreads(listed, { workerScript: WORKER_SCRIPT, readers: 0 })).toBeUndefined();
    expect(startReaderThreads(listed, { readers: 2 })).toBeUndefined();
    expect(startReaderThreads(listed, { workerScript: new URL('file:///no/such/kdm-reader-worker.js'), readers: 2 })).toBeUndefined();
    expect(startReaderThreads([...listed, { path: '-', bytes: 0 }], { workerScript: WORKER_SCRIPT, readers: 2 })).toBeUndefined();
    expect(startReaderThreads([], { workerScript: WORKER_SCRIPT, readers: 2 })).toBeUndefined();
  });

  it('hold a thread that failed while it started until the read, which throws its error and ends the others', async () => {
    const script = join(mkdtempSync(join(tmpdir(), 'kdm-reader-')), 'failing-reader.mjs');
    writeFileSync(script, "throw new Error('the reader could not start');\n");
    const threads = new ReaderThreads(new URL(`file://${script}`), 2, 6);
    // Time for both to fail before a file is asked for, and nothing is thrown meanwhile (had they not failed yet, the
    // read would meet the failure later, the same way).
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(readAll(logFiles(2), { started: threads })).rejects.toThrow('the reader could not start');
    expect(threads.size).toBe(0);
  });
});

/** The niceness of each thread of this process, from Linux's /proc (the 19th field of a task's stat). */
const threadNiceness = (): number[] =>
  readdirSync('/proc/self/task').flatMap((tid) => {
    const fields = taskStatFields(tid);
    return fields === undefined ? [] : [Number(fields[16])]; // none for a thread that ended since the listing
  });

describe('readInputs on reader threads', () => {
  it.runIf(process.platform === 'linux')('runs its readers below the priority of the thread that reads from them, which keeps its own', async () => {
    const base = getPriority(0);
    const below = Math.min(19, base + READER_NICENESS);
    // Threads at the readers' niceness, counted at each file's end: the second reader's first file ends after the first reader's.
    const lowered: number[] = [];
    for await (const item of readInputs(logFiles(4), { workerScript: WORKER_SCRIPT, readers: 2 })) {
      if (item.type === 'file-done') lowered.push(threadNiceness().filter((n) => n === below).length);
    }
    expect(below).toBeGreaterThan(base);
    expect(lowered).toHaveLength(4);
    expect(lowered.at(-1)).toBe(2);
    expect(getPriority(0)).toBe(base);
  });
});
