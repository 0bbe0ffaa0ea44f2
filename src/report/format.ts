// Text for the report: HTML escaping and number formats a person can read at a glance.

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>` and `&` become \u escapes so
 * no string in the data can close the script element or open a comment.
 */
export function jsonForScript(data: unknown): string {
  return JSON.stringify(data).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export type NumberFormat = 'scientific' | 'fixed' | 'signed' | 'percent';

/**
 * - scientific: p-values that span hundreds of orders of magnitude (forget quality): 4.0e-25;
 * - fixed: probabilities, ROUGE, AUC in [0, 1]: 0.634 (3 decimals);
 * - signed: PrivLeak, a percentage around 0: +1.2 / −99.8;
 * - percent: a fraction shown as a percentage: 21% (−0.4% shows as 0%).
 */
export function formatNumber(value: number, format: NumberFormat): string {
  switch (format) {
    case 'scientific':
      return value === 0 ? '0' : value.toExponential(1);
    case 'fixed':
      return Math.abs(value) >= 1000 || (value !== 0 && Math.abs(value) < 0.001) ? value.toExponential(2) : value.toFixed(3);
    case 'signed':
      return `${value > 0 ? '+' : value < 0 ? '−' : ''}${Math.abs(value).toFixed(1)}`;
    case 'percent': {
      // A small negative fraction rounds to 0%, not "-0%".
      const p = (value * 100).toFixed(0);
      return `${p === '-0' ? '0' : p}%`;
    }
  }
}

/** 12.3 s, 4 min 05 s, 2 h 03 min. */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

const SI = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** 950, 12.3 k, 4.56 M, 1.20 P: counts of tokens and FLOPs. */
export function formatCount(value: number): string {
  let i = 0;
  let v = value;
  while (Math.abs(v) >= 1000 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  if (i === 0) return String(Math.round(v));
  return `${v.toPrecision(3)} ${SI[i]}`;
}
