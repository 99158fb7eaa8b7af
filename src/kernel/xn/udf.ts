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
import { OP, opShape, UDF_BUDGET, UDF_EXT_MAX, UDF_INST_MAX, UDF_REGS, type Extent } from '../abi/xn-template.js';
import { XN_BYTES } from '../abi/xn.js';

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
    const sh = opShape(op);
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
