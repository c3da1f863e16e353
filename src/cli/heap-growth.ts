import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the heap grow past what its last full collection kept before it collects again, in percent.
 *
 * V8 picks that factor itself, up to 4x when collections are fast, so a 1M-record replay holding 30–75 MB let its
 * heap grow to 320 MB. The replay used to bound it by forcing a full collection (`gc()`) whenever the used heap
 * passed twice what the last one kept (at least 64 MB). That held the peak, but a forced collection does not keep
 * V8's "retained maps": the hidden classes of the objects a batch makes and drops (per-event helpers, the decoder)
 * died at each one, and every optimized function that had checked for them was deoptimized ("weak objects") and
 * compiled again. In a 1M-record replay with the ledger, 17 forced collections threw away about 1,000 optimized
 * functions: 1,481 TurboFan compilations, 17 s of background compile time, against 464 and 5 s when V8 collected
 * by itself (531 and 6 s with this factor). V8's own collections deoptimize the same way only with
 * `--retain-maps-for-n-gc=0`.
 *
 * Setting V8's own growing factor instead keeps the heap as close to its live data, with V8's collections, which
 * keep those maps. Alternating 1M-record runs with the ledger: 24.4–24.6 s and 38.1–38.5 s of CPU at peaks of
 * 339–355 MB, against 26.8–27.6 s, 43.5–44.6 s and 338–356 MB with the forced collections; without the ledger
 * 18.3–18.4 s at 164–166 MB against 19.6–19.9 s at 178–180 MB; 5M records 113 s at 418 MB against 133 s at
 * 440 MB. 100% was 2% faster for 5–10 MB more, 50% slower for no less memory.
 *
 * 75% until 2026-12-04, when the 5M-record replay peaked at 291–300 MB against its 300 MB target. Measured again
 * then, in alternating rounds against 75%, 50% took 1.02× the time at 5M records for 280–285 MB against 295–299;
 * at 1M 0.997× and 1.098× (at the median of the rounds' own ratios, in two comparisons) for 252–267 MB against
 * 260–279; in files of 1,000 records 1.02× for 291–295 MB against 301–304.
 */
export const HEAP_GROWING_PERCENT = 50;

/** The V8 flag that sets it: process-wide, so the reader threads' heaps follow it too. */
export const HEAP_GROWING_FLAG = `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;

/**
 * The engine's young generation, in MB a semi-space, which `npx kdm` (dist/kdm.js run as a program) gives node on
 * its command line (scripts/build.mjs, the launcher): V8 reads it only when it sets up the heap, so a replay cannot
 * set it for itself as it sets the growing factor above.
 *
 * 16 MB is what Node.js 20 and 22 choose on this kind of machine (a new space of 32 MB); Node.js 24 (V8 13.6)
 * chooses 64 MB without pointer compression. Over the bench's 1M records with the ledger on 2026-12-06, run as
 * `node dist/kdm.js` with the launcher's malloc settings and two reader threads (one since; replay.ts,
 * DEFAULT_THREADS): Node.js 24 peaked at 390-401 MB by itself and 302-316 MB
 * with 16, for 1.02-1.08x the time (6.3-6.4 s against 6.4-7.2 s on a host that drifted); Node.js 20 and 22 the same
 * with and without it (254-266 and 268-277 MB). 8 MB held 283-292 MB on Node.js 24, but on 20 and 22 cost 7% more
 * time for 15-25 MB less, where the bound is met already.
 */
export const ENGINE_SEMI_SPACE_MB = 16;

/**
 * Bounds the heap of a long replay to about `HEAP_GROWING_PERCENT` over its live data, however large that grows
 * (a fixed heap cap would end a replay whose state outgrew it). V8 reads the factor at each collection, so setting
 * it when the replay starts is enough; it stays for the rest of the process.
 */
export const limitHeapGrowth = (): void => {
  setFlagsFromString(HEAP_GROWING_FLAG);
};
