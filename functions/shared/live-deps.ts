import { existsSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createDynamoDbStateStore } from '#adapters/aws/dynamodb-state-store.ts';
import type { KeyFactsSource } from '#adapters/aws/kms-key-facts.ts';
import { contextValueHasher } from '../../src/adapters/context-hash.ts';
import type { SecurityHubFindingSink } from '#adapters/aws/securityhub-finding-sink.ts';
import { DEFAULT_MAX_FILE_BYTES, parseCloudTrailBuffer } from '#adapters/local/cloudtrail-files.ts';
import type { LiveDeps } from '#adapters/lambda/handlers.ts';
import { logIssue } from '#adapters/lambda/handlers.ts';
import { createRecordProcessor } from '#app/process-records.ts';
import { compileConfig } from '#core/config.ts';
import { createEngine } from '#core/engine.ts';
import { DEFAULT_ENGINE_CONFIG } from '#core/engine-config.ts';
import { ConfigError } from '#core/errors.ts';
import { toAsff } from '#core/findings/asff.ts';
import type { FindingRecord } from '#core/findings/finding.ts';
import type { Clock, FindingSink, ObjectSource } from '#core/ports.ts';
import { ALL_RULES, ruleById } from '#core/rules/registry.ts';
import { isSeverity, SEVERITIES } from '#core/rules/define-rule.ts';

/** What tests (and the cost benchmark) replace: the AWS clients and the clock. Everything else comes from env. */
export interface LiveOverrides {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly dynamodb?: DynamoDBClient;
  readonly kmsClientFor?: (region: string, accountId: string) => KMSClient;
  readonly securityHubClientFor?: (accountId: string, region: string) => SecurityHubClient;
  readonly objectSource?: ObjectSource;
  readonly clock?: Clock;
  /** Counts every AWS call made (cost benchmark). */
  readonly onAwsCall?: (service: string, operation: string, items: number) => void;
}

const required = (env: Readonly<Record<string, string | undefined>>, name: string): string => {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`environment variable ${name} is not set (serverless.yml sets it)`);
  return value;
};

/**
 * A whole number from the environment, or `fallback` when unset. A value that is not one (`1y` for a deploy
 * parameter of days) stops the cold start naming the variable, instead of becoming NaN: a NaN expiry would fail
 * every batch's write, one SQS retry after another.
 */
const wholeNumber = (env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, min: number): number => {
  const text = env[name];
  if (text === undefined || text.trim() === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(`environment variable ${name} must be a whole number of at least ${min} (got "${text}")`);
  return value;
};

/** Severities named in KDM_URGENT_SEVERITIES (comma-separated; empty: none is urgent). */
const severities = (env: Readonly<Record<string, string | undefined>>, name: string, fallback: string): ReadonlySet<string> => {
  const names = (env[name] ?? fallback).split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== '');
  const unknown = names.filter((s) => !isSeverity(s));
  if (unknown.length > 0) throw new ConfigError(`environment variable ${name} names no severity ${unknown.map((s) => `"${s}"`).join(', ')} (expected some of ${SEVERITIES.join(', ')}, comma-separated)`);
  return new Set(names);
};

/** Runs `load` once, on first use (the modules it imports stay out of the cold start). */
const onFirstUse = <T>(load: () => Promise<T>): (() => Promise<T>) => {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
};

/**
 * Security Hub's client (and STS, for member-account import roles) load on the first finding: most
 * invocations have none, and a cold start should not pay for them.
 */
const lazySecurityHubSink = (env: Readonly<Record<string, string | undefined>>, override: LiveOverrides['securityHubClientFor'], count: LiveOverrides['onAwsCall']): FindingSink => {
  const render = (f: FindingRecord) => {
    const rule = ruleById(f.ruleId);
    if (rule === undefined) throw new ConfigError(`finding ${f.id} names unknown rule ${f.ruleId}`);
    return toAsff(f, rule, env.AWS_ACCOUNT_ID !== undefined ? { fallbackAccountId: env.AWS_ACCOUNT_ID } : {});
  };
  const sink = onFirstUse(async (): Promise<SecurityHubFindingSink> => {
    const { createSecurityHubFindingSink, createMemberAccountClients } = await import('./lazy-security-hub.ts');
    const clientFor = override ?? createMemberAccountClients(
      env.KDM_IMPORT_ROLE_ARN !== undefined && env.KDM_IMPORT_ROLE_ARN !== '' ? { importRoleArnTemplate: env.KDM_IMPORT_ROLE_ARN } : {},
    );
    return createSecurityHubFindingSink({ render, clientFor });
  });
  return {
    async put(findings) {
      const ready = await sink();
      const before = ready.stats.calls;
      try {
        await ready.put(findings);
      } finally {
        count?.('securityhub', 'BatchImportFindings', ready.stats.calls - before);
      }
    },
  };
};

