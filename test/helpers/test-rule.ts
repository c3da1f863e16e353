/** The metadata of a rule a test defines for itself, to see what the engine hands its `detect`. */
export const TEST_RULE_METADATA = {
  title: 'Test rule',
  description: 'A rule used by the engine\'s tests only.',
  severity: 'LOW' as const,
  status: 'experimental' as const,
  references: [],
  falsePositives: ['none known'],
  tags: [],
  runbook: 'None.',
  findingTypes: ['TTPs'],
};
