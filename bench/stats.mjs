// Averages the benches report.
export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

export const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
