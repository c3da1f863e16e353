import type { Rule } from './define-rule.ts';

/** Every rule shipped with the monitor, in catalogue order. */
export const ALL_RULES: readonly Rule[] = [];

export const ruleById = (id: string): Rule | undefined => ALL_RULES.find((r) => r.id === id);
