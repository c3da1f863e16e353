import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import type { ConfigFile } from '#core/config.ts';
import { parseExpiryMs } from '#core/config.ts';
import { parseDurationMs } from '#core/engine-config.ts';
import { ConfigError } from '#core/errors.ts';
import { isNetworkEntry } from '#core/network.ts';
import { SEVERITIES } from '#core/rules/define-rule.ts';
import { systemErrorText } from '#adapters/system-error.ts';
import { configFileToRead } from './config-file.ts';

/** A tiny schema over the YAML syntax tree, so every message can name the file, line and field. */
type Spec =
  /** `valid`: a check beyond the pattern, for text a regular expression cannot judge well (an address range). */
  | { readonly t: 'string'; readonly pattern?: RegExp; readonly valid?: (text: string) => boolean; readonly hint?: string; readonly oneOf?: readonly string[] }
  | { readonly t: 'boolean' }
  | { readonly t: 'number'; readonly min?: number; readonly integer?: boolean }
  | { readonly t: 'duration' }
  | { readonly t: 'expiry' }
  /**
   * `uniqueBy`: a field of the list's mappings whose values must differ (an id that names the item elsewhere).
   * `whenEmpty`: the list must hold an item, and this says why (what an empty one would do, and what to write instead).
   */
  | { readonly t: 'list'; readonly of: Spec; readonly uniqueBy?: string; readonly whenEmpty?: string }
  | { readonly t: 'object'; readonly fields: Readonly<Record<string, Spec>>; readonly required?: readonly string[]; readonly oneOfRequired?: readonly string[] }
  | { readonly t: 'record'; readonly keys?: readonly string[]; readonly keyHint?: string; readonly values: Spec };

const ACCOUNT = { t: 'string', pattern: /^\d{12}$/, hint: 'a 12-digit account id' } as const;
const REGION = { t: 'string', pattern: /^[a-z]{2}(?:-[a-z]+)+-\d+$/, hint: 'an AWS region such as us-east-1' } as const;
const PATTERN = { t: 'string' } as const;
/**
 * An allow-list, empty or not, replaces "anything goes" with "only these": an empty one (a template's `[]`, a list
 * whose entries were all commented out) would make every call unusual, so it is refused rather than obeyed.
 */
const ALLOWED_REGIONS = { t: 'list', of: REGION, whenEmpty: 'an empty list would make every region unusual: list the regions calls may come from, or leave the field out to allow any' } as const;
const ALLOWED_PRINCIPALS = { t: 'list', of: PATTERN, whenEmpty: 'an empty list would make every principal unusual: list the principals (patterns) that may use the key, or leave the field out to allow any' } as const;

const NETWORK = { t: 'string', valid: isNetworkEntry, hint: 'a VPC endpoint id (vpce-0a1b2c3d4e5f60718), an IP address, or an address range such as 10.0.0.0/8 or 2001:db8::/32' } as const;
const ALLOWED_NETWORKS = { t: 'list', of: NETWORK, whenEmpty: 'an empty list would make every network unusual: list the VPC endpoints and address ranges calls may come through or from, or leave the field out to allow any' } as const;

