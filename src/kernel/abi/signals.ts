/**
 * Signal numbers (Linux x86-64) and their default actions.
 *
 * Only the 31 standard signals exist; they do not queue (a second SIGUSR1 while one is pending
 * is merged, as on Linux). Job control is not emulated: the stop signals cannot be sent.
 */

export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGBUS = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGSEGV = 11;
export const SIGUSR2 = 12;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGSTKFLT = 16;
export const SIGCHLD = 17;
export const SIGCONT = 18;
export const SIGSTOP = 19;
export const SIGTSTP = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGURG = 23;
export const SIGXCPU = 24;
export const SIGXFSZ = 25;
export const SIGVTALRM = 26;
export const SIGPROF = 27;
export const SIGWINCH = 28;
export const SIGIO = 29;
export const SIGPWR = 30;
export const SIGSYS = 31;
/** Highest signal number accepted. */
export const SIG_MAX = 31;

/** What happens to a process when a signal with the default disposition arrives. */
export type SignalDefault = 'terminate' | 'ignore' | 'stop';

/** Default action of signal `sig` (1..31), per signal(7). */
export function signalDefault(sig: number): SignalDefault {
  switch (sig) {
    case SIGCHLD:
    case SIGCONT:
    case SIGURG:
    case SIGWINCH:
      return 'ignore';
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
      return 'stop';
    default:
      return 'terminate';
  }
}

const NAMES = [
  '', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGKILL', 'SIGUSR1',
  'SIGSEGV', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM', 'SIGSTKFLT', 'SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP',
  'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF', 'SIGWINCH', 'SIGIO', 'SIGPWR', 'SIGSYS',
];

/** `"SIGTERM"` for 15; `"SIG?<n>"` outside 1..31. */
export function signalName(sig: number): string {
  return (sig >= 1 && sig <= SIG_MAX ? NAMES[sig] : undefined) ?? `SIG?${sig}`;
}
