// Averages the benches report.
export const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

export const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * An interval that holds the median of what `xs` were drawn from with at least `confidence`, whatever their
 * distribution: from the k-th smallest to the k-th largest, with k as large as that confidence allows (how many
 * values fall below the median is binomial, n and 1/2). Undefined for too few values: 5 at 90%.
 */
export const medianInterval = (xs, confidence = 0.9) => {
  const n = xs.length;
  const sorted = [...xs].sort((a, b) => a - b);
  let interval;
  // P(at most j of n values below the median), j = k - 1, summed as k grows.
  let choose = 1;
  let below = 0;
  for (let k = 1; 2 * k <= n; k++) {
    if (k > 1) choose = (choose * (n - k + 2)) / (k - 1);
    below += choose / 2 ** n;
    const coverage = 1 - 2 * below;
    if (coverage < confidence) break;
    interval = { low: sorted[k - 1], high: sorted[n - k], coverage };
  }
  return interval;
};
