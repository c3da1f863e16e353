import { execFileSync } from 'node:child_process';

/** The CLI tests run the built `dist/kdm.js`, exactly as `npx kdm` does; rebuild it so it matches the sources. */
export default function setup(): void {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
