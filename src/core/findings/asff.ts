import { counted } from '../counted.ts';
import { compact, replaceUnsafeCharacters } from '../events/fields.ts';
import { partitionOfRegion } from '../events/normalize.ts';
import { s3ServiceOfArn, type S3ArnService } from '../events/s3-arn.ts';
import type { AffectedResource, Rule } from '../rules/define-rule.ts';
import type { FindingPlace, FindingRecord } from './finding.ts';
import { countByRule, MAX_EVIDENCE_IDS, relatedIdsOf } from './finding.ts';

/** The subset of the AWS Security Finding Format this tool writes (field names exactly as ASFF). */
export type AsffFinding = Readonly<Record<string, unknown>> & {
  readonly Id: string;
  readonly ProductFields: Readonly<Record<string, string>>;
};

export interface AsffContext {
  /** Account that imports the finding when the activity's account is unknown. */
  readonly fallbackAccountId?: string;
  readonly companyName?: string;
  readonly productName?: string;
}

export const ASFF_LIMITS = {
  title: 256,
  description: 1024,
  productFieldValue: 2048,
  productFieldKey: 128,
  productFields: 50,
  resources: 32,
  findingBytes: 240 * 1024,
} as const;

const TRUNCATION_MARKER = ' …[truncated]';

/** Cuts to at most `max` UTF-16 units with a visible marker, never splitting a character (surrogate pair). */
export const truncateText = (text: string, max: number): string => {
  if (text.length <= max) return text;
  let end = max - TRUNCATION_MARKER.length;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // do not leave a lone high surrogate
  return text.slice(0, end) + TRUNCATION_MARKER;
};

/** Removes control and bidi-override characters that could disguise text in a console or a terminal. */
export const stripControls = (text: string): string => replaceUnsafeCharacters(text, '\ufffd');

const iso = (ms: number): string => new Date(ms).toISOString();

const partitionOfArn = (arn: string): string => arn.split(':')[1] || 'aws';
const regionOfArn = (arn: string): string | undefined => arn.split(':')[3] || undefined;

const isIpv4 = (s: string): boolean => /^(?:\d{1,3}\.){3}\d{1,3}$/.test(s);
const isIpv6 = (s: string): boolean => s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s);

export const cloudTrailEventUrl = (region: string, eventId: string): string =>
  `https://${region}.console.aws.amazon.com/cloudtrailv2/home?region=${encodeURIComponent(region)}#/events/${encodeURIComponent(eventId)}`;

const CONFIDENCE: Readonly<Record<string, number>> = { stable: 80, test: 60, experimental: 40, deprecated: 20 };
const CRITICALITY: Readonly<Record<string, number>> = { INFORMATIONAL: 10, LOW: 30, MEDIUM: 50, HIGH: 70, CRITICAL: 90 };

const hasNoAsffType = (service: S3ArnService | undefined): boolean => service === 's3tables' || service === 's3vectors';

