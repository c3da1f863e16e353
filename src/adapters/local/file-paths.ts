import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * What a path is, looked at before a command opens or writes it, so that a missing directory or a directory
 * where a file belongs is told plainly rather than in a library's words. `unknown` when looking was refused (a
 * file where a directory should be, a directory without permission): opening it then says why.
 */
export type PathState =
  | { readonly kind: 'file' | 'directory' | 'unknown' }
  /** Nothing there, in a directory that exists. */
  | { readonly kind: 'absent' }
  /** Nothing there, and not its directory either. */
  | { readonly kind: 'no-directory'; readonly directory: string };

export const pathState = (path: string): PathState => {
  try {
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats !== undefined) return { kind: stats.isDirectory() ? 'directory' : 'file' };
    const directory = dirname(resolve(path));
    return statSync(directory, { throwIfNoEntry: false }) === undefined ? { kind: 'no-directory', directory } : { kind: 'absent' };
  } catch {
    return { kind: 'unknown' };
  }
};

/**
 * Whether a path names the same file as `target`: the same path once resolved, or one existing file (through
 * links) by device and inode. `target` is looked at once, however many paths are asked about.
 */
export const sameFileAs = (target: string): ((path: string) => boolean) => {
  const resolved = resolve(target);
  const identity = (path: string) => {
    try {
      return statSync(path, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  };
  const stats = identity(target);
  return (path) => {
    if (resolve(path) === resolved) return true;
    const other = stats === undefined ? undefined : identity(path);
    return other !== undefined && stats !== undefined && other.dev === stats.dev && other.ino === stats.ino;
  };
};
