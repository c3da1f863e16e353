import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** The shared public CloudTrail datasets (records nobody here wrote), beside the repository. */
export const DATASETS_DIR = join(import.meta.dirname, '..', '..', '..', 'shared', 'datasets');
export const hasDatasets = existsSync(DATASETS_DIR);

export const datasetFiles = (): string[] => {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.name.endsWith('.json.gz')) out.push(full);
    }
  };
  walk(DATASETS_DIR);
  return out.sort();
};

export const datasetRecords = (file: string): unknown[] =>
  (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records: unknown[] }).Records;

export const allDatasetRecords = (): unknown[] => datasetFiles().flatMap(datasetRecords);
