/**
 * @module programs
 *
 * The machine's built-in programs — its `/bin`. Each is a user process: it may import only the
 * ABI (`src/kernel/abi`), `src/wire` and `src/util` (scripts/check-layers.mjs), and reaches the
 * kernel only through the `sys` it is given. The admin API starts them (`POST /v1/procs`); the
 * daemon starts Cheetah at boot.
 */
import type { Libc } from '../kernel/abi/index.js';
import { cheetahMain } from './cheetah.js';
import { pktsend } from './pktsend.js';
import { udpecho } from './udpecho.js';

export { cheetahProgram } from './cheetah.js';

export interface ProgramSpec {
  description: string;
  /** Credential the program runs with unless the request says otherwise. */
  defaultUid: number;
  /** Memory of the process, bytes. */
  memoryBytes: number;
  main(sys: Libc, args: readonly string[]): Promise<number | void> | number | void;
}

export const PROGRAMS: Readonly<Record<string, ProgramSpec>> = {
  cheetah: {
    description: 'cheetah [--port N] [--card NAME]...: the web server on DPF sockets (the daemon starts one at boot; uid 0 only)',
    defaultUid: 0,
    memoryBytes: 64 * 1024 * 1024,
    main: cheetahMain,
  },
  pktsend: {
    description: 'pktsend CARD HEXFRAME [COUNT]: send a raw Ethernet frame through a packet socket (uid 0 only)',
    defaultUid: 0,
    memoryBytes: 1 << 20,
    main: pktsend,
  },
  udpecho: {
    description: 'udpecho CARD PORT [COUNT]: echo UDP datagrams sent to the machine’s address on CARD, port PORT, through an AF_DPF socket; ends after COUNT (0: never) or on SIGTERM (uid 0 only)',
    defaultUid: 0,
    memoryBytes: 1 << 20,
    main: udpecho,
  },
};
