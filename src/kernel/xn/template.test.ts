/** UDF verifier: tables of accepted and refused templates with the expected reason. */
import { describe, expect, it } from 'vitest';
import { XN_DB } from '../abi/xn.js';
import { dirTemplate } from './testing/libfs.js';
import { blockArmTemplate, DISC_BLOCK, DISC_EXTENT, extentArmTemplate, headerTemplate, inodeOff, inodeTemplate, itableTemplate } from './testing/itable-format.js';
import { assemble, disassemble, encodeTemplate, type TemplateSpec } from '../abi/xn-template.js';
import { activeBase, decodeTemplate, DB_TYPE, importTemplate, verifyTemplate, type TypeEnv, type XnType } from './template.js';
import { runUdf, UdfOutput } from './udf.js';

const env = (id: number): XnType | undefined => (id === XN_DB ? DB_TYPE : undefined);

/** The inode-table format's member types, verified in dependency order: header 5, arms 6 and 7, inode union 8, and a 512-byte struct {header, inode} 9. */
const HDR = 5;
const EXT = 6;
const BLK = 7;
const INODE = 8;
const PAIR = 9;
const itab = new Map<number, XnType>();
const itEnv: TypeEnv = (id) => (id === XN_DB ? DB_TYPE : itab.get(id));
const itabSpecs: [number, TemplateSpec][] = [
  [HDR, headerTemplate()],
  [EXT, extentArmTemplate()],
  [BLK, blockArmTemplate()],
  [INODE, inodeTemplate(EXT, BLK)],
  [PAIR, { cls: 'struct', name: 'pair', members: [HDR, INODE] }],
];
for (const [id, spec] of itabSpecs) {
  const r = verifyTemplate(spec, id, itEnv);
  if (!r.ok) throw new Error(`${spec.name}: ${r.reason}`);
  itab.set(id, r.type);
}
const union = (over: Partial<Extract<TemplateSpec, { cls: 'union' }>>): TemplateSpec => ({ ...(inodeTemplate(EXT, BLK) as Extract<TemplateSpec, { cls: 'union' }>), ...over });
const base = (over: Partial<Extract<TemplateSpec, { cls: 'base' }>>): TemplateSpec => ({
  cls: 'base',
  name: 'ptrs',
  nbytes: 4096,
  nslots: 4,
  rawRead: [],
  rawWrite: [{ off: 16, len: 4080 }],
  owns: assemble('muli r2, r1, 4\nldw r3, r2, 0\nmovi r4, 1\nemit r3, r4, 4\nret r0'),
  readSet: assemble('muli r2, r1, 4\nmovi r3, 4\nemit r2, r3, 3\nret r0'),
  ...over,
});

