// clang with libFuzzer and the sanitizers' runtimes, and zlib's header, for `npm run fuzz` (scripts/fuzz-native.mjs):
// Debian's clang-14 and libclang-rt-14-dev, installed when missing and this machine can.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackages } from './debian-packages.mjs';

const CLANGS = ['clang++', ...[19, 18, 17, 16, 15, 14].map((version) => `clang++-${version}`)];
const FUZZER_RUNTIME = `libclang_rt.fuzzer-${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}.a`;

/** The first clang++ on the PATH whose runtimes include libFuzzer's, where zlib's header is there too. */
const clangWithLibFuzzer = () => {
  if (!existsSync('/usr/include/zlib.h')) return undefined;
  for (const clang of CLANGS) {
    let resources;
    try {
      resources = execFileSync(clang, ['-print-resource-dir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      continue;
    }
    if (existsSync(join(resources, 'lib', 'linux', FUZZER_RUNTIME))) return clang;
  }
  return undefined;
};

/** @returns {{ found: string } | { reason: string }} the clang++ to build with, or why there is none. */
export const ensureFuzzToolchain = () =>
  ensureDebianPackages({ what: 'clang with libFuzzer', packages: ['clang-14', 'libclang-rt-14-dev', 'zlib1g-dev'], found: clangWithLibFuzzer });
