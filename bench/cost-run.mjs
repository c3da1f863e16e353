// Builds bench/cost.ts (it drives the TypeScript handler) into .cache/ and runs it: `npm run bench:cost`.
import { spawnSync } from 'node:child_process';
import { build } from 'esbuild';

await build({
  entryPoints: ['bench/cost.ts'],
  outfile: '.cache/bench-cost.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
});
const run = spawnSync(process.execPath, ['.cache/bench-cost.mjs'], { stdio: 'inherit', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_METRICS_DISABLED: 'true' } });
process.exit(run.status ?? 1);
