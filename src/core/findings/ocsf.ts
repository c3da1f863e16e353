import { partitionOfRegion } from '../events/normalize.ts';
import { s3ServiceOfArn } from '../events/s3-arn.ts';
import type { AffectedResource, Rule, Severity } from '../rules/define-rule.ts';
import { describeFinding, stripControls, truncateText } from './asff.ts';
import { relatedIdsOf, type FindingRecord } from './finding.ts';

/**
 * OCSF Detection Finding (class 2004, category Findings 2), for Security Lake and SIEMs that speak OCSF.
 * Field names follow the OCSF schema; times are epoch milliseconds as OCSF specifies.
 */
export const OCSF_VERSION = '1.3.0';
export const OCSF_CLASS_UID = 2004;
const CATEGORY_UID = 2;

const SEVERITY_ID: Readonly<Record<Severity, number>> = { INFORMATIONAL: 1, LOW: 2, MEDIUM: 3, HIGH: 4, CRITICAL: 5 };
const SEVERITY_NAME: Readonly<Record<Severity, string>> = { INFORMATIONAL: 'Informational', LOW: 'Low', MEDIUM: 'Medium', HIGH: 'High', CRITICAL: 'Critical' };

export type OcsfDetectionFinding = Readonly<Record<string, unknown>> & { readonly class_uid: 2004 };

/** The CloudFormation type of what a finding is about besides key, object and caller (CloudFormation has none for a grantee: that one is ours). */
const OCSF_RESOURCE_TYPES: Readonly<Record<AffectedResource['type'], string>> = {
  AwsCloudTrailTrail: 'AWS::CloudTrail::Trail',
  KmsGrantee: 'AWS::KMS::Grantee',
  AwsEc2VpcEndpoint: 'AWS::EC2::VPCEndpoint',
};

/** The CloudFormation type of what a finding's S3 ARN names, as CloudTrail's `resources` name S3's types. */
const s3ResourceType = (arn: string | undefined, isObject: boolean): string => {
  const service = arn !== undefined ? s3ServiceOfArn(arn) : 's3';
  if (service === 's3tables') return isObject ? 'AWS::S3Tables::Table' : 'AWS::S3Tables::TableBucket';
  if (service === 's3express') return isObject ? 'AWS::S3Express::Object' : 'AWS::S3Express::DirectoryBucket';
  if (service === 's3vectors') return isObject ? 'AWS::S3Vectors::Index' : 'AWS::S3Vectors::VectorBucket';
  return isObject ? 'AWS::S3::Object' : 'AWS::S3::Bucket';
};

export const toOcsf = (f: FindingRecord, rule: Pick<Rule, 'id' | 'title' | 'runbook' | 'findingTypes' | 'references' | 'status'>, productVersion: string): OcsfDetectionFinding => {
  // activity: 1 Create on the first import, 2 Update once the finding has changed.
  const activityId = f.updatedAtMs > f.createdAtMs ? 2 : 1;
  const suppressed = f.suppressedBy !== undefined;
  const resources: Record<string, unknown>[] = [];
  if (f.key !== undefined) resources.push({ uid: f.key.arn, type: 'AWS::KMS::Key', ...(f.key.alias !== undefined ? { name: f.key.alias } : {}), region: f.region });
  if (f.s3 !== undefined) {
    const arn = f.s3.objectArn ?? f.s3.bucketArn;
    resources.push({ uid: arn ?? `arn:${partitionOfRegion(f.region)}:s3:::${f.s3.bucket}`, type: s3ResourceType(arn, f.s3.objectArn !== undefined), name: f.s3.objectKey ?? f.s3.bucket });
  }
  if (f.resource !== undefined) resources.push({ uid: f.resource.arn, type: OCSF_RESOURCE_TYPES[f.resource.type], name: f.resource.name });
  const srcIp = f.network.sourceIp;
  const isIp = srcIp !== undefined && /^[0-9a-fA-F:.]+$/.test(srcIp) && /[.:]/.test(srcIp);
  return {
    class_uid: OCSF_CLASS_UID,
    class_name: 'Detection Finding',
    category_uid: CATEGORY_UID,
    category_name: 'Findings',
    activity_id: activityId,
    activity_name: activityId === 1 ? 'Create' : 'Update',
    type_uid: OCSF_CLASS_UID * 100 + activityId,
    severity_id: SEVERITY_ID[f.severity],
    severity: SEVERITY_NAME[f.severity],
    status_id: suppressed ? 3 : 1,
    status: suppressed ? 'Suppressed' : 'New',
    is_alert: !suppressed,
    time: f.updatedAtMs,
    start_time: f.firstSeenMs,
    end_time: f.lastSeenMs,
    count: f.eventCount,
    message: truncateText(stripControls(f.reason), 1024),
    metadata: { version: OCSF_VERSION, product: { name: 'KMS Decrypt Monitor', vendor_name: 'kms-decrypt-monitor', version: productVersion }, uid: f.id },
    finding_info: {
      uid: f.id,
      title: rule.title,
      desc: truncateText(describeFinding(f), 2048),
      types: [...rule.findingTypes],
      created_time: f.createdAtMs,
      modified_time: f.updatedAtMs,
      first_seen_time: f.firstSeenMs,
      last_seen_time: f.lastSeenMs,
      analytic: { uid: rule.id, name: rule.title, type_id: 1, type: 'Rule' },
      // The CloudTrail events it counts, and the findings it names (each one's metadata.uid, as OCSF asks): other rules'
      // on its events, then its principal's within a day.
      related_events: [
        ...f.eventIds.map((uid) => ({ uid, product_uid: 'cloudtrail' })),
        ...relatedIdsOf(f).map((uid) => ({ uid, product_uid: 'kms-decrypt-monitor', type_uid: OCSF_CLASS_UID * 100 + 1, type: 'Detection Finding: Create' })),
      ],
    },
    cloud: { provider: 'AWS', region: f.region, ...(f.accountId !== undefined ? { account: { uid: f.accountId, type: 'AWS Account', type_id: 10 } } : {}) },
    resources,
    evidences: [
      {
        ...(f.api !== '' ? { api: { operation: f.api, service: { name: f.serviceName } } } : {}),
        actor: { user: { uid: f.principal.id, type: f.principal.type, ...(f.principal.sessionName !== undefined ? { name: f.principal.sessionName } : {}), ...(f.principal.accountId !== undefined ? { account: { uid: f.principal.accountId } } : {}) } },
        ...(srcIp !== undefined ? { src_endpoint: isIp ? { ip: srcIp } : { domain: srcIp } } : {}),
        ...(f.s3Request !== undefined
          ? { data: { s3_operation: f.s3Request.operation, s3_event_uid: f.s3Request.eventId, correlation: f.correlation, ...(f.s3Request.presigned === true ? { s3_presigned: true } : {}) } }
          : {}),
      },
    ],
    remediation: { desc: rule.runbook, references: [...rule.references] },
    ...(suppressed && f.suppressedBy !== undefined ? { unmapped: { suppressed_by: f.suppressedBy.id, suppression_reason: f.suppressedBy.reason } } : {}),
  };
};