const configSpec = (ruleIds: readonly string[]): Spec => ({
  t: 'object',
  fields: {
    learningPeriod: { t: 'duration' },
    dedupeRetention: { t: 'duration' },
    trustedAccounts: { t: 'list', of: ACCOUNT },
    allowedRegions: ALLOWED_REGIONS,
    allowedNetworks: ALLOWED_NETWORKS,
    homeRegion: REGION,
    keys: {
      t: 'list',
      of: {
        t: 'object',
        oneOfRequired: ['arn', 'alias', 'tag'],
        fields: {
          // A key id is lowercase hex as KMS writes it (`mrk-` for a multi-Region key); matching is exact, so "nope" or
          // an id in capitals would match no key without a word.
          arn: { t: 'string', pattern: /^(?:arn:[^:]+:kms:[^:]*:[^:]*:key\/.+|(?:mrk-)?[0-9a-f*-]+)$/, hint: 'a key ARN or key id in lowercase hex (wildcards * allowed)' },
          alias: { t: 'string', pattern: /^(?:alias\/)?[\w/*:-]+$/, hint: 'an alias such as alias/app-data' },
          tag: { t: 'record', values: { t: 'string' } },
          sensitive: { t: 'boolean' },
          allowedPrincipals: ALLOWED_PRINCIPALS,
          allowedRegions: ALLOWED_REGIONS,
          allowedNetworks: ALLOWED_NETWORKS,
          requiredContext: { t: 'record', values: { t: 'string' } },
        },
      },
    },
    correlation: { t: 'object', fields: { window: { t: 'duration' }, lateness: { t: 'duration' }, bucketKeyReuse: { t: 'duration' } } },
    privacy: { t: 'object', fields: { hashEncryptionContext: { t: 'boolean' } } },
    buckets: {
      t: 'list',
      of: { t: 'object', required: ['name'], fields: { name: { t: 'string', pattern: /^[a-z0-9.*-]{1,63}$/, hint: 'a bucket name, or a pattern of names with * wildcards' }, requiredKmsKey: { t: 'string' }, allowedNetworks: ALLOWED_NETWORKS } },
    },
    rules: {
      t: 'record',
      keys: ruleIds,
      keyHint: 'a rule id (kdm rules list)',
      values: {
        t: 'object',
        fields: {
          enabled: { t: 'boolean' },
          severity: { t: 'string', oneOf: SEVERITIES },
          threshold: { t: 'number', min: 1, integer: true },
          window: { t: 'duration' },
        },
      },
    },
    suppressions: {
      t: 'list',
      // A finding names the suppression that matched it, and expiry warnings name theirs: two with one id are one name for two things.
      uniqueBy: 'id',
      of: {
        t: 'object',
        required: ['id', 'rule', 'reason', 'expires'],
        fields: {
          id: { t: 'string', pattern: /^[\w.-]{1,64}$/, hint: 'a short identifier' },
          rule: { t: 'string', oneOf: ruleIds },
          reason: { t: 'string', pattern: /\S.{3,}/, hint: 'a reason of a few words' },
          expires: { t: 'expiry' },
          principal: PATTERN,
          key: PATTERN,
          bucket: PATTERN,
          account: PATTERN,
          networks: { t: 'list', of: NETWORK, whenEmpty: 'an empty list would match no finding: list the VPC endpoints and address ranges whose findings to suppress, or leave the field out to match any' },
        },
      },
    },
  },
});

interface Problem {
  readonly line: number;
  readonly col: number;
  readonly path: string;
  readonly message: string;
}

/** A scalar's value as a message shows it: `Infinity` for YAML's `.inf` or `1e309`, which JSON would show as null. */
const shownValue = (v: unknown): string => (typeof v === 'number' ? String(v) : v instanceof Uint8Array ? 'binary data (!!binary)' : (JSON.stringify(v) ?? String(v)));

const describe = (n: Node | null | undefined): string =>
  n === null || n === undefined ? 'nothing' : isMap(n) ? 'a mapping' : isSeq(n) ? 'a list' : isScalar(n) ? shownValue(n.value) : 'an unsupported value';

const validate = (node: Node | null | undefined, spec: Spec, path: string, problem: (n: Node | null | undefined, path: string, message: string) => void): void => {
  const scalar = isScalar(node) ? node.value : undefined;
  switch (spec.t) {
    case 'string':
      if (typeof scalar !== 'string' && typeof scalar !== 'number') return problem(node, path, `expected a string, got ${describe(node)}`);
      if (spec.oneOf !== undefined && !spec.oneOf.includes(String(scalar))) return problem(node, path, `must be one of ${spec.oneOf.join(', ')} (got ${JSON.stringify(scalar)})`);
      if ((spec.pattern !== undefined && !spec.pattern.test(String(scalar))) || (spec.valid !== undefined && !spec.valid(String(scalar)))) {
        return problem(node, path, `expected ${spec.hint ?? `text matching ${String(spec.pattern)}`} (got ${JSON.stringify(scalar)})`);
      }
      return;
    case 'boolean':
      if (typeof scalar !== 'boolean') problem(node, path, `expected true or false, got ${describe(node)}`);
      return;
    case 'number':
      if (typeof scalar !== 'number' || !Number.isFinite(scalar)) return problem(node, path, `expected a number, got ${describe(node)}`);
      if (spec.integer === true && !Number.isInteger(scalar)) return problem(node, path, `expected a whole number, got ${scalar}`);
      if (spec.min !== undefined && scalar < spec.min) problem(node, path, `must be at least ${spec.min}, got ${scalar}`);
      return;
    case 'duration':
      if (typeof scalar !== 'string' || parseDurationMs(scalar) === undefined) problem(node, path, `expected a duration such as 15m, 6h or 7d, got ${describe(node)}`);
      return;
    case 'expiry': {
      const text = scalar instanceof Date ? scalar.toISOString() : String(scalar ?? '');
      if (parseExpiryMs(text) === undefined) problem(node, path, `expected a date such as 2027-01-31, got ${describe(node)}`);
      return;
    }
    case 'list':
      if (!isSeq(node)) return problem(node, path, `expected a list, got ${describe(node)}`);
      if (spec.whenEmpty !== undefined && node.items.length === 0) return problem(node, path, spec.whenEmpty);
      node.items.forEach((item, i) => validate(item as Node, spec.of, `${path}[${i}]`, problem));
      if (spec.uniqueBy !== undefined) {
        const firstAt = new Map<string, number>();
        node.items.forEach((item, i) => {
          const value = isMap(item) ? item.get(spec.uniqueBy as string, true) : undefined;
          if (!isScalar(value)) return;
          const text = String(value.value);
          const first = firstAt.get(text);
          if (first === undefined) firstAt.set(text, i);
          else problem(value, `${path}[${i}].${spec.uniqueBy}`, `${JSON.stringify(text)} is already the ${spec.uniqueBy} of ${path}[${first}]; each must be unique`);
        });
      }
      return;
    case 'object': {
      if (!isMap(node)) return problem(node, path, `expected a mapping, got ${describe(node)}`);
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        seen.add(key);
        const fieldSpec = Object.prototype.hasOwnProperty.call(spec.fields, key) ? spec.fields[key] : undefined;
        const fieldPath = path === '' ? key : `${path}.${key}`;
        if (fieldSpec === undefined) {
          problem(pair.key as Node, fieldPath, `unknown field (expected one of ${Object.keys(spec.fields).join(', ')})`);
          continue;
        }
        validate(pair.value as Node, fieldSpec, fieldPath, problem);
      }
      for (const r of spec.required ?? []) if (!seen.has(r)) problem(node, path === '' ? r : `${path}.${r}`, 'is required');
      if (spec.oneOfRequired !== undefined && !spec.oneOfRequired.some((r) => seen.has(r))) problem(node, path, `needs one of ${spec.oneOfRequired.join(', ')}`);
      return;
    }
    case 'record':
      if (!isMap(node)) return problem(node, path, `expected a mapping, got ${describe(node)}`);
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        const fieldPath = path === '' ? key : `${path}.${key}`;
        if (spec.keys !== undefined && !spec.keys.includes(key)) problem(pair.key as Node, fieldPath, `unknown key: expected ${spec.keyHint ?? spec.keys.join(', ')}`);
        else validate(pair.value as Node, spec.values, fieldPath, problem);
      }
      return;
  }
};

/**
 * Parses and validates configuration text. Throws a ConfigError listing every problem as
 * `file:line:col: field: message`, one per line.
 */
export const parseConfig = (text: string, file: string, ruleIds: readonly string[]): ConfigFile => {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  const at = (offset: number | undefined) => (offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset));
  for (const e of doc.errors) {
    const pos = at(e.pos[0]);
    problems.push({ ...pos, path: '', message: e.message.split('\n')[0] ?? e.message });
  }
  if (problems.length === 0 && doc.contents !== null) {
    validate(doc.contents as Node, configSpec(ruleIds), '', (n, path, message) => {
      problems.push({ ...at(n?.range?.[0]), path, message });
    });
  }
  if (problems.length > 0) {
    const lines = problems.map((p) => `${file}:${p.line}:${p.col}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`);
    throw new ConfigError(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`);
  }
  const value = (doc.toJS() ?? {}) as Record<string, unknown>;
  // YAML turns 2027-01-31 into a Date with the core schema's timestamp tag off by default; keep strings either way.
  for (const s of (value['suppressions'] as Record<string, unknown>[] | undefined) ?? []) {
    if (s['expires'] instanceof Date) s['expires'] = (s['expires'] as Date).toISOString();
  }
  return value as ConfigFile;
};

/** Loads `--config <file>`, or `kdm.config.yaml` when present; undefined when neither exists. */
export const loadConfigFile = (path: string | undefined, ruleIds: readonly string[]): { file: string; config: ConfigFile } | undefined => {
  const file = configFileToRead(path);
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read configuration ${file}: ${systemErrorText(cause)}`, { cause });
  }
  return { file, config: parseConfig(text, file, ruleIds) };
};
