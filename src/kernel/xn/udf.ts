/**
 * UDFs — untrusted deterministic functions (dpf-xn-cheetah-facts §2.3): the small register
 * machine in which a template describes which blocks a piece of metadata owns (`owns`), which
 * bytes each pointer slot may read (`readSet`), and which arm a union holds (`getType`).
 *
 * Machine: 64 registers of unsigned 32 bits, `r0` reads as zero and is never written; arguments
 * arrive in `r1` (the slot index). An instruction is four int32 words `{op, a, b, c}`. Loads
 * (`ldw/ldh/ldb rA, rB, imm`: little-endian, address `rB + imm` relative to the metadata start)
 * are checked at run time against the read set the caller grants, so an `owns` run for slot k
 * sees only slot k's bytes. There are no stores (the opcodes exist only to be refused). `emit rA,
 * rB, T` adds the extent (block rA, count rB, type T); a zero block or count emits nothing (a nil
 * pointer), except that a byte extent (T = XN_BYTES) may start at offset 0. A run is bounded by an instruction budget and an extent limit. Division by zero gives
 * zero (deterministic, never a trap).
 */
import { XN_BYTES } from './codes.js';

/** Opcodes. */
export const OP = {
  RET: 0,
  MOVI: 1,
  MOV: 2,
  ADD: 3,
  SUB: 4,
  MUL: 5,
  DIV: 6,
  AND: 7,
  OR: 8,
  XOR: 9,
  SHL: 10,
  SHR: 11,
  ADDI: 12,
  SUBI: 13,
  MULI: 14,
  DIVI: 15,
  ANDI: 16,
  ORI: 17,
  XORI: 18,
  SHLI: 19,
  SHRI: 20,
  NEG: 21,
  NOT: 22,
  BEQ: 23,
  BNE: 24,
  BLT: 25,
  BLE: 26,
  BGT: 27,
  BGE: 28,
  BEQI: 29,
  BNEI: 30,
  BLTI: 31,
  BLEI: 32,
  BGTI: 33,
  BGEI: 34,
  J: 35,
  LDW: 36,
  LDH: 37,
  LDB: 38,
  EMIT: 39,
  STW: 40,
  STH: 41,
  STB: 42,
} as const;

/** Operand shapes: r = register, i = immediate, o = branch offset, t = type id. */
type Shape = 'r' | 'rr' | 'ri' | 'rrr' | 'rri' | 'rro' | 'rio' | 'o' | 'rrt';
const SHAPES: Record<number, Shape> = {};
const NAMES: string[] = [];
for (const [name, op] of Object.entries(OP)) NAMES[op] = name.toLowerCase();
const shape = (ops: number[], s: Shape): void => ops.forEach((o) => (SHAPES[o] = s));
shape([OP.RET], 'r');
shape([OP.MOVI], 'ri');
shape([OP.MOV, OP.NEG, OP.NOT], 'rr');
shape([OP.ADD, OP.SUB, OP.MUL, OP.DIV, OP.AND, OP.OR, OP.XOR, OP.SHL, OP.SHR], 'rrr');
shape([OP.ADDI, OP.SUBI, OP.MULI, OP.DIVI, OP.ANDI, OP.ORI, OP.XORI, OP.SHLI, OP.SHRI, OP.LDW, OP.LDH, OP.LDB, OP.STW, OP.STH, OP.STB], 'rri');
shape([OP.BEQ, OP.BNE, OP.BLT, OP.BLE, OP.BGT, OP.BGE], 'rro');
shape([OP.BEQI, OP.BNEI, OP.BLTI, OP.BLEI, OP.BGTI, OP.BGEI], 'rio');
shape([OP.J], 'o');
shape([OP.EMIT], 'rrt');

/** Registers per machine. */
export const UDF_REGS = 64;
/** Longest function, in instructions. Deviation: Xok allowed 46; 64 fits a 4-way slot dispatch. */
export const UDF_INST_MAX = 64;
/** Instructions one run may execute (Xok INST_BUDGET). */
export const UDF_BUDGET = 1024;
/** Extents one run may emit (Xok UDF_EXT_MAX). */
export const UDF_EXT_MAX = 8;

/** Run faults (negative) — a faulting owns run refuses the operation with XN_TYPE_ERROR. */
export const UDF_OK = 0;
export const UDF_FAULT_LOAD = -1;
export const UDF_FAULT_BUDGET = -2;
export const UDF_FAULT_EXTENTS = -3;
export const UDF_FAULT_OPCODE = -4;

