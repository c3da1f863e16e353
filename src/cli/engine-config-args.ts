import { compileConfig, type ConfigFile } from '#core/config.ts';
import { DEFAULT_ENGINE_CONFIG, parseDurationMs, type EngineConfig } from '#core/engine-config.ts';
import { UsageError } from '#core/errors.ts';
import { ALL_RULES } from '#core/rules/registry.ts';
import { configFileToRead } from '../config/config-file.ts';

/** The engine's configuration for a command that runs it (replay, backtest): the file it reads, and --learning-period. */
export interface EngineConfigArgs {
  readonly config: EngineConfig;
  /** The configuration file as read, when there was one. */
  readonly file?: ConfigFile;
}

/**
 * `--config <file>` (or kdm.config.yaml where present) compiled, with `--learning-period` over it. The YAML parser
 * loads only when there is a file to read.
 */
export const engineConfigFromArgs = async (configPath: string | undefined, learningPeriod: string | undefined): Promise<EngineConfigArgs> => {
  const configFile = configFileToRead(configPath);
  const loaded = configFile === undefined ? undefined : (await import('../config/load-config.ts')).loadConfigFile(configFile, ALL_RULES.map((r) => r.id));
  let config = loaded === undefined ? DEFAULT_ENGINE_CONFIG : compileConfig(loaded.config);
  if (learningPeriod !== undefined) {
    const ms = parseDurationMs(learningPeriod);
    if (ms === undefined) throw new UsageError(`--learning-period must be a duration such as 6h or 7d (got "${learningPeriod}")`);
    config = { ...config, learningPeriodMs: ms };
  }
  return { config, ...(loaded !== undefined ? { file: loaded.config } : {}) };
};
