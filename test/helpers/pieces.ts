import type { PieceItem } from '#adapters/local/cloudtrail-files.ts';
import type { SourceItem } from '#core/ports.ts';

/**
 * What a consumer of `parseCloudTrailPieces` hands on, as the reader threads do: a batch's pieces gathered into one
 * batch when a piece comes with `more` false, and voided by a `file-failed` issue; other items as they come.
 */
export const gatherPieces = (items: readonly PieceItem[]): SourceItem[] => {
  const out: SourceItem[] = [];
  let open: { file: string; records: unknown[]; indexes: number[] } | undefined;
  for (const item of items) {
    if (item.type === 'encoded-batch') throw new Error('gatherPieces: an encoded batch (read without the native reader)');
    if (item.type !== 'batch-piece') {
      if (item.type === 'issue' && item.issue.kind === 'file-failed') open = undefined;
      out.push(item);
      continue;
    }
    open ??= { file: item.batch.file, records: [], indexes: [] };
    open.records.push(...item.batch.records);
    open.indexes.push(...(item.batch.indexes ?? []));
    if (!item.more) {
      out.push({ type: 'batch', batch: { file: open.file, records: open.records, indexes: open.indexes, firstIndex: open.indexes[0] ?? 0 } });
      open = undefined;
    }
  }
  return out;
};
