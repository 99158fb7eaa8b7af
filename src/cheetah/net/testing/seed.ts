/**
 * Test support (not used by the stack): one fast-check seed per test file, printed so a failure
 * can be replayed with `SEED=<n>`.
 */
import fc from 'fast-check';

/** Configure fast-check's global seed from `SEED` (or a fresh one), print it, return it. */
export function useSeed(label: string): number {
  const env = process.env['SEED'];
  const seed = env !== undefined && env !== '' ? Number(env) : Math.floor(Math.random() * 2 ** 31);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
  console.info(`${label}: fast-check seed ${seed} (reproduce with SEED=${seed})`);
  return seed;
}
