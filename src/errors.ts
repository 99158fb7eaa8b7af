/**
 * The daemon's error registry: every error that can leave the daemon's own code (boot, config,
 * NIC setup, admin API) carries a stable `code` listed here, an HTTP status for the admin API and
 * an optional `cause`. `docs/errors.md` documents every code; `src/errors.test.ts` keeps the two
 * in step.
 *
 * Errors *inside* the data path never use this: malformed frames are counted, syscalls return
 * errnos, DPF/XN return their own numeric codes (see `src/kernel/abi`).
 */

/** Every stable error code, with the HTTP status the admin API answers it with. */
export const ERROR_CODES = {
  CONFIG_ERR_INVALID: 400,
  CONFIG_ERR_READ: 400,
  NIC_ERR_TAP_OPEN: 500,
  NIC_ERR_TAP_BUSY: 409,
  NIC_ERR_IOCTL: 500,
  NIC_ERR_CLOSED: 409,
  NIC_ERR_NOT_FOUND: 404,
  NETNS_ERR: 500,
  ADMIN_ERR_NOT_FOUND: 404,
  ADMIN_ERR_BAD_REQUEST: 400,
  ADMIN_ERR_INTERNAL: 500,
  // disk (src/disk)
  DISK_ERR_NOT_FOUND: 404,
  DISK_ERR_FOREIGN: 400,
  DISK_ERR_CORRUPT: 500,
  DISK_ERR_VERSION: 400,
  DISK_ERR_EXISTS: 409,
  DISK_ERR_GEOMETRY: 400,
  DISK_ERR_RANGE: 400,
  DISK_ERR_IO: 500,
  DISK_ERR_CLOSED: 409,
  DISK_ERR_NO_PAGES: 503,
  KERNEL_ERR_SPAWN: 400,
  KERNEL_ERR_REGISTER: 500,
  // docroot file system (src/kernel/vfs)
  VFS_ERR_MOUNT: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of every error the daemon raises on purpose. */
export class DaemonError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DaemonError';
    this.code = code;
    this.httpStatus = ERROR_CODES[code];
  }
}

/** True for a DaemonError with the given code (or any code when none is given). */
export function isDaemonError(e: unknown, code?: ErrorCode): e is DaemonError {
  return e instanceof DaemonError && (code === undefined || e.code === code);
}
