/**
 * XN templates as a library file system builds them (dpf-xn-cheetah-facts §2.3): the template
 * description, its binary form (what `type_import` takes and the catalogue stores), and the UDF
 * instruction set with a text assembler and a disassembler. User side only: the kernel decodes
 * and verifies what it is given (`src/kernel/xn/template.ts`) and never trusts this encoder.
 *
 * Binary form (little-endian 32-bit words): magic "XNT1", class (1 base, 2 struct, 3 union),
 * nbytes, 20 words of NUL-padded name (80 bytes), then
 * base: nslots, nRawRead, nRawWrite, ownsInsts, readSetInsts, extents (off,len)…, code words;
 * struct: nMembers, member ids; union: taOff, taLen, nArms, arm ids, getTypeInsts, code words.
 *
 * UDF machine: 64 registers of unsigned 32 bits, `r0` reads as zero and is never written; `r1`
 * holds the argument (the slot index). An instruction is four int32 words `{op, a, b, c}`.
 * Loads (`ldw/ldh/ldb rA, rB, imm`: little-endian, address `rB + imm` relative to the metadata)
 * are checked at run time against the slot's read set. `emit rA, rB, T` adds the extent (block
 * rA, count rB, type T; `self` = the type being defined; XN_BYTES = a byte extent, for read-set
 * functions). There are no stores (their opcodes exist only to be refused). Division by zero
 * gives 0.
 */
import { XN_SELF_TYPE } from './xn.js';

/** A byte range `[off, off + len)` of a piece of metadata. */
export interface Extent {
  off: number;
  len: number;
}

/** A template as a libFS writes it. */
export type TemplateSpec =
  | {
      cls: 'base';
      name: string;
      nbytes: number;
      nslots: number;
      rawRead: Extent[];
      rawWrite: Extent[];
      owns: Int32Array;
      readSet: Int32Array;
    }
  | { cls: 'struct'; name: string; members: number[] }
  | { cls: 'union'; name: string; nbytes: number; typeAccess: Extent; getType: Int32Array; arms: number[] };

/** "XNT1", the first word of every encoded template. */
export const TEMPLATE_MAGIC = 0x31544e58;
/** Words of the NUL-padded name (80 bytes). */
export const TEMPLATE_NAME_WORDS = 20;
/** Most pointer slots of a base type. */
export const MAX_SLOTS = 1024;
/** Most raw extents of each kind in a base type. */
export const MAX_RAW_EXTENTS = 16;
/** Most members of a struct (Xok: 48). */
export const MAX_MEMBERS = 48;
/** Most arms of a union. */
export const MAX_ARMS = 16;
/** Largest encoded template (bytes): 4 blocks. */
export const MAX_TEMPLATE_BYTES = 4 * 4096;
/** Bytes of every allocatable type (one block). */
export const BLOCK_TYPE_BYTES = 4096;

/** Registers per machine. */
export const UDF_REGS = 64;
/** Longest function, in instructions. Deviation: Xok allowed 46; 64 fits a 4-way slot dispatch. */
export const UDF_INST_MAX = 64;
/** Instructions one run may execute (Xok INST_BUDGET). */
export const UDF_BUDGET = 1024;
/** Extents one run may emit (Xok UDF_EXT_MAX). */
export const UDF_EXT_MAX = 8;

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
export type OpShape = 'r' | 'rr' | 'ri' | 'rrr' | 'rri' | 'rro' | 'rio' | 'o' | 'rrt';
const SHAPES: Record<number, OpShape> = {};
const NAMES: string[] = [];
for (const [name, op] of Object.entries(OP)) NAMES[op] = name.toLowerCase();
const shape = (ops: number[], s: OpShape): void => ops.forEach((o) => (SHAPES[o] = s));
shape([OP.RET], 'r');
shape([OP.MOVI], 'ri');
shape([OP.MOV, OP.NEG, OP.NOT], 'rr');
shape([OP.ADD, OP.SUB, OP.MUL, OP.DIV, OP.AND, OP.OR, OP.XOR, OP.SHL, OP.SHR], 'rrr');
shape([OP.ADDI, OP.SUBI, OP.MULI, OP.DIVI, OP.ANDI, OP.ORI, OP.XORI, OP.SHLI, OP.SHRI, OP.LDW, OP.LDH, OP.LDB, OP.STW, OP.STH, OP.STB], 'rri');
shape([OP.BEQ, OP.BNE, OP.BLT, OP.BLE, OP.BGT, OP.BGE], 'rro');
shape([OP.BEQI, OP.BNEI, OP.BLTI, OP.BLEI, OP.BGTI, OP.BGEI], 'rio');
shape([OP.J], 'o');
shape([OP.EMIT], 'rrt');

/** The operand shape of opcode `op`, or undefined for an unknown opcode. */
export function opShape(op: number): OpShape | undefined {
  return SHAPES[op];
}

/** Encode a template to its binary form (what `type_import` takes). */
export function encodeTemplate(spec: TemplateSpec): Uint8Array {
  const w: number[] = [TEMPLATE_MAGIC, spec.cls === 'base' ? 1 : spec.cls === 'struct' ? 2 : 3, 'nbytes' in spec ? spec.nbytes : 0];
  const name = new Uint8Array(TEMPLATE_NAME_WORDS * 4);
  name.set(new TextEncoder().encode(spec.name).subarray(0, TEMPLATE_NAME_WORDS * 4));
  const nv = new DataView(name.buffer);
  for (let i = 0; i < TEMPLATE_NAME_WORDS; i++) w.push(nv.getUint32(i * 4, true));
  if (spec.cls === 'base') {
    w.push(spec.nslots, spec.rawRead.length, spec.rawWrite.length, spec.owns.length >> 2, spec.readSet.length >> 2);
    for (const e of [...spec.rawRead, ...spec.rawWrite]) w.push(e.off, e.len);
    w.push(...spec.owns, ...spec.readSet);
  } else if (spec.cls === 'struct') {
    w.push(spec.members.length, ...spec.members);
  } else {
    w.push(spec.typeAccess.off, spec.typeAccess.len, spec.arms.length, ...spec.arms, spec.getType.length >> 2, ...spec.getType);
  }
  const out = new Uint8Array(w.length * 4);
  const dv = new DataView(out.buffer);
  w.forEach((x, i) => dv.setInt32(i * 4, x | 0, true));
  return out;
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
      : sh === 'rrt' ? `r${a}, r${b}, ${c === XN_SELF_TYPE ? 'self' : c}`
      : `${a}, ${b}, ${c}`;
    lines.push(`${String(pc).padStart(2)}: ${name} ${args}`);
  }
  return lines;
}

/**
 * Assemble text (one instruction per line; `;` comments; `name:` labels; branch targets are
 * labels or `@pc`; `self` names the type being defined). Throws a SyntaxError on bad text: it
 * runs in the library file system that builds a template, never on kernel input.
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
    const sh = SHAPES[op] as OpShape;
    const reg = (s: string | undefined) => {
      const m = /^r(\d+)$/.exec(s ?? '');
      if (m === null) throw new SyntaxError(`register expected, got "${s ?? ''}" at ${pc}`);
      return Number(m[1]);
    };
    const imm = (s: string | undefined) => {
      if (s === 'self') return XN_SELF_TYPE;
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
