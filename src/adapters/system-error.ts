/**
 * What the operating system answered, in words with its code (`no such file or directory (ENOENT)`), for messages
 * that name a file a user gave: the bare code alone reads as jargon. Codes without words here are told as they are.
 */
const SYSTEM_ERROR_WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EIO: 'input/output error',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EBUSY: 'resource busy',
};

export const systemErrorText = (cause: unknown): string => {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return cause instanceof Error ? cause.message : String(cause);
  const words = SYSTEM_ERROR_WORDS[code];
  return words === undefined ? code : `${words} (${code})`;
};
