import { getPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { lowerThisThreadsPriority } from '#adapters/local/thread-priority.ts';

/** A thread that answers each message with its own niceness, as Linux reports it to the thread itself. */
const nicenessReporter = (): { readonly ask: () => Promise<number>; readonly stop: () => Promise<number> } => {
  const worker = new Worker(`const { parentPort } = require('node:worker_threads'); const { getPriority } = require('node:os'); parentPort.on('message', () => parentPort.postMessage(getPriority(0)));`, { eval: true });
  return {
    ask: () =>
      new Promise<number>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.postMessage('niceness?');
      }),
    stop: () => worker.terminate(),
  };
};

describe('lowerThisThreadsPriority', () => {
  it('leaves the priority alone where it would set the whole process\'s', () => {
    const before = getPriority(0);
    expect(lowerThisThreadsPriority(10, 'darwin')).toEqual({ state: 'kept', reason: 'darwin sets the priority of a process, not of one thread' });
    expect(lowerThisThreadsPriority(10, 'win32').state).toBe('kept');
    expect(getPriority(0)).toBe(before);
  });

  // This file's tests run in a process of their own (vitest's forks), so lowering this thread slows only them.
  it.runIf(process.platform === 'linux')('on Linux, lowers the calling thread only: a thread started before keeps its niceness', async () => {
    const other = nicenessReporter();
    const before = getPriority(0);
    expect(await other.ask()).toBe(before);

    const outcome = lowerThisThreadsPriority(3);

    const expected = Math.min(19, before + 3);
    expect(outcome).toEqual({ state: 'lowered', niceness: expected });
    expect(getPriority(0)).toBe(expected);
    expect(await other.ask()).toBe(before);
    await other.stop();
  });

  it.runIf(process.platform === 'linux')('stops at 19, the lowest priority there is', () => {
    expect(lowerThisThreadsPriority(40)).toEqual({ state: 'lowered', niceness: 19 });
    expect(getPriority(0)).toBe(19);
  });
});
