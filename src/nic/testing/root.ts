/**
 * Test gating for suites that need root (TAP devices, network namespaces): they run as root,
 * skip with a clear message otherwise, and in CI (`CI=true`) a missing root is a failure, not a
 * skip.
 */
import { describe, it } from 'vitest';

export const IS_ROOT = process.getuid?.() === 0;

/** `describe` that needs root; see the module comment. */
export function describeAsRoot(name: string, body: () => void): void {
  if (IS_ROOT) {
    describe(name, body);
  } else if (process.env['CI'] === 'true') {
    describe(name, () => {
      it('runs as root (CI=true turns this skip into a failure)', () => {
        throw new Error(`${name}: needs root (CAP_NET_ADMIN and /dev/net/tun); CI must run it`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: needs root for TAP devices and network namespaces]`, body);
  }
}
