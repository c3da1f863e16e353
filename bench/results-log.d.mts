export declare const appendBenchEntry: (entry: {
  readonly file: string;
  readonly kind: 'figures' | 'cost figures';
  readonly title?: string;
  readonly lines: readonly string[];
  readonly figures: Readonly<Record<string, number | string | undefined>>;
}) => void;
