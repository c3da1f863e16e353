import { statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '#core/errors.ts';

const cannotWrite = (what: string, path: string, reason: string, cause?: unknown): UsageError =>
  new UsageError(`cannot write ${what} to ${path}: ${reason}`, cause !== undefined ? { cause } : undefined);

/**
 * Fails before any work when an output path plainly cannot be written (its directory is missing, or it is a
 * directory itself), so a long query does not run only to be thrown away. Other refusals (permissions, a full
 * disk) still surface when writing, through `writeOutputFile`.
 */
export const checkOutputPath = (path: string, what: string): void => {
  const directory = dirname(resolve(path));
  let target: ReturnType<typeof statSync>;
  try {
    if (statSync(directory, { throwIfNoEntry: false }) === undefined) throw cannotWrite(what, path, `the directory ${directory} does not exist`);
    target = statSync(path, { throwIfNoEntry: false });
  } catch (error) {
    if (error instanceof UsageError) throw error;
    return;
  }
  if (target?.isDirectory() === true) throw cannotWrite(what, path, 'it is a directory');
};

/** Writes a command's output file, or says which file could not be written and why: a user's error, not ours. */
export const writeOutputFile = (path: string, text: string, what: string): void => {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw cannotWrite(what, path, (error as Error).message, error);
  }
};