describe('UDF verifier', () => {
  const accepted: [string, TemplateSpec, TypeEnv][] = [
    ['a 4-slot pointer array', base({}), env],
    ['the libfs directory (self pointers, two slot kinds)', dirTemplate(), env],
    ['a pointer-free type', base({ nslots: 0, rawWrite: [{ off: 0, len: 4096 }] }), env],
    ['a sub-block base type with several pointer slots (the inode-table header)', headerTemplate(), env],
    ['a union whose discriminator selects one of two owns functions over the same bytes', inodeTemplate(EXT, BLK), itEnv],
    ['a one-block struct of a header and fifteen union members', itableTemplate(HDR, INODE), itEnv],
    ['a struct of structs (flattened to one block)', { cls: 'struct', name: 'pairs', members: Array.from({ length: 8 }, () => PAIR) }, itEnv],
    ['a union with a one-byte discriminator in the middle of the member', union({ typeAccess: { off: 5, len: 1 }, getType: assemble(`ldb r2, r0, 5\nbeqi r2, 1, a\nret r0\na: movi r3, ${EXT}\nret r3`) }), itEnv],
  ];
  it.each(accepted)('accepts %s', (_n, spec, e) => {
    const r = verifyTemplate(spec, 10, e);
    expect(r.ok ? 'ok' : r.reason).toBe('ok');
  });

  it('flattens a struct into its base and union members, one block, with pointers', () => {
    const r = verifyTemplate(itableTemplate(HDR, INODE), 10, itEnv);
    if (!r.ok) throw new Error(r.reason);
    expect(r.type).toMatchObject({ cls: 'struct', nbytes: 4096, allocatable: true, hasPointers: true });
    expect(r.type.members.map((m) => [m.off, m.type.id])).toEqual([[0, HDR], ...Array.from({ length: 15 }, (_v, i) => [inodeOff(i), INODE])]);
    const nested = verifyTemplate({ cls: 'struct', name: 'pairs', members: Array.from({ length: 8 }, () => PAIR) }, 10, itEnv);
    if (!nested.ok) throw new Error(nested.reason);
    expect(nested.type.members.map((m) => m.off)).toEqual(Array.from({ length: 16 }, (_v, i) => 256 * i));
  });

  it('a union’s discriminator selects the owns function: the same bytes own an extent under one arm and single blocks under the other', () => {
    const inode = itab.get(INODE) as XnType;
    const mem = new Uint8Array(512);
    const dv = new DataView(mem.buffer);
    // The inode at byte 256 of `mem`: pointer bytes [8, 16) = {1000, 3}.
    dv.setUint32(256 + 8, 1000, true);
    dv.setUint32(256 + 12, 3, true);
    const o = new UdfOutput();
    const owned = (slot: number) => {
      const arm = activeBase(inode, mem, 256, itEnv);
      if (arm === null) return 'NIL';
      expect(runUdf(arm.owns, mem, 256, slot, arm.readSets[slot]!, o)).toBe(0);
      return Array.from({ length: o.n }, (_v, k) => `${o.a[k]}+${o.b[k]}`).join(',');
    };
    expect(owned(0)).toBe('NIL');
    dv.setUint32(256, DISC_EXTENT, true);
    expect([owned(0), owned(1)]).toEqual(['1000+3', '']);
    dv.setUint32(256, DISC_BLOCK, true);
    expect([owned(0), owned(1), owned(2)]).toEqual(['1000+1', '3+1', '']);
    dv.setUint32(256, 9, true);
    expect(owned(0)).toBe('NIL'); // not an arm
  });

  // Slot 0 reads bytes [0, 4): readSet(0) emits offset 0 → nil; so these read sets start at 4.
  const refused: [string, TemplateSpec, RegExp, TypeEnv?][] = [
    ['a store instruction', base({ owns: assemble('stw r1, r0, 0\nret r0') }), /store instruction/],
    ['an over-long function', base({ owns: assemble('movi r2, 1\n'.repeat(65)) }), /too long/],
    ['a write to r0', base({ owns: assemble('movi r0, 5\nret r0') }), /writes r0/],
    ['a branch out of the function', base({ owns: new Int32Array([35, 0, 0, 9]) }), /outside the function/],
    ['an unknown opcode', base({ owns: new Int32Array([99, 0, 0, 0]) }), /unknown opcode/],
    ['a register out of range', base({ owns: new Int32Array([2, 70, 1, 0]) }), /out of range/],
    ['overlapping read sets', base({ readSet: assemble('muli r2, r1, 2\naddi r2, r2, 4\nmovi r3, 4\nemit r2, r3, 3\nret r0') }), /read sets of slots 0 and 1 overlap/],
    ['a raw-write extent over a pointer', base({ rawWrite: [{ off: 8, len: 100 }] }), /overlaps slot/],
    ['zeroed metadata that owns something', base({ owns: assemble('movi r3, 100\nmovi r4, 1\nemit r3, r4, 4\nret r0') }), /zeroed metadata must own nothing/],
    ['a read-set function that loads', base({ readSet: assemble('ldw r2, r0, 0\nret r0') }), /may not read metadata/],
    ['owns emitting byte extents', base({ owns: assemble('movi r3, 1\nemit r3, r3, 3\nret r0') }), /may not emit byte extents/],
    ['owns emitting an unknown type', base({ owns: assemble('emit r3, r4, 77\nret r0') }), /unknown type 77/],
    ['a load outside the slot read set', base({ owns: assemble('ldw r3, r0, 100\nret r0') }), /faults: load outside/],
    ['an endless loop', base({ owns: assemble('top: j top') }), /budget/],
    ['a read set outside the type', base({ nbytes: 64, rawWrite: [], readSet: assemble('muli r2, r1, 40\naddi r2, r2, 4\nmovi r3, 8\nemit r2, r3, 3\nret r0') }), /outside the 64-byte type/],
    ['a raw extent outside the type', base({ rawWrite: [{ off: 4000, len: 200 }] }), /outside the 4096-byte type/],
    ['a self pointer from a sub-block type', base({ nbytes: 128, rawWrite: [], owns: assemble('emit r3, r4, self\nret r0') }), /self-pointers need/],
    ['a union with a non-NIL zero discriminator', { cls: 'union', name: 'u', nbytes: 4096, typeAccess: { off: 0, len: 4 }, getType: assemble('movi r2, 4\nret r2'), arms: [] } as TemplateSpec, /must be NIL/],
    ['a union arm of another size', { cls: 'union', name: 'u', nbytes: 128, typeAccess: { off: 0, len: 4 }, getType: assemble('ldw r2, r0, 0\nret r2'), arms: [XN_DB] } as TemplateSpec, /not a loaded base type|same size/],
    ['a struct of unknown members', { cls: 'struct', name: 's', members: [42] } as TemplateSpec, /not a loaded user type/],
    ['a struct larger than a block', { cls: 'struct', name: 's', members: Array.from({ length: 17 }, () => HDR) }, /struct larger than 4096/, itEnv],
    ['a struct with a built-in member', { cls: 'struct', name: 's', members: [HDR, XN_DB] }, /not a loaded user type/, itEnv],
    ['a union arm whose read set covers the discriminator', union({ typeAccess: { off: 8, len: 4 }, getType: assemble('ldw r2, r0, 8\nret r2') }), /read set overlaps the discriminator/, itEnv],
    ['a union arm whose raw-write extent covers the discriminator', union({ typeAccess: { off: 100, len: 4 }, getType: assemble('ldw r2, r0, 100\nret r2') }), /raw-write extent overlaps the discriminator/, itEnv],
    ['a discriminator longer than 32 bytes', union({ typeAccess: { off: 0, len: 33 } }), /at most 32 bytes/, itEnv],
    ['a union arm that is itself a union', union({ arms: [EXT, INODE] }), /arm 8 is not a loaded base type/, itEnv],
    ['a union arm that is a struct', union({ arms: [PAIR] }), /arm 9 is not a loaded base type/, itEnv],
    ['a get-type function that emits', union({ getType: assemble('movi r2, 1\nemit r2, r2, 4\nret r0') }), /get-type may not emit/, itEnv],
    ['a get-type function reading outside the discriminator', union({ getType: assemble('ldw r2, r0, 40\nret r2') }), /getType on a zero discriminator faults/, itEnv],
  ];
  it.each(refused)('refuses %s', (_n, spec, why, e = env) => {
    const r = verifyTemplate(spec, 10, e);
    expect(r.ok ? 'accepted' : r.reason).toMatch(why);
  });

  it('refuses malformed encodings without throwing', () => {
    const good = encodeTemplate(base({}));
    expect(importTemplate(good, 5, env).ok).toBe(true);
    const bad = good.slice();
    bad[0] = 0;
    expect(decodeTemplate(bad)).toMatch(/bad magic/);
    const noNul = good.slice();
    noNul.fill(65, 12, 92);
    expect(decodeTemplate(noNul)).toMatch(/NUL-terminated/);
    expect(decodeTemplate(good.subarray(0, 50))).toMatch(/truncated|multiple of 4/);
    for (let cut = 0; cut < good.length; cut += 4) expect(typeof decodeTemplate(good.subarray(0, cut))).toBe('string');
    const junk = new Uint8Array(400);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 37) & 0xff;
    expect(importTemplate(junk, 5, env).ok).toBe(false);
  });

  it('round-trips templates and assembly, and prints code', () => {
    const spec = dirTemplate();
    const back = decodeTemplate(encodeTemplate(spec));
    expect(back).toEqual(spec);
    const text = disassemble(spec.cls === 'base' ? spec.owns : new Int32Array());
    expect(text[0]).toMatch(/bgei r1, 64, @6/);
    const o = new UdfOutput();
    const mem = new Uint8Array(4096);
    new DataView(mem.buffer).setUint32(64 + 8 * 3, 1234, true);
    new DataView(mem.buffer).setUint32(68 + 8 * 3, 2, true);
    const t = verifyTemplate(spec, 9, env);
    if (!t.ok) throw new Error(t.reason);
    expect(runUdf(t.type.owns, mem, 0, 3, t.type.readSets[3]!, o)).toBe(0);
    expect([o.n, o.a[0], o.b[0], o.t[0]]).toEqual([1, 1234, 2, XN_DB]);
  });
});
