/**
 * `cheetah [--port N] [--card NAME]…` — the web server (src/cheetah). The daemon starts one at
 * boot with the `cheetah` config section and its view for the admin API (`cheetahProgram`); an
 * instance started from the admin API (`POST /v1/procs`) runs with defaults and the arguments,
 * publishes nothing, and cannot claim a port another process's filters already claim (DPF's
 * protection: its listener attach is refused, it exits with that errno).
 */
import { randomBytes } from 'node:crypto';
import type { Libc } from '../kernel/abi/index.js';
import { runCheetah, type CheetahOptions, type CheetahView } from '../cheetah/index.js';

/** Bytes of entropy a Cheetah gets at start (its ISN, cookie and timestamp secrets), as Linux's AT_RANDOM. */
const SEED_BYTES = 32;

/** The program the daemon spawns at boot: `options` from its config, `view` shared with the admin API. */
export function cheetahProgram(options: Partial<CheetahOptions>, view: CheetahView): (sys: Libc) => Promise<number> {
  return (sys) => runCheetah(sys, options, { seed: randomBytes(SEED_BYTES), view });
}

/** `cheetah [--port N] [--card NAME]…`; usage errors exit with EINVAL (22). */
export async function cheetahMain(sys: Libc, args: readonly string[]): Promise<number> {
  const cards: string[] = [];
  let port = 80;
  for (let i = 0; i < args.length; i += 2) {
    const value = args[i + 1];
    if (value === undefined) return 22;
    if (args[i] === '--port' && /^[0-9]{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65_535) port = Number(value);
    else if (args[i] === '--card') cards.push(value);
    else return 22;
  }
  return runCheetah(sys, { port, cards }, { seed: randomBytes(SEED_BYTES) });
}