/** Why a run faulted, in words. */
export function udfFaultText(f: number): string {
  switch (f) {
    case UDF_FAULT_LOAD:
      return 'load outside the granted read set';
    case UDF_FAULT_BUDGET:
      return `instruction budget (${UDF_BUDGET}) exhausted`;
    case UDF_FAULT_EXTENTS:
      return `more than ${UDF_EXT_MAX} extents emitted`;
    case UDF_FAULT_OPCODE:
      return 'invalid instruction';
    default:
      return 'ok';
  }
}

/** A byte range `[off, off + len)`. */
export interface Extent {
  off: number;
  len: number;
}

/** What a run produced: up to UDF_EXT_MAX (a, b, type) triples and the returned value. Reused. */
export class UdfOutput {
  readonly a = new Float64Array(UDF_EXT_MAX);
  readonly b = new Float64Array(UDF_EXT_MAX);
  readonly t = new Int32Array(UDF_EXT_MAX);
  n = 0;
  ret = 0;
}

const regs = new Float64Array(UDF_REGS);

function inSet(set: readonly Extent[] | null, addr: number, width: number): boolean {
  if (set === null) return false;
  for (const e of set) if (addr >= e.off && addr + width <= e.off + e.len) return true;
  return false;
}

/**
 * Run `code` over `mem[base, base + size)` with `r1 = arg`. Loads must fall inside `readSet`
 * (offsets relative to `base`; null forbids every load). Returns UDF_OK or a fault; results go to
 * `out`. Allocates nothing.
 */
export function runUdf(
  code: Int32Array,
  mem: Uint8Array,
  base: number,
  arg: number,
  readSet: readonly Extent[] | null,
  out: UdfOutput,
): number {
  regs.fill(0);
  regs[1] = arg >>> 0;
  out.n = 0;
  out.ret = 0;
  const n = code.length >> 2;
  let pc = 0;
  let budget = UDF_BUDGET;
  while (pc < n) {
    if (--budget < 0) return UDF_FAULT_BUDGET;
    const k = pc << 2;
    const op = code[k] as number;
    const a = code[k + 1] as number;
    const b = code[k + 2] as number;
    const c = code[k + 3] as number;
    pc++;
    let v = 0;
    switch (op) {
      case OP.RET:
        out.ret = regs[a] as number;
        return UDF_OK;
      case OP.MOVI:
        v = b >>> 0;
        break;
      case OP.MOV:
        v = regs[b] as number;
        break;
      case OP.ADD:
        v = ((regs[b] as number) + (regs[c] as number)) >>> 0;
        break;
      case OP.SUB:
        v = ((regs[b] as number) - (regs[c] as number)) >>> 0;
        break;
      case OP.MUL:
        v = Math.imul(regs[b] as number, regs[c] as number) >>> 0;
        break;
      case OP.DIV:
        v = regs[c] === 0 ? 0 : Math.floor((regs[b] as number) / (regs[c] as number)) >>> 0;
        break;
      case OP.AND:
        v = ((regs[b] as number) & (regs[c] as number)) >>> 0;
        break;
      case OP.OR:
        v = ((regs[b] as number) | (regs[c] as number)) >>> 0;
        break;
      case OP.XOR:
        v = ((regs[b] as number) ^ (regs[c] as number)) >>> 0;
        break;
      case OP.SHL:
        v = ((regs[b] as number) << ((regs[c] as number) & 31)) >>> 0;
        break;
      case OP.SHR:
        v = (regs[b] as number) >>> ((regs[c] as number) & 31);
        break;
      case OP.ADDI:
        v = ((regs[b] as number) + c) >>> 0;
        break;
      case OP.SUBI:
        v = ((regs[b] as number) - c) >>> 0;
        break;
      case OP.MULI:
        v = Math.imul(regs[b] as number, c) >>> 0;
        break;
      case OP.DIVI:
        v = c === 0 ? 0 : Math.floor((regs[b] as number) / (c >>> 0)) >>> 0;
        break;
      case OP.ANDI:
        v = ((regs[b] as number) & c) >>> 0;
        break;
      case OP.ORI:
        v = ((regs[b] as number) | c) >>> 0;
        break;
      case OP.XORI:
        v = ((regs[b] as number) ^ c) >>> 0;
        break;
      case OP.SHLI:
        v = ((regs[b] as number) << (c & 31)) >>> 0;
        break;
      case OP.SHRI:
        v = (regs[b] as number) >>> (c & 31);
        break;
      case OP.NEG:
        v = -(regs[b] as number) >>> 0;
        break;
      case OP.NOT:
        v = ~(regs[b] as number) >>> 0;
        break;
      case OP.J:
        pc += c;
        continue;
      case OP.LDW:
      case OP.LDH:
      case OP.LDB: {
        const width = op === OP.LDW ? 4 : op === OP.LDH ? 2 : 1;
        const addr = (regs[b] as number) + c;
        if (!inSet(readSet, addr, width)) return UDF_FAULT_LOAD;
        const p = base + addr;
        v = mem[p] as number;
        if (width >= 2) v |= (mem[p + 1] as number) << 8;
        if (width === 4) v = (v | ((mem[p + 2] as number) << 16) | ((mem[p + 3] as number) << 24)) >>> 0;
        break;
      }
      case OP.EMIT: {
        const x = regs[a] as number;
        const y = regs[b] as number;
        // A nil pointer (block 0 or count 0) emits nothing; a byte extent may start at 0.
        if (y !== 0 && (x !== 0 || c === XN_BYTES)) {
          if (out.n >= UDF_EXT_MAX) return UDF_FAULT_EXTENTS;
          out.a[out.n] = x;
          out.b[out.n] = y;
          out.t[out.n] = c;
          out.n++;
        }
        continue;
      }
      default:
        if (op >= OP.BEQ && op <= OP.BGEI) {
          const x = regs[a] as number;
          const y = op >= OP.BEQI ? b >>> 0 : (regs[b] as number);
          const rel = op >= OP.BEQI ? op - OP.BEQI : op - OP.BEQ;
          const taken = rel === 0 ? x === y : rel === 1 ? x !== y : rel === 2 ? x < y : rel === 3 ? x <= y : rel === 4 ? x > y : x >= y;
          if (taken) pc += c;
          continue;
        }
        return UDF_FAULT_OPCODE;
    }
    if (a !== 0) regs[a] = v;
  }
  return UDF_OK; // falling off the end returns 0
}

