/**
 * Root gate for tests that need CAP_NET_ADMIN (TAPs, namespaces). Outside root they skip with a
 * clear message; in CI (`CI=true`, where we run as root) a missing capability is a failure, so
 * the TAP tests can never be skipped silently there.
 */
export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;
export const IN_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';

/** Reason a root-only suite cannot run here, or undefined when it can. Throws in CI. */
export function rootSkipReason(): string | undefined {
  if (IS_ROOT) return undefined;
  if (IN_CI) throw new Error('CI=true but not running as root: TAP/namespace tests must run in CI');
  return 'needs root (CAP_NET_ADMIN, /dev/net/tun, ip netns): skipped';
}
