// Shapes with static and symbolic dimensions. A symbolic dimension is a name ("B", "T") or a
// product of names with an optional integer factor ("B*T", "4*T"); products are kept in one
// canonical spelling so that equal sizes compare equal as strings.

import { ShapeError } from './errors.ts';

export type Dim = number | string;
export type Shape = readonly Dim[];

interface Monomial {
  coef: number;
  symbols: string[]; // sorted
}

function parse(d: Dim): Monomial {
  if (typeof d === 'number') return { coef: d, symbols: [] };
  let coef = 1;
  const symbols: string[] = [];
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) coef *= Number(part);
    else symbols.push(part);
  }
  return { coef, symbols: symbols.sort() };
}

function format(m: Monomial): Dim {
  if (m.symbols.length === 0) return m.coef;
  return (m.coef === 1 ? [] : [String(m.coef)]).concat(m.symbols).join('*');
}

/** The product of dims, symbolic when any factor is. */
export function dimProduct(dims: readonly Dim[]): Dim {
  const acc: Monomial = { coef: 1, symbols: [] };
  for (const d of dims) {
    const m = parse(d);
    acc.coef *= m.coef;
    acc.symbols.push(...m.symbols);
  }
  acc.symbols.sort();
  if (acc.coef === 0) return 0;
  return format(acc);
}

/** a / b when it divides exactly, else null. */
export function dimQuotient(a: Dim, b: Dim): Dim | null {
  const ma = parse(a);
  const mb = parse(b);
  if (mb.coef === 0 || ma.coef % mb.coef !== 0) return null;
  const rest = [...ma.symbols];
  for (const s of mb.symbols) {
    const i = rest.indexOf(s);
    if (i < 0) return null;
    rest.splice(i, 1);
  }
  return format({ coef: ma.coef / mb.coef, symbols: rest });
}

/** The single-name symbols a dim is made of ("B*T" → ["B", "T"]). */
export function dimSymbols(d: Dim): string[] {
  return parse(d).symbols;
}

export function dimCoefficient(d: Dim): number {
  return parse(d).coef;
}

export const fmt = (shape: Shape): string => `[${shape.join(', ')}]`;

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy-style broadcasting of several shapes; throws naming the op when they do not agree. */
export function broadcastShapes(op: string, shapes: Shape[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = s.length - rank + i;
      if (k < 0) continue;
      const e = s[k];
      if (e === 1 || e === d) continue;
      if (d === 1) d = e;
      else throw new ShapeError(`${op}: shapes ${shapes.map(fmt).join(' and ')} do not broadcast (axis ${i}: ${d} vs ${e})`);
    }
    out.push(d);
  }
  return out;
}

/** Resolve a possibly negative axis against a rank, naming the op on error. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new ShapeError(`${op}: axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Substitute bound symbols with numbers (used when a program is specialised to one bucket). */
export function bindDim(d: Dim, bindings: ReadonlyMap<string, number>): Dim {
  if (typeof d === 'number') return d;
  const m = parse(d);
  let coef = m.coef;
  const rest: string[] = [];
  for (const s of m.symbols) {
    const v = bindings.get(s);
    if (v === undefined) rest.push(s);
    else coef *= v;
  }
  return format({ coef, symbols: rest });
}