/** The KMS client and its lookups load with the first batch that names a key. */
const lazyKeyFacts = (override: LiveOverrides['kmsClientFor'], needs: { readonly tags: boolean; readonly aliases: boolean }, count: LiveOverrides['onAwsCall']): KeyFactsSource => {
  const source = onFirstUse(async (): Promise<KeyFactsSource> => {
    const { KMSClient, createKmsKeyFactsSource } = await import('./lazy-kms.ts');
    const clients = new Map<string, KMSClient>();
    const clientFor =
      override ??
      ((region: string) => {
        let client = clients.get(region);
        if (client === undefined) clients.set(region, (client = new KMSClient({ region })));
        return client;
      });
    return createKmsKeyFactsSource({ clientFor, needs, ...(count !== undefined ? { onCall: (operation: string) => count('kms', operation, 1) } : {}) });
  });
  return { lookup: async (keyArns) => (keyArns.length === 0 ? new Map() : (await source()).lookup(keyArns)) };
};

/** The S3 client loads with the first log file to read. */
const lazyS3Source = (): ObjectSource => {
  const source = onFirstUse(async (): Promise<ObjectSource> => {
    const { S3Client, createS3ObjectSource } = await import('./lazy-s3.ts');
    return createS3ObjectSource(new S3Client({}));
  });
  return { read: async (bucket, key, maxBytes) => (await source()).read(bucket, key, maxBytes) };
};

/**
 * Composition root of the Lambda functions: everything is built once per cold start. State lives in the
 * DynamoDB table named by STATE_TABLE; the configuration is kdm.config.yaml packaged beside the handler.
 */
export const createLiveDeps = async (overrides: LiveOverrides = {}): Promise<LiveDeps & { readonly source: ObjectSource; readonly parse: typeof parseForIngest; readonly maxBytes: number }> => {
  const env = overrides.env ?? process.env;
  const logger = new Logger({ serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'kms-decrypt-monitor', logLevel: (env.POWERTOOLS_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO' });
  const metrics = new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'KmsDecryptMonitor', serviceName: env.POWERTOOLS_SERVICE_NAME ?? 'kms-decrypt-monitor' });
  const clock = overrides.clock ?? { nowMs: Date.now };
  const count = overrides.onAwsCall;

  const configPath = env.KDM_CONFIG_FILE ?? (env.LAMBDA_TASK_ROOT !== undefined ? `${env.LAMBDA_TASK_ROOT}/kdm.config.yaml` : undefined);
  // The YAML parser loads only when there is a configuration to read.
  const loaded = configPath !== undefined && existsSync(configPath) ? (await import('../../src/config/load-config.ts')).loadConfigFile(configPath, ALL_RULES.map((r) => r.id)) : undefined;
  const configured = loaded !== undefined ? compileConfig(loaded.config) : DEFAULT_ENGINE_CONFIG;
  // Findings about a principal as a whole are kept in the monitor's own Region unless the configuration names one:
  // one place, however late the findings of other Regions come.
  const config = { ...configured, homeRegion: configured.homeRegion ?? env.AWS_REGION };

  const dynamodb = overrides.dynamodb ?? new DynamoDBClient({});
  const store = createDynamoDbStateStore({
    client: dynamodb,
    tableName: required(env, 'STATE_TABLE'),
    journalTakeoverMs: wholeNumber(env, 'KDM_JOURNAL_TAKEOVER_MS', 15 * 60_000, 1),
    busyWaitMs: wholeNumber(env, 'KDM_BUSY_WAIT_MS', 20_000, 0),
    ledgerRetentionMs: wholeNumber(env, 'KDM_LEDGER_RETENTION_DAYS', 400, 1) * 86_400_000,
    ...(count !== undefined ? { onCall: (operation: string, items: number) => count('dynamodb', operation, items) } : {}),
  });
  const keyFacts = env.KDM_KEY_FACTS === 'off' ? undefined : lazyKeyFacts(overrides.kmsClientFor, config.keyPolicy.needs, count);
  const processor = createRecordProcessor({
    engine: createEngine({ rules: ALL_RULES, config }),
    store,
    clock,
    onIssue: logIssue(logger),
    // The decrypt ledger merges into the state table with each batch (same atomic commit).
    ledger: 'state',
    ...(loaded?.config.privacy?.hashEncryptionContext === true ? { redactContextValue: contextValueHasher(env.KDM_CONTEXT_HASH_KEY) } : {}),
    ...(keyFacts !== undefined ? { keyFacts } : {}),
  });
  const sink = lazySecurityHubSink(env, overrides.securityHubClientFor, count);
  return {
    processor,
    store,
    sink,
    logger,
    metrics,
    clock,
    latenessMs: config.correlation.latenessMs,
    // KDM_URGENT_SEVERITIES="" batches every finding too (fewest Security Hub calls; up to the hold and a flush period later).
    urgentSeverities: severities(env, 'KDM_URGENT_SEVERITIES', 'HIGH,CRITICAL'),
    // KDM_FINDING_HOLD_MS=0: the flush sends every waiting finding (more, emptier Security Hub calls).
    findingHoldMs: wholeNumber(env, 'KDM_FINDING_HOLD_MS', 5 * 60_000, 0),
    source: overrides.objectSource ?? lazyS3Source(),
    parse: parseForIngest,
    maxBytes: DEFAULT_MAX_FILE_BYTES,
  };
};

const parseForIngest = (file: string, bytes: Uint8Array, maxBytes: number) => parseCloudTrailBuffer(file, Buffer.from(bytes), { maxFileBytes: maxBytes });
