import { existsSync } from 'node:fs';

// Which configuration file a command reads, decided without the YAML parser (load-config.ts), which takes
// about 40 ms and 9 MB to load and is needed only when there is a file to read.

export const DEFAULT_CONFIG_FILE = 'kdm.config.yaml';

/** `--config <file>`, or `kdm.config.yaml` when present; undefined when neither is given or present. */
export const configFileToRead = (path: string | undefined): string | undefined => path ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