/** One static problem with a function, or null. `emitTypes` says which EMIT types are legal. */
export function checkUdf(code: Int32Array, opts: { allowLoads: boolean; emitOk: (t: number) => string | null }): string | null {
  if (code.length % 4 !== 0) return 'function is not a whole number of instructions';
  const n = code.length >> 2;
  if (n > UDF_INST_MAX) return `function too long (${n} > ${UDF_INST_MAX} instructions)`;
  for (let pc = 0; pc < n; pc++) {
    const op = code[pc * 4] as number;
    const a = code[pc * 4 + 1] as number;
    const b = code[pc * 4 + 2] as number;
    const c = code[pc * 4 + 3] as number;
    const sh = SHAPES[op];
    if (sh === undefined) return `unknown opcode ${op} at instruction ${pc}`;
    if (op === OP.STW || op === OP.STH || op === OP.STB) return `store instruction at ${pc}: UDFs may not store`;
    const reg = (r: number) => Number.isInteger(r) && r >= 0 && r < UDF_REGS;
    const regsUsed = sh === 'rrr' ? [a, b, c] : sh === 'rr' || sh === 'rri' || sh === 'rro' || sh === 'rrt' ? [a, b] : sh === 'r' || sh === 'ri' || sh === 'rio' ? [a] : [];
    for (const r of regsUsed) if (!reg(r)) return `register r${r} out of range at instruction ${pc}`;
    const writesA = sh === 'ri' || sh === 'rr' || sh === 'rrr' || sh === 'rri';
    if (writesA && a === 0) return `instruction ${pc} writes r0, which is read-only`;
    if (sh === 'rro' || sh === 'rio' || sh === 'o') {
      const target = pc + 1 + c;
      if (target < 0 || target > n) return `branch at ${pc} jumps outside the function (to ${target})`;
    }
    if ((op === OP.LDW || op === OP.LDH || op === OP.LDB) && !opts.allowLoads) return `load at ${pc}: this function may not read metadata`;
    if (op === OP.EMIT) {
      const why = opts.emitOk(c);
      if (why !== null) return `emit at ${pc}: ${why}`;
    }
  }
  return null;
}

