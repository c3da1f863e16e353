import { replaceUnsafeCharacters } from '#core/events/fields.ts';

/** Terminal-safe text: event fields are attacker-influenced, so control and bidi characters never reach a TTY. */
export const safeText = (s: string): string => replaceUnsafeCharacters(s, '?');

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
