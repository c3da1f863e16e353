import type { KmsCall, S3RequestSummary } from './types.ts';

/**
 * The S3 request behind a call S3 made for a principal (the data event correlation matched to it), as the principal
 * sent it: undefined for any other call, for an AWS service principal's, for a call with no request matched, and for
 * a request signed ahead of it (a presigned URL, a POST form), which whoever held the URL or the form sent with their
 * own client from their own network. What the rules learn of where a principal works from (its clients, its
 * networks) they read here.
 */
export const principalsS3RequestOf = (e: KmsCall): S3RequestSummary | undefined => {
  const request = e.s3Request;
  return e.madeByS3 && !e.principal.isAwsService && request !== undefined && request.presigned !== true ? request : undefined;
};