/** Text of one function, one instruction per line (`pc: op operands`). */
export function disassemble(code: Int32Array): string[] {
  const lines: string[] = [];
  for (let pc = 0; pc < code.length >> 2; pc++) {
    const op = code[pc * 4] as number;
    const a = code[pc * 4 + 1] as number;
    const b = code[pc * 4 + 2] as number;
    const c = code[pc * 4 + 3] as number;
    const name = NAMES[op] ?? `op${op}`;
    const sh = SHAPES[op];
    const tgt = (o: number) => `@${pc + 1 + o}`;
    const args =
      sh === 'r' ? `r${a}`
      : sh === 'ri' ? `r${a}, ${b}`
      : sh === 'rr' ? `r${a}, r${b}`
      : sh === 'rrr' ? `r${a}, r${b}, r${c}`
      : sh === 'rri' ? `r${a}, r${b}, ${c}`
      : sh === 'rro' ? `r${a}, r${b}, ${tgt(c)}`
      : sh === 'rio' ? `r${a}, ${b}, ${tgt(c)}`
      : sh === 'o' ? tgt(c)
      : sh === 'rrt' ? `r${a}, r${b}, ${c === -1 ? 'self' : c}`
      : `${a}, ${b}, ${c}`;
    lines.push(`${String(pc).padStart(2)}: ${name} ${args}`);
  }
  return lines;
}

/**
 * Assemble text (one instruction per line; `;` comments; `name:` labels; branch targets are
 * labels or `@pc`; `self` names the type being defined). Throws on a syntax error: this runs in
 * the libFS that builds a template, never on kernel input.
 */
export function assemble(text: string): Int32Array {
  const lines = text.split('\n').map((l) => l.replace(/;.*/, '').trim()).filter((l) => l !== '');
  const labels = new Map<string, number>();
  const insts: string[] = [];
  for (const l of lines) {
    const m = /^([A-Za-z_][\w]*):\s*(.*)$/.exec(l);
    if (m !== null) {
      labels.set(m[1] as string, insts.length);
      if ((m[2] ?? '') !== '') insts.push(m[2] as string);
    } else insts.push(l);
  }
  const out = new Int32Array(insts.length * 4);
  insts.forEach((src, pc) => {
    const sp = src.indexOf(' ');
    const name = (sp < 0 ? src : src.slice(0, sp)).toUpperCase();
    const args = sp < 0 ? [] : src.slice(sp + 1).split(',').map((s) => s.trim());
    const op = (OP as Record<string, number>)[name];
    if (op === undefined) throw new SyntaxError(`unknown instruction "${name}" at ${pc}`);
    const sh = SHAPES[op] as Shape;
    const reg = (s: string | undefined) => {
      const m = /^r(\d+)$/.exec(s ?? '');
      if (m === null) throw new SyntaxError(`register expected, got "${s ?? ''}" at ${pc}`);
      return Number(m[1]);
    };
    const imm = (s: string | undefined) => {
      if (s === 'self') return -1;
      const v = Number(s);
      if (s === undefined || s === '' || !Number.isFinite(v)) throw new SyntaxError(`number expected, got "${s ?? ''}" at ${pc}`);
      return v | 0;
    };
    const off = (s: string | undefined) => {
      if (s?.startsWith('@') === true) return Number(s.slice(1)) - pc - 1;
      const t = labels.get(s ?? '');
      if (t === undefined) throw new SyntaxError(`unknown label "${s ?? ''}" at ${pc}`);
      return t - pc - 1;
    };
    const w = [op, 0, 0, 0];
    if (sh === 'r') w[1] = reg(args[0]);
    else if (sh === 'ri') [w[1], w[2]] = [reg(args[0]), imm(args[1])];
    else if (sh === 'rr') [w[1], w[2]] = [reg(args[0]), reg(args[1])];
    else if (sh === 'rrr') [w[1], w[2], w[3]] = [reg(args[0]), reg(args[1]), reg(args[2])];
    else if (sh === 'rri') [w[1], w[2], w[3]] = [reg(args[0]), reg(args[1]), imm(args[2])];
    else if (sh === 'rro') [w[1], w[2], w[3]] = [reg(args[0]), reg(args[1]), off(args[2])];
    else if (sh === 'rio') [w[1], w[2], w[3]] = [reg(args[0]), imm(args[1]), off(args[2])];
    else if (sh === 'o') w[3] = off(args[0]);
    else [w[1], w[2], w[3]] = [reg(args[0]), reg(args[1]), imm(args[2])];
    out.set(w, pc * 4);
  });
  return out;
}
