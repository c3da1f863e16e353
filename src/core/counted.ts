/** "1 file", "9 files", "5,024 files": a count and its noun, in the words a person would write. */
export const counted = (n: number, singular: string, plural = `${singular}s`): string =>
  `${n.toLocaleString('en-US')} ${n === 1 ? singular : plural}`;
