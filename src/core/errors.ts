import { counted } from './counted.ts';

/** Typed errors: a literal code, whether a retry can help, and the cause kept. */
export type MonitorErrorCode =
  | 'INPUT_UNREADABLE'
  | 'RECORD_INVALID'
  | 'CONFIG_INVALID'
  | 'RULE_INVALID'
  | 'STATE_CONFLICT'
  | 'FINDING_IMPORT_FAILED'
  | 'DATABASE_MEMORY'
  | 'USAGE';

/**
 * Minified bundles (the Lambda functions) rename classes: a logged error was once named `gc` there, and Node printed
 * a crash as `Ge [ConfigError]: …`. So each error class is listed once by its source name in `keepClassNames`,
 * which gives the class that name, and an error's `name` is its class's.
 */
export const keepClassNames = (classes: Readonly<Record<string, abstract new (...args: never[]) => Error>>): void => {
  for (const [name, errorClass] of Object.entries(classes)) Object.defineProperty(errorClass, 'name', { value: name });
};

export class MonitorError extends Error {
  override readonly name: string = this.constructor.name;
  readonly code: MonitorErrorCode;
  readonly retryable: boolean;
  constructor(code: MonitorErrorCode, message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.code = code;
    this.retryable = options?.retryable ?? false;
  }
}

/** A file, or a record in it, could not be read. `file` and `index` say where. */
export class InputError extends MonitorError {
  readonly file: string;
  readonly index: number | undefined;
  constructor(file: string, index: number | undefined, message: string, options?: ErrorOptions) {
    super('INPUT_UNREADABLE', `${file}${index === undefined ? '' : ` record ${index}`}: ${message}`, options);
    this.file = file;
    this.index = index;
  }
}

export class ConfigError extends MonitorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG_INVALID', message, options);
  }
}

export class RuleDefinitionError extends MonitorError {
  constructor(message: string, options?: ErrorOptions) {
    super('RULE_INVALID', message, options);
  }
}

export class UsageError extends MonitorError {
  constructor(message: string, options?: ErrorOptions) {
    super('USAGE', message, options);
  }
}

/**
 * The local database needed more memory than its budget for one step (a write, a checkpoint): the run stops
 * there. `limitMb` is the budget it had (MiB); `advice` says how to give it more (the caller knows its options).
 */
export class DatabaseMemoryError extends MonitorError {
  readonly file: string;
  readonly limitMb: number;
  constructor(file: string, limitMb: number, doing: string, options?: ErrorOptions & { readonly advice?: string }) {
    super('DATABASE_MEMORY', `${file}: the database needed more than its ${limitMb} MiB memory budget while ${doing}; ${options?.advice ?? 'give it a larger budget'}`, options);
    this.file = file;
    this.limitMb = limitMb;
  }
}

export const isMonitorError = (e: unknown): e is MonitorError =>
  e instanceof MonitorError || (e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && e.name.endsWith('Error') && 'retryable' in e);

/** One finding a destination did not take, with its error. */
export interface FindingFailure {
  readonly id: string;
  readonly code: string;
  readonly message?: string;
  /**
   * The destination refused the finding itself (InvalidInput, too large): sent again unchanged, it will be refused
   * again. Absent when the call failed as a whole (access denied, an outage) or kept being throttled.
   */
  readonly refused?: true;
}

/**
 * What became of findings a destination did not take: those it refused for themselves, and those whose calls failed
 * (access denied, an outage, throttled past every retry), which it never judged.
 */
const publishFailureSummary = (destination: string, failures: readonly FindingFailure[]): string => {
  const refused = failures.filter((f) => f.refused === true).length;
  const undelivered = failures.length - refused;
  if (undelivered === 0) return `${destination} rejected ${counted(refused, 'finding')}`;
  if (refused === 0) return `${counted(undelivered, 'finding')} could not be sent to ${destination}`;
  return `${destination} rejected ${counted(refused, 'finding')}, and ${undelivered} more could not be sent to it`;
};

/** Findings a destination did not take after every retry: named, never dropped silently. */
export class FindingPublishError extends MonitorError {
  readonly failures: readonly FindingFailure[];
  constructor(destination: string, failures: readonly FindingFailure[], options?: ErrorOptions) {
    const shown = failures.slice(0, 5).map((f) => `${f.id} (${f.code}${f.message !== undefined ? `: ${f.message}` : ''})`).join('; ');
    super('FINDING_IMPORT_FAILED', `${publishFailureSummary(destination, failures)}: ${shown}${failures.length > 5 ? `; and ${failures.length - 5} more` : ''}`, { ...options, retryable: true });
    this.failures = failures;
  }
}

keepClassNames({ MonitorError, InputError, ConfigError, RuleDefinitionError, UsageError, DatabaseMemoryError, FindingPublishError });
