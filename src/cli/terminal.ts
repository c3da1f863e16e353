import { replaceUnsafeCharacters } from '#core/events/fields.ts';

/** Terminal-safe text: event fields are attacker-influenced, so control and bidi characters never reach a TTY. */
export const safeText = (s: string): string => replaceUnsafeCharacters(s, '?');

/**
 * JSON for stdout: JSON.stringify already escapes control characters, but bidirectional overrides and
 * invisible marks pass through raw, so a terminal could show `exe.pdf` as `fdp.exe`. Those are written as
 * `\uXXXX` escapes: the same JSON value, with nothing that reorders text on screen.
 */
export const terminalSafeJson = (value: unknown, indent?: number): string =>
  JSON.stringify(value, null, indent).replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

export const formatCount = (n: number): string => n.toLocaleString('en-US');

export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
};

/** A fixed-width table; cells are made terminal-safe and cut to `maxWidth`. */
export const renderTable = (header: readonly string[], rows: readonly (readonly string[])[], maxWidth = 60): string => {
  const cells = [header, ...rows].map((r) => r.map((c) => {
    const t = safeText(c);
    return t.length > maxWidth ? `${t.slice(0, maxWidth - 1)}…` : t;
  }));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
};
