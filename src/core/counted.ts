/** A count grouped by thousands as English writes it: "5,024". */
export const formatCount = (n: number): string => n.toLocaleString('en-US');

/** "1 file", "9 files", "5,024 files": a count and its noun, in the words a person would write. */
export const counted = (n: number, singular: string, plural = `${singular}s`): string => `${formatCount(n)} ${n === 1 ? singular : plural}`;
