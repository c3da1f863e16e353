/**
 * Validates findings against AWS's own Security Hub model, as shipped in @aws-sdk/client-securityhub: the
 * BatchImportFindings request schema (structure, member names and types, required members), the enums the
 * client exports (mapped to members through the client's own type declarations), and the limits Security Hub
 * documents but the schema does not carry (lengths, counts, timestamp format, size).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as securityHub from '@aws-sdk/client-securityhub';

export interface AsffProblem {
  readonly findingId: string;
  readonly path: string;
  readonly message: string;
}

/** Documented limits (Security Hub user guide, "Required attributes" and BatchImportFindings guidelines). */
const LIMITS: Readonly<Record<string, { min?: number; max?: number }>> = {
  'AwsSecurityFinding.Id': { min: 1, max: 512 },
  'AwsSecurityFinding.GeneratorId': { min: 1, max: 512 },
  'AwsSecurityFinding.ProductArn': { min: 12, max: 2048 },
  'AwsSecurityFinding.AwsAccountId': { min: 12, max: 12 },
  'AwsSecurityFinding.Title': { min: 1, max: 256 },
  'AwsSecurityFinding.Description': { min: 1, max: 1024 },
  'AwsSecurityFinding.Resources': { min: 1, max: 32 },
  'AwsSecurityFinding.Types': { max: 50 },
  'AwsSecurityFinding.ProductFields': { max: 50 },
  'AwsSecurityFinding.UserDefinedFields': { max: 50 },
  'AwsSecurityFinding.RelatedFindings': { max: 10 },
  'FindingProviderFields.Types': { max: 50 },
  'FindingProviderFields.RelatedFindings': { max: 10 },
  'Remediation.Recommendation.Text': { max: 512 },
};
/** Values the ASFF documentation lists where the model types the member as a plain string. */
const DOCUMENTED_ENUMS: Readonly<Record<string, readonly string[]>> = {
  'Action.ActionType': ['NETWORK_CONNECTION', 'AWS_API_CALL', 'DNS_REQUEST', 'PORT_PROBE'],
  'AwsApiCallAction.CallerType': ['remoteIp', 'domain'],
};
const PRODUCT_FIELD_KEY_MAX = 128;
const PRODUCT_FIELD_VALUE_MAX = 2048;
export const MAX_FINDING_BYTES = 240 * 1024;
const TIMESTAMP_MEMBERS: ReadonlySet<string> = new Set(['CreatedAt', 'UpdatedAt', 'FirstObservedAt', 'LastObservedAt', 'ProcessedAt', 'FirstSeen', 'LastSeen']);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const TYPE_NAMESPACES = ['Software and Configuration Checks', 'TTPs', 'Effects', 'Unusual Behaviors', 'Sensitive Data Identifications'];
const CONFIDENCE_RANGE = { min: 0, max: 100 };

type Schema = number | readonly unknown[] | (() => Schema);

const resolve = (s: unknown): Schema => (typeof s === 'function' ? resolve((s as () => Schema)()) : (s as Schema));

/** member → enum values, per structure name, read from the client's type declarations and enum exports. */
const loadEnumIndex = (): Map<string, Map<string, readonly string[]>> => {
  const require = createRequire(import.meta.url);
  const typesDir = join(dirname(require.resolve('@aws-sdk/client-securityhub')), '..', 'dist-types', 'models');
  const enums = new Map<string, readonly string[]>();
  for (const [name, value] of Object.entries(securityHub)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const values = Object.values(value as Record<string, unknown>);
      if (values.length > 0 && values.every((v) => typeof v === 'string')) enums.set(name, values as string[]);
    }
  }
  const index = new Map<string, Map<string, readonly string[]>>();
  for (const file of readdirSync(typesDir).filter((f) => /^models_\d+\.d\.ts$/.test(f))) {
    const text = readFileSync(join(typesDir, file), 'utf8');
    for (const m of text.matchAll(/export interface (\w+) \{([\s\S]*?)\n\}/g)) {
      const members = new Map<string, readonly string[]>();
      for (const mm of (m[2] ?? '').matchAll(/^\s+(\w+)\??: (\w+)(?:\[\])? \| undefined;/gm)) {
        const values = enums.get(mm[2] as string);
        if (values !== undefined) members.set(mm[1] as string, values);
      }
      if (members.size > 0) index.set(m[1] as string, members);
    }
  }
  return index;
};

let enumIndex: Map<string, Map<string, readonly string[]>> | undefined;

