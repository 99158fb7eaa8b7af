/**
 * The text syntax of DPF filters, for people. One atom per item; items are separated by `;`,
 * a newline or `&&`; `#` starts a comment that runs to the end of the line.
 *
 * ```text
 * eq16 12 0x0800          # ethertype IPv4
 * eq8 23 6                # protocol TCP
 * mshift8 14 0x0f 2       # skip the IPv4 header (IHL words)
 * eq16 16 80              # TCP destination port, relative to the new base
 * ```
 *
 * Mnemonics follow Xok's constructors: `eq8|eq16|eq32 OFF VALUE`, `meq8|16|32 OFF MASK VALUE`,
 * `shift8|16|32 OFF SHIFT`, `mshift8|16|32 OFF MASK SHIFT`, `shifti BYTES`. Numbers are decimal
 * (no leading zeros) or `0x` hex. The parser checks syntax only; ranges are the verifier's job.
 * `formatFilterText` prints the canonical spelling, and `parseFilterText(formatFilterText(a))`
 * gives back `a` exactly.
 */
import { type FilterAst, type FilterAtom, type LoadWidth, hex } from './ast.js';
import { DPF_BOGUSOP, DPF_MAX_ATOMS, DPF_MAX_TEXT_CHARS, type DpfRefusal, quoteInput, refuse } from './codes.js';

/** Result of {@link parseFilterText}. */
export type ParseResult = { readonly ok: true; readonly ast: FilterAst } | DpfRefusal;

interface Token {
  readonly text: string;
  readonly line: number;
  readonly column: number;
}

const MNEMONIC = /^(m?eq|m?shift)(8|16|32)$/;
const DECIMAL = /^(0|[1-9][0-9]{0,14})$/;
const HEX = /^0[xX][0-9a-fA-F]{1,13}$/;

/**
 * Parse filter text. Syntax errors are refused with `DPF_BOGUSOP` and a `line:column` reason.
 * Stops reading after {@link DPF_MAX_ATOMS} + 1 atoms (the verifier then refuses the count).
 */
export function parseFilterText(text: string): ParseResult {
  if (typeof text !== 'string') return refuse(DPF_BOGUSOP, 'filter text must be a string');
  if (text.length > DPF_MAX_TEXT_CHARS) {
    return refuse(DPF_BOGUSOP, `filter text is ${text.length} characters, more than ${DPF_MAX_TEXT_CHARS}`);
  }
  const atoms: FilterAtom[] = [];
  let item: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const flush = (): DpfRefusal | undefined => {
    if (item.length === 0) return undefined;
    const r = buildAtom(item);
    item = [];
    if ('ok' in r) return r;
    atoms.push(r);
    return undefined;
  };
  while (i < text.length && atoms.length <= DPF_MAX_ATOMS) {
    const c = text[i] as string;
    if (c === '\n' || c === ';') {
      const err = flush();
      if (err) return err;
      if (c === '\n') {
        line++;
        lineStart = i + 1;
      }
      i++;
    } else if (c === '&' && text[i + 1] === '&') {
      const err = flush();
      if (err) return err;
      i += 2;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else {
      const start = i;
      while (i < text.length && /[0-9a-zA-Z_]/.test(text[i] as string)) i++;
      if (i === start) {
        return refuse(DPF_BOGUSOP, `${line}:${start - lineStart + 1}: unexpected character ${quoteInput(c)}`);
      }
      item.push({ text: text.slice(start, i), line, column: start - lineStart + 1 });
    }
  }
  const err = flush();
  if (err) return err;
  return { ok: true, ast: { atoms } };
}

function buildAtom(tokens: readonly Token[]): FilterAtom | DpfRefusal {
  const head = tokens[0] as Token;
  const at = `${head.line}:${head.column}`;
  const name = head.text;
  let arity: number;
  let make: (n: readonly number[]) => FilterAtom;
  if (name === 'shifti') {
    arity = 1;
    make = (n) => ({ op: 'shifti', bytes: n[0] as number });
  } else {
    const m = MNEMONIC.exec(name);
    if (m === null) {
      return refuse(DPF_BOGUSOP, `${at}: unknown atom ${quoteInput(name)} (expected eq, meq, shift, mshift or shifti with a width 8, 16 or 32)`);
    }
    const width = Number(m[2]) as LoadWidth;
    switch (m[1]) {
      case 'eq':
        arity = 2;
        make = (n) => ({ op: 'eq', width, offset: n[0] as number, value: n[1] as number });
        break;
      case 'meq':
        arity = 3;
        make = (n) => ({ op: 'meq', width, offset: n[0] as number, mask: n[1] as number, value: n[2] as number });
        break;
      case 'shift':
        arity = 2;
        make = (n) => ({ op: 'shift', width, offset: n[0] as number, shift: n[1] as number });
        break;
      default:
        arity = 3;
        make = (n) => ({ op: 'mshift', width, offset: n[0] as number, mask: n[1] as number, shift: n[2] as number });
    }
  }
  if (tokens.length - 1 !== arity) {
    return refuse(DPF_BOGUSOP, `${at}: ${name} takes ${arity} number${arity > 1 ? 's' : ''}, got ${tokens.length - 1}`);
  }
  const nums: number[] = [];
  for (const t of tokens.slice(1)) {
    if (DECIMAL.test(t.text)) nums.push(Number.parseInt(t.text, 10));
    else if (HEX.test(t.text)) nums.push(Number.parseInt(t.text.slice(2), 16));
    else {
      return refuse(DPF_BOGUSOP, `${t.line}:${t.column}: ${quoteInput(t.text)} is not a number (decimal without leading zeros, or 0x hex, at most 2^53)`);
    }
  }
  return make(nums);
}

/** One atom in the canonical text spelling. */
export function formatAtom(a: FilterAtom): string {
  switch (a.op) {
    case 'eq':
      return `eq${a.width} ${a.offset} ${hex(a.value, a.width)}`;
    case 'meq':
      return `meq${a.width} ${a.offset} ${hex(a.mask, a.width)} ${hex(a.value, a.width)}`;
    case 'shift':
      return `shift${a.width} ${a.offset} ${a.shift}`;
    case 'mshift':
      return `mshift${a.width} ${a.offset} ${hex(a.mask, a.width)} ${a.shift}`;
    case 'shifti':
      return `shifti ${a.bytes}`;
  }
}

/** A filter in the canonical text spelling: its atoms joined by `; ` on one line. */
export function formatFilterText(ast: FilterAst): string {
  return ast.atoms.map(formatAtom).join('; ');
}
