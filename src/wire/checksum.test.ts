import { describe, expect, it } from 'vitest';
import {
  combineSums,
  finishSum,
  foldSum,
  partialSum,
  pseudoHeaderSum,
  sumVerifies,
  swapSum16,
  updateChecksum16,
  updateChecksum32,
} from './checksum.js';
import { hexBytes } from './hex.js';

describe('Internet checksum (RFC 1071)', () => {
  it('matches the worked example of RFC 1071 §3 (00 01 f2 03 f4 f5 f6 f7 → sum ddf2)', () => {
    const b = hexBytes('00 01 f2 03 f4 f5 f6 f7');
    expect(foldSum(partialSum(b, 0, b.length))).toBe(0xddf2);
    expect(finishSum(partialSum(b, 0, b.length))).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(partialSum(hexBytes('ab'), 0, 1)).toBe(0xab00);
    expect(partialSum(hexBytes('12 34 ab'), 0, 3)).toBe(0x1234 + 0xab00);
  });

  it('sums a sub-range only, and adds the initial value', () => {
    const b = hexBytes('ff ff 00 01 00 02 ff ff');
    expect(partialSum(b, 2, 4, 7)).toBe(7 + 1 + 2);
  });

  it('stays exact past the internal fold chunks (128 KiB of 0xff)', () => {
    const b = new Uint8Array(131_072 + 3).fill(0xff);
    expect(foldSum(partialSum(b, 0, b.length))).toBe(foldSum(65_537 * 0xffff + 0xff00));
    expect(partialSum(b, 0, 255)).toBe(127 * 0xffff + 0xff00);
  });

  it('verifies a real IPv4 header captured from Linux', () => {
    const ip = hexBytes('45 00 00 3c b1 bd 40 00 40 06 04 fb c0 00 02 01 c0 00 02 02');
    expect(sumVerifies(ip, 0, ip.length)).toBe(true);
    ip[8] = 63;
    expect(sumVerifies(ip, 0, ip.length)).toBe(false);
  });

  it('byte-swaps the second sum when the first range has an odd length (RFC 1071 §2(B))', () => {
    const b = hexBytes('01 02 03 04 05 06 07');
    const whole = foldSum(partialSum(b, 0, 7));
    expect(foldSum(combineSums(partialSum(b, 0, 3), partialSum(b, 3, 4), 3))).toBe(whole);
    expect(foldSum(combineSums(partialSum(b, 0, 4), partialSum(b, 4, 3), 4))).toBe(whole);
    expect(swapSum16(0x1234)).toBe(0x3412);
  });

  it('pseudo-header sum splits addresses into 16-bit words', () => {
    expect(pseudoHeaderSum(0xc0000201, 0xc0000202, 6, 40)).toBe(0xc000 + 0x0201 + 0xc000 + 0x0202 + 6 + 40);
  });
});

describe('incremental update (RFC 1624)', () => {
  it('eqn. 3 on the RFC 1624 §4 example gives 0x0000 where eqn. 2 would give 0xffff', () => {
    // RFC 1624 §4: header sums to 0xcd7a before; a 16-bit field changes 0x5555 → 0x3285.
    expect(updateChecksum16(0xdd2f, 0x5555, 0x3285)).toBe(0x0000);
  });

  it('a TTL decrement updated incrementally verifies', () => {
    const ip = hexBytes('45 00 00 3c b1 bd 40 00 40 06 04 fb c0 00 02 01 c0 00 02 02');
    const oldWord = (ip[8]! << 8) | ip[9]!;
    ip[8] = ip[8]! - 1;
    const c = updateChecksum16((ip[10]! << 8) | ip[11]!, oldWord, (ip[8]! << 8) | ip[9]!);
    ip[10] = c >>> 8;
    ip[11] = c & 0xff;
    expect(sumVerifies(ip, 0, ip.length)).toBe(true);
  });

  it('a 32-bit field (address rewrite) updated incrementally verifies', () => {
    const ip = hexBytes('45 00 00 3c b1 bd 40 00 40 06 04 fb c0 00 02 01 c0 00 02 02');
    const c = updateChecksum32(0x04fb, 0xc0000201, 0x0a000001);
    ip.set([10, 0, 0, 1], 12);
    ip[10] = c >>> 8;
    ip[11] = c & 0xff;
    expect(sumVerifies(ip, 0, ip.length)).toBe(true);
  });
});
