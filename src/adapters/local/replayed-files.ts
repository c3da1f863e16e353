import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * A log file's name as CloudTrail delivers it: account, Region, time and a random part, unique among every file a
 * trail writes (`111122223333_CloudTrail_us-east-1_20261001T0925Z_a1b2c3d4e5f6a7b8.json.gz`).
 */
const CLOUDTRAIL_LOG_NAME = /^\d{12}_CloudTrail_[a-z0-9-]+_\d{8}T\d{4}Z_[A-Za-z0-9]+\.json(?:\.gz)?$/;

/** How a database knows a file it has replayed: what it is called there, and what that name rests on. */
export interface ReplayedFileName {
  readonly name: string;
  readonly by: 'name and size' | 'contents';
}

/**
 * The name under which a replayed file is kept in the database (with its size). A CloudTrail log file is known by
 * its own name, wherever it was copied to; any other file (an export, `events.json`) by its name and a hash of its
 * bytes, since two such files in different folders may share a name and even a size. Undefined for what is not a
 * regular file (a pipe such as `<(zcat …)`): reading it to hash it would leave nothing for the replay, so, like
 * standard input, it is replayed without being recorded. `onHashed` hears of each piece of a file being hashed
 * (a large export takes a while).
 */
export const replayedFileName = async (path: string, onHashed?: (bytes: number) => void): Promise<ReplayedFileName | undefined> => {
  const name = basename(path);
  if (CLOUDTRAIL_LOG_NAME.test(name)) return { name, by: 'name and size' };
  if (!statSync(path).isFile()) return undefined;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    onHashed?.((chunk as Buffer).length);
  }
  return { name: `${name} sha256:${hash.digest('hex')}`, by: 'contents' };
};
