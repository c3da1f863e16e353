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
 * Bounds the heap of a long replay to about `HEAP_GROWING_PERCENT` over its live data, however large that grows
 * (a fixed heap cap would end a replay whose state outgrew it). V8 reads the factor at each collection, so setting
 * it when the replay starts is enough; it stays for the rest of the process.
 */
export const limitHeapGrowth = (): void => {
  setFlagsFromString(HEAP_GROWING_FLAG);
};
