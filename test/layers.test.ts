import { describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM script without types
import { checkLayers } from '../scripts/check-layers.mjs';
import { packageRoot } from '../src/util/package-root.js';

describe('layering (DESIGN.md §2)', () => {
  it('every import points down, Cheetah sees only the ABI, dynamic code only in DPF codegen', () => {
    expect((checkLayers as (root: string) => string[])(packageRoot())).toEqual([]);
  });
});