const resourcesOf = (f: FindingRecord, partition: string): Record<string, unknown>[] => {
  const out: Record<string, unknown>[] = [];
  if (f.key !== undefined) {
    const keyId = f.key.arn.split('/').pop() ?? f.key.arn;
    const facts = f.keyFacts?.lookup === 'ok' ? f.keyFacts : undefined;
    const tags = keyTags(f.key.alias, facts?.tags);
    out.push({
      Type: 'AwsKmsKey',
      Id: f.key.arn,
      Partition: partitionOfArn(f.key.arn),
      Region: regionOfArn(f.key.arn) ?? f.region,
      ...(tags !== undefined ? { Tags: tags } : {}),
      Details: {
        AwsKmsKey: compact({
          KeyId: keyId,
          AWSAccountId: f.key.accountId,
          KeyManager: facts?.keyManager,
          KeyState: facts?.keyState,
          Description: facts?.description !== undefined ? truncateText(stripControls(facts.description), 1024) : undefined,
        }),
      },
    });
  }
  if (f.s3 !== undefined) {
    // ASFF has types for S3's buckets (a directory bucket is one) and objects, none for tables, vector buckets and
    // their parts.
    if (f.s3.objectArn !== undefined) {
      const type = hasNoAsffType(s3ServiceOfArn(f.s3.objectArn)) ? 'Other' : 'AwsS3Object';
      out.push({ Type: type, Id: truncateText(f.s3.objectArn, 512), Partition: partition, Region: f.region });
    } else {
      const type = f.s3.bucketArn !== undefined && hasNoAsffType(s3ServiceOfArn(f.s3.bucketArn)) ? 'Other' : 'AwsS3Bucket';
      out.push({ Type: type, Id: truncateText(f.s3.bucketArn ?? `arn:${partition}:s3:::${f.s3.bucket}`, 512), Partition: partition, Region: f.region });
    }
  }
  if (f.resource?.type === 'KmsGrantee') out.push(granteeResource(f.resource, partition, f.region));
  else if (f.resource?.type === 'AwsEc2VpcEndpoint') {
    // ASFF has a type for an endpoint service, none for an endpoint.
    const arn = truncateText(f.resource.arn, 512);
    out.push({ Type: 'Other', Id: arn, Partition: partitionOfArn(arn), Region: regionOfArn(arn) ?? f.region });
  } else if (f.resource !== undefined) {
    // A trail's name comes from the record (at most 128 characters in CloudTrail, any length in a forged log).
    const arn = truncateText(f.resource.arn, 512);
    const homeRegion = regionOfArn(arn);
    out.push({
      Type: 'AwsCloudTrailTrail',
      Id: arn,
      Partition: partitionOfArn(arn),
      Region: homeRegion ?? f.region,
      Details: { AwsCloudTrailTrail: compact({ Name: truncateText(f.resource.name, 128), TrailArn: arn, HomeRegion: homeRegion }) },
    });
  }
  const p = f.principal;
  if (p.type === 'AssumedRole' && p.id.startsWith('arn:')) out.push(iamResource('AwsIamRole', p.id, f.region));
  else if (p.type === 'IAMUser' && p.id.startsWith('arn:')) out.push(iamResource('AwsIamUser', p.id, f.region));
  else if (p.accessKeyId !== undefined) {
    out.push({
      Type: 'AwsIamAccessKey',
      Id: `AWS::IAM::AccessKey:${p.accessKeyId}`,
      Partition: partition,
      Region: f.region,
      Details: { AwsIamAccessKey: { AccessKeyId: p.accessKeyId, PrincipalType: p.type, PrincipalName: truncateText(p.id, 512), ...(p.accountId !== undefined ? { AccountId: p.accountId } : {}) } },
    });
  } else {
    out.push({ Type: 'Other', Id: truncateText(p.id, 512), Partition: partition, Region: f.region });
  }
  return out.slice(0, ASFF_LIMITS.resources);
};

/** An IAM role or user by its ARN, named by the ARN's last part. An IAM path may be 512 characters by itself: the ARN is cut like every other resource id. */
const iamResource = (type: 'AwsIamRole' | 'AwsIamUser', arn: string, region: string): Record<string, unknown> => {
  const name = arn.split('/').pop() ?? arn;
  const details = type === 'AwsIamRole' ? { AwsIamRole: { RoleName: name } } : { AwsIamUser: { UserName: name } };
  return { Type: type, Id: truncateText(arn, 512), Partition: partitionOfArn(arn), Region: region, Details: details };
};

