import { BatchPieceGatherer, type PieceItem } from '#adapters/local/cloudtrail-files.ts';
import type { SourceItem } from '#core/ports.ts';

/** What a consumer of `parseCloudTrailPieces` hands on, as the reader threads do (see `BatchPieceGatherer`), for items read without the native reader. */
export const gatherPieces = (items: readonly PieceItem[]): SourceItem[] => {
  const gatherer = new BatchPieceGatherer();
  const out: SourceItem[] = [];
  for (const item of items) {
    if (item.type === 'encoded-batch') throw new Error('gatherPieces: an encoded batch (read without the native reader)');
    const whole = gatherer.add(item);
    if (whole !== undefined) out.push(whole as SourceItem);
  }
  return out;
};
