import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces that name the TypeScript sources and their functions (and the packages' own files) instead of the
 * minified bundle, from the bundle's source maps, read only when a stack trace is first formatted.
 *
 * Node's `--enable-source-maps` does the same, but at load: it reads the bundle's map and walks the bundle's
 * 330 KB character by character as the bundle loads, whether anything ever fails or not. That cost 6.7 ms of every
 * cold start (69.7 against 63.0 ms for the process, medians of 31 alternating runs), about a tenth. Here a cold
 * start pays nothing; the first stack trace formatted from a bundle reads and parses its map once (about 35 ms for
 * the 500 KB map of a function's index.mjs), and later ones look their frames up in it.
 *
 * A frame of a file with a map beside it (`<file>.map`, as esbuild names it) becomes
 * `at wholeNumber (functions/shared/live-deps.ts:52:58)`: the map's path with its leading `../` dropped, which for
 * the functions as they are packaged (each in `dist/lambda/<function>/`) is the file's path in the repository.
 * Other frames (Node's own, a file without a map, a place the map does not cover) keep V8's text.
 */
export const mapStackTracesToSources = (): void => {
  Error.prepareStackTrace = formatStackTrace;
};

/** V8's own layout (`Name: message`, then one `    at …` line a frame), each frame where its source puts it. */
function formatStackTrace(error: Error, sites: readonly NodeJS.CallSite[]): string {
  let text: string;
  try {
    text = Error.prototype.toString.call(error);
  } catch {
    text = '<error>';
  }
  for (let i = 0; i < sites.length; i++) text += `\n    at ${frameText(sites[i] as NodeJS.CallSite, sites[i + 1])}`;
  return text;
}

interface Mapping {
  readonly originalSource?: string;
  readonly originalLine?: number;
  readonly originalColumn?: number;
  readonly name?: string;
}

/** Each file's source map, or `null` when it has none or it cannot be read; looked for once a file. */
const sourceMaps = new Map<string, SourceMap | null>();

const sourceMapOf = (fileName: string): SourceMap | null => {
  const known = sourceMaps.get(fileName);
  if (known !== undefined) return known;
  let found: SourceMap | null = null;
  try {
    const path = fileName.startsWith('file:') ? fileURLToPath(fileName) : fileName.startsWith('/') ? fileName : undefined;
    if (path !== undefined) found = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')) as SourceMapPayload);
  } catch {
    found = null; // No map, or an unreadable or malformed one: its file's frames keep the bundle's places.
  }
  sourceMaps.set(fileName, found);
  return found;
};

/** The mapping of a 1-based line and column of the bundle (CallSite's numbering; the map's is 0-based). */
const mappingAt = (map: SourceMap, line: number | null, column: number | null): Mapping =>
  line === null || column === null ? {} : (map.findEntry(line - 1, column - 1) as Mapping);

/**
 * The source's name of the function a frame is in: the name the map gives the function's own start, or else the
 * name at the place the next frame down the stack called it from, when that is in the same file.
 */
const originalFunctionName = (map: SourceMap, site: NodeJS.CallSite, caller: NodeJS.CallSite | undefined): string | undefined => {
  const own = mappingAt(map, site.getEnclosingLineNumber(), site.getEnclosingColumnNumber()).name;
  if (own !== undefined) return own;
  return caller !== undefined && caller.getFileName() === site.getFileName() ? mappingAt(map, caller.getLineNumber(), caller.getColumnNumber()).name : undefined;
};

/** A frame's text as V8 writes it, with the source's place and function name where the map has them. */
const frameText = (site: NodeJS.CallSite, caller: NodeJS.CallSite | undefined): string => {
  const text = site.toString();
  try {
    const fileName = site.getFileName();
    const map = fileName === undefined || fileName === null ? null : sourceMapOf(fileName);
    if (map === null) return text;
    const { originalSource, originalLine, originalColumn } = mappingAt(map, site.getLineNumber(), site.getColumnNumber());
    if (originalSource === undefined || originalLine === undefined || originalColumn === undefined) return text;
    const generated = `${fileName}:${site.getLineNumber()}:${site.getColumnNumber()}`;
    const place = `${originalSource.replace(/^(?:\.\.\/)+/, '')}:${originalLine + 1}:${originalColumn + 1}`;
    let mapped = text.replace(generated, place);
    const minifiedName = site.getFunctionName();
    const name = originalFunctionName(map, site, caller);
    if (minifiedName !== null && name !== undefined) mapped = mapped.replace(`${minifiedName} (`, `${name} (`);
    return mapped;
  } catch {
    return text; // A stack trace must come out whatever the map holds.
  }
};