/** Validates a BatchImportFindings request body's findings; returns every problem (empty when valid). */
export const validateFindings = (findings: readonly unknown[]): AsffProblem[] => {
  enumIndex ??= loadEnumIndex();
  const problems: AsffProblem[] = [];
  const request = resolve(securityHub.BatchImportFindingsRequest$) as readonly unknown[];
  const findingSchema = resolve((resolve((request[5] as readonly unknown[])[0]) as readonly unknown[])[4]);
  findings.forEach((f, i) => {
    const id = typeof (f as { Id?: unknown })?.Id === 'string' ? (f as { Id: string }).Id : `#${i}`;
    const report = (path: string, message: string) => problems.push({ findingId: id, path, message });
    walk(f, findingSchema, 'AwsSecurityFinding', '', report);
    const bytes = Buffer.byteLength(JSON.stringify(f));
    if (bytes > MAX_FINDING_BYTES) report('', `finding is ${bytes} bytes; Security Hub rejects findings over ${MAX_FINDING_BYTES}`);
    const types = (f as { Types?: unknown }).Types;
    if (Array.isArray(types)) {
      for (const t of types) if (typeof t === 'string' && !TYPE_NAMESPACES.includes(t.split('/')[0] ?? '')) report('Types', `"${t}" is not in the ASFF types taxonomy`);
    }
    const pf = (f as { ProductFields?: unknown }).ProductFields;
    if (pf !== null && typeof pf === 'object') {
      for (const [k, v] of Object.entries(pf)) {
        if (k.length > PRODUCT_FIELD_KEY_MAX) report(`ProductFields.${k.slice(0, 40)}…`, `key longer than ${PRODUCT_FIELD_KEY_MAX}`);
        if (typeof v === 'string' && v.length > PRODUCT_FIELD_VALUE_MAX) report(`ProductFields.${k}`, `value longer than ${PRODUCT_FIELD_VALUE_MAX}`);
      }
    }
    const created = (f as { CreatedAt?: unknown }).CreatedAt;
    const updated = (f as { UpdatedAt?: unknown }).UpdatedAt;
    if (typeof created === 'string' && typeof updated === 'string' && Date.parse(updated) < Date.parse(created)) report('UpdatedAt', 'is before CreatedAt');
  });
  return problems;
};

const walk = (value: unknown, schemaIn: unknown, shapeName: string, path: string, report: (path: string, message: string) => void): void => {
  const schema = resolve(schemaIn);
  const where = path === '' ? '(finding)' : path;
  if (typeof schema === 'number') {
    const base = schema & 63;
    if (schema & 64) {
      if (!Array.isArray(value)) return report(where, `expected a list, got ${typeof value}`);
      value.forEach((v, i) => walk(v, base, shapeName, `${path}[${i}]`, report));
      return;
    }
    if (schema & 128) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return report(where, 'expected a map');
      for (const [k, v] of Object.entries(value)) walk(v, base, shapeName, `${path}.${k}`, report);
      return;
    }
    if (base === 0 && typeof value !== 'string') report(where, `expected a string, got ${typeof value}`);
    else if (base === 1 && (typeof value !== 'number' || !Number.isFinite(value))) report(where, `expected a number, got ${typeof value}`);
    else if (base === 2 && typeof value !== 'boolean') report(where, `expected a boolean, got ${typeof value}`);
    return;
  }
  const [kind, , name, , a, b, requiredCount] = schema as readonly unknown[];
  if (kind === 1) {
    if (!Array.isArray(value)) return report(where, `expected a list, got ${typeof value}`);
    value.forEach((v, i) => walk(v, a, String(name), `${path}[${i}]`, report));
    return;
  }
  if (kind === 2) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return report(where, 'expected a map');
    for (const [k, v] of Object.entries(value)) walk(v, b, String(name), `${path}.${k}`, report);
    return;
  }
  if (kind !== 3) return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return report(where, `expected a structure (${String(name)}), got ${Array.isArray(value) ? 'a list' : typeof value}`);
  const structName = String(name);
  const memberNames = a as readonly string[];
  const memberSchemas = b as readonly unknown[];
  const obj = value as Record<string, unknown>;
  const required = typeof requiredCount === 'number' ? memberNames.slice(0, requiredCount) : [];
  for (const r of required) if (obj[r] === undefined) report(path === '' ? r : `${path}.${r}`, 'is required');
  const enums = enumIndex?.get(structName);
  for (const [key, v] of Object.entries(obj)) {
    const memberPath = path === '' ? key : `${path}.${key}`;
    const i = memberNames.indexOf(key);
    if (i === -1) {
      report(memberPath, `is not a member of ${structName}`);
      continue;
    }
    if (v === undefined) continue;
    walk(v, memberSchemas[i], structName, memberPath, report);
    const allowed = enums?.get(key) ?? DOCUMENTED_ENUMS[`${structName}.${key}`];
    if (allowed !== undefined) for (const x of Array.isArray(v) ? v : [v]) if (typeof x === 'string' && !allowed.includes(x)) report(memberPath, `"${x}" is not one of ${allowed.join(', ')}`);
    const limit = LIMITS[`${structName}.${key}`] ?? LIMITS[`${path.split('.').pop() ?? ''}.${key}`] ?? (structName === 'Recommendation' ? LIMITS[`Remediation.Recommendation.${key}`] : undefined);
    if (limit !== undefined) {
      const size = typeof v === 'string' || Array.isArray(v) ? v.length : typeof v === 'object' && v !== null ? Object.keys(v).length : undefined;
      if (size !== undefined && limit.min !== undefined && size < limit.min) report(memberPath, `has ${size}, fewer than ${limit.min}`);
      if (size !== undefined && limit.max !== undefined && size > limit.max) report(memberPath, `has ${size}, more than ${limit.max}`);
    }
    if (TIMESTAMP_MEMBERS.has(key) && typeof v === 'string' && (!RFC3339.test(v) || !Number.isFinite(Date.parse(v)))) report(memberPath, `"${v}" is not an RFC 3339 timestamp`);
    if ((key === 'Confidence' || key === 'Criticality') && typeof v === 'number' && (v < CONFIDENCE_RANGE.min || v > CONFIDENCE_RANGE.max || !Number.isInteger(v))) report(memberPath, 'must be an integer from 0 to 100');
  }
};
