// A thread of this process as Linux's /proc tells it, for the bench's measured processes and the tests.
import { readFileSync } from 'node:fs';

/**
 * The fields of a thread's `/proc/self/task/<tid>/stat` line after its command name, from the state on (the line's
 * third field is [0], utime its 14th is [11], niceness its 19th is [16]): the name, in parentheses, may hold
 * spaces, so the fields are counted after its closing one. Undefined once the thread has ended, or without /proc.
 */
export const taskStatFields = (tid) => {
  let stat;
  try {
    stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};