/** A grant's grantee: an IAM role or user by its ARN, else (an AWS service acting in an account, a principal id) Other. */
const granteeResource = (grantee: AffectedResource, partition: string, region: string): Record<string, unknown> => {
  if (/^arn:[^:]+:iam::\d{12}:role\//.test(grantee.arn)) return iamResource('AwsIamRole', grantee.arn, region);
  if (/^arn:[^:]+:iam::\d{12}:user\//.test(grantee.arn)) return iamResource('AwsIamUser', grantee.arn, region);
  return { Type: 'Other', Id: truncateText(grantee.arn, 512), Partition: partition, Region: region };
};

const clipTag = (v: string): string => truncateText(v, 256);

/** The key's own tags (as KMS lists them) plus the alias the caller named; at most 50, within ASFF's sizes. */
const keyTags = (alias: string | undefined, tags: Readonly<Record<string, string>> | undefined): Record<string, string> | undefined => {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (alias !== undefined) out['alias'] = clipTag(alias);
  for (const [k, v] of Object.entries(tags ?? {})) {
    if (Object.keys(out).length >= 50) break;
    const name = truncateText(stripControls(k), 128);
    if (name !== 'alias') out[name] = clipTag(stripControls(v));
  }
  return Object.keys(out).length > 0 ? { ...out } : undefined;
};

/** Plain-words description: who, which key, which object, where from, why unusual. */
export const describeFinding = (f: FindingRecord): string => {
  const parts: string[] = [f.reason];
  const where: string[] = [];
  if (f.network.sourceIp !== undefined) where.push(`source ${f.network.sourceIp}`);
  if (f.network.vpcEndpointId !== undefined) where.push(`VPC endpoint ${f.network.vpcEndpointId}`);
  where.push(`region ${f.region}`);
  const when = f.eventCount === 1 || f.firstSeenMs === f.lastSeenMs
    ? `${f.eventCount === 1 ? 'once' : counted(f.eventCount, 'time')} at ${iso(f.firstSeenMs)}`
    : `${counted(f.eventCount, 'time')} between ${iso(f.firstSeenMs)} and ${iso(f.lastSeenMs)}`;
  parts.push(`Seen ${when} from ${where.join(', ')}.`);
  if (f.related !== undefined && f.related.length > 0) {
    const rules = [...countByRule(f.related).keys()];
    const call = f.serviceName === 's3.amazonaws.com' ? 'request' : 'call';
    parts.push(`${f.eventCount === 1 ? `The same ${call}` : `One of its ${call}s`} also raised ${rules.join(', ')} (see its related findings).`);
  }
  if (f.samePrincipal !== undefined && f.samePrincipal.length > 0) {
    const rules = [...countByRule(f.samePrincipal)].map(([rule, n]) => (n === 1 ? rule : `${rule} (${counted(n, 'finding')})`));
    parts.push(`Within a day of it, the same principal also raised ${rules.join(', ')} (see its related findings).`);
  }
  return stripControls(parts.join(' '));
};

/**
 * The account, Region and partition Security Hub imports a finding of this place under: a finding of no known account
 * under the context's fallback, one of no valid Region under us-east-1.
 */
const asffPlaceOf = (place: FindingPlace, ctx: AsffContext): { readonly accountId: string; readonly region: string; readonly partition: string } => {
  const accountId = place.accountId !== undefined && /^\d{12}$/.test(place.accountId) ? place.accountId : (ctx.fallbackAccountId ?? '000000000000');
  const region = /^[a-z]{2}(?:-[a-z]+)+-\d+$/.test(place.region) ? place.region : 'us-east-1';
  return { accountId, region, partition: partitionOfRegion(region) };
};

/** The product a finding of this account and Region is imported under (the account's own, `default`). */
const productArnOf = ({ accountId, region, partition }: { readonly accountId: string; readonly region: string; readonly partition: string }): string =>
  `arn:${partition}:securityhub:${region}:${accountId}:product/${accountId}/default`;

/** Renders a finding as ASFF for BatchImportFindings, within Security Hub's documented limits. */
export const toAsff = (f: FindingRecord, rule: Pick<Rule, 'title' | 'runbook' | 'findingTypes' | 'references' | 'status'>, ctx: AsffContext = {}): AsffFinding => {
  const place = asffPlaceOf(f, ctx);
  const { accountId, region, partition } = place;
  const firstEvent = f.eventIds[0];
  const productFields: Record<string, string> = {
    'kdm/RuleId': f.ruleId,
    'kdm/EventCount': String(f.eventCount),
    'kdm/Principal': f.principal.id,
    'kdm/PrincipalType': f.principal.type,
  };
  const optional: Record<string, string | undefined> = {
    // A rule over findings' finding keeps no events of its own: the findings it names have them.
    'kdm/EventIds': f.eventIds.length > 0 ? f.eventIds.slice(0, MAX_EVIDENCE_IDS).join(' ') : undefined,
    'kdm/SessionName': f.principal.sessionName,
    'kdm/PrincipalAccount': f.principal.accountId,
    'kdm/KeyArn': f.key?.arn,
    'kdm/KeyAlias': f.key?.alias,
    'kdm/Bucket': f.s3?.bucket,
    'kdm/ObjectKey': f.s3?.objectKey,
    'kdm/SourceIp': f.network.sourceIp,
    'kdm/UserAgent': f.network.userAgent,
    'kdm/VpcEndpointId': f.network.vpcEndpointId,
    'kdm/ErrorCode': f.errorCode,
    'kdm/Grantee': f.resource?.type === 'KmsGrantee' ? f.resource.arn : undefined,
    'kdm/SuppressedBy': f.suppressedBy?.id,
    'kdm/CorrelationConfidence': f.correlation,
    'kdm/S3Operation': f.s3Request?.operation,
    'kdm/S3EventId': f.s3Request?.eventId,
    'kdm/S3SourceIp': f.s3Request?.sourceIp,
    'kdm/S3UserAgent': f.s3Request?.userAgent,
    'kdm/S3VpcEndpointId': f.s3Request?.vpcEndpointId,
    // The address and user agent of a presigned URL's or a POST form's request are whoever held it, not the principal.
    'kdm/S3Presigned': f.s3Request?.presigned === true ? 'true' : undefined,
    'kdm/S3BytesOut': f.s3Request?.bytesOut !== undefined ? String(f.s3Request.bytesOut) : undefined,
    'kdm/S3BytesIn': f.s3Request?.bytesIn !== undefined && f.s3Request.bytesIn > 0 ? String(f.s3Request.bytesIn) : undefined,
    'kdm/KeyLookup':
      f.keyFacts === undefined || f.keyFacts.lookup === 'ok' ? undefined
      : f.keyFacts.lookup === 'access-denied' ? 'access-denied: the key’s account does not let this monitor call DescribeKey; key details are missing'
      : f.keyFacts.lookup === 'not-found' ? 'not-found: KMS does not know this key (deleted, or another partition)'
      : 'unavailable: KMS could not be asked (throttled or failing); key details are missing',
    'kdm/KeyManager': f.keyFacts?.keyManager,
    'kdm/AccountUnknown': f.accountId === undefined || !/^\d{12}$/.test(f.accountId) ? 'true' : undefined,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) productFields[k] = v;
  if (f.encryptionContext !== undefined) {
    for (const [k, v] of Object.entries(f.encryptionContext).slice(0, 10)) productFields[truncateText(`kdm/Context/${k}`, ASFF_LIMITS.productFieldKey)] = v;
  }
  // Security Hub takes at most 50 product fields; the fixed ones come first, so only context keys can be cut.
  for (const k of Object.keys(productFields).slice(ASFF_LIMITS.productFields)) delete productFields[k];
  for (const k of Object.keys(productFields)) productFields[k] = truncateText(stripControls(productFields[k] ?? ''), ASFF_LIMITS.productFieldValue);

  const sourceIp = f.network.sourceIp;
  const callerIsIp = sourceIp !== undefined && (isIpv4(sourceIp) || isIpv6(sourceIp));
  const apiCall: Record<string, unknown> = {
    Api: f.api,
    ServiceName: f.serviceName,
    CallerType: callerIsIp ? 'remoteIp' : 'domain',
    FirstSeen: iso(f.firstSeenMs),
    LastSeen: iso(f.lastSeenMs),
  };
  if (callerIsIp && isIpv4(sourceIp)) apiCall['RemoteIpDetails'] = { IpAddressV4: sourceIp };
  else if (sourceIp !== undefined && !callerIsIp) apiCall['DomainDetails'] = { Domain: truncateText(sourceIp, 128) };

  const severity = { Label: f.severity, Original: f.severity };
  const confidence = CONFIDENCE[rule.status] ?? 50;
  const criticality = CRITICALITY[f.severity] ?? 50;
  // Every finding of an account and Region is imported under this product; related findings of one event share both,
  // and a principal's findings elsewhere are named under theirs.
  const productArn = productArnOf(place);
  const relatedIds = relatedIdsOf(f);
  const productArnOfRelated = (id: string): string => {
    const elsewhere = f.samePrincipalElsewhere?.[id];
    return elsewhere === undefined ? productArn : productArnOf(asffPlaceOf(elsewhere, ctx));
  };
  const relatedFindings = relatedIds.length > 0 ? relatedIds.map((id) => ({ ProductArn: productArnOfRelated(id), Id: id })) : undefined;
  return {
    SchemaVersion: '2018-10-08',
    Id: f.id,
    ProductArn: productArn,
    GeneratorId: `kms-decrypt-monitor/${f.ruleId}`,
    AwsAccountId: accountId,
    Region: region,
    CompanyName: ctx.companyName ?? 'kms-decrypt-monitor',
    ProductName: ctx.productName ?? 'KMS Decrypt Monitor',
    Types: [...rule.findingTypes],
    CreatedAt: iso(f.createdAtMs),
    UpdatedAt: iso(f.updatedAtMs),
    FirstObservedAt: iso(f.firstSeenMs),
    LastObservedAt: iso(f.lastSeenMs),
    Severity: severity,
    Confidence: confidence,
    Criticality: criticality,
    Title: truncateText(stripControls(rule.title), ASFF_LIMITS.title),
    Description: truncateText(describeFinding(f), ASFF_LIMITS.description),
    Remediation: {
      Recommendation: {
        Text: truncateText(stripControls(rule.runbook), 512),
        ...(rule.references[0] !== undefined ? { Url: rule.references[0] } : {}),
      },
    },
    ...(firstEvent !== undefined ? { SourceUrl: cloudTrailEventUrl(region, firstEvent) } : {}),
    ProductFields: productFields,
    Resources: resourcesOf(f, partition),
    // A rule over findings' finding stands for no one call (its `api` is empty): it has no Action.
    ...(f.api !== '' ? { Action: { ActionType: 'AWS_API_CALL', AwsApiCallAction: apiCall } } : {}),
    // Security Hub takes a re-import's top-level RelatedFindings only until a customer edits them (BatchUpdateFindings);
    // FindingProviderFields always keeps the provider's, as for Severity and Types.
    FindingProviderFields: {
      Severity: severity,
      Types: [...rule.findingTypes],
      Confidence: confidence,
      Criticality: criticality,
      ...(relatedFindings !== undefined ? { RelatedFindings: relatedFindings } : {}),
    },
    RecordState: 'ACTIVE',
    Workflow: { Status: f.suppressedBy !== undefined ? 'SUPPRESSED' : 'NEW' },
    ...(relatedFindings !== undefined ? { RelatedFindings: relatedFindings } : {}),
  };
};
