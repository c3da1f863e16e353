export declare const mean: (xs: readonly number[]) => number;
export declare const median: (xs: readonly number[]) => number;
/** An interval holding the median of what `xs` were drawn from with at least `confidence` (0.9 unless told); undefined for too few values. */
export declare const medianInterval: (xs: readonly number[], confidence?: number) => { readonly low: number; readonly high: number; readonly coverage: number } | undefined;
