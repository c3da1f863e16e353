import { writeFileSync } from 'node:fs';
import { pathState, sameFileAs } from '#adapters/local/file-paths.ts';
import { UsageError } from '#core/errors.ts';

/** An output file that could not be written: the user's to mend (a path, a permission), so no "unexpected error". */
export const cannotWriteOutput = (what: string, path: string, reason: string, cause?: unknown): UsageError =>
  new UsageError(`cannot write ${what} to ${path}: ${reason}`, cause !== undefined ? { cause } : undefined);

/**
 * Fails before any work when an output path plainly cannot be written (its directory is missing, or it is a
 * directory itself) or would overwrite the command's `database`, so a long query does not run only to be thrown
 * away. Other refusals (permissions, a full disk) still surface when writing, through `writeOutputFile`.
 */
export const checkOutputPath = (path: string, what: string, database?: string): void => {
  // Writing over the database the command reads (a slip of tab completion) would destroy the ledger it reports on.
  if (database !== undefined) {
    const isOutput = sameFileAs(path);
    if (isOutput(database)) throw cannotWriteOutput(what, path, `it is the database (--db ${database}); choose another file`);
    if (isOutput(`${database}.wal`)) throw cannotWriteOutput(what, path, `it is the database's log (${database}.wal); choose another file`);
  }
  const state = pathState(path);
  if (state.kind === 'no-directory') throw cannotWriteOutput(what, path, `the directory ${state.directory} does not exist`);
  if (state.kind === 'directory') throw cannotWriteOutput(what, path, 'it is a directory');
};

/** Writes a command's output file, or says which file could not be written and why. */
export const writeOutputFile = (path: string, text: string, what: string): void => {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw cannotWriteOutput(what, path, (error as Error).message, error);
  }
};
