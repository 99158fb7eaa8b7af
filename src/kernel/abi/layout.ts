/**
 * The ExoLinux process ABI: address-space layout, constants and struct layouts, as a user
 * process sees them.
 *
 * Data model: **ILP32 with 64-bit time and block numbers** (the wasm32/WASI model). A user
 * pointer is a 32-bit byte offset into the process's own memory; `int`, `long` and `size_t` are
 * 32 bits; `time_t` and block numbers are 64 bits. All multi-byte fields are little-endian except
 * where a protocol says otherwise (`sockaddr_pkt.spkt_protocol` is network order, as on Linux).
 * Constants keep their Linux x86-64 values so traces read like strace.
 *
 * Every struct is described by its size and field offsets; user code and the kernel read them
 * with a `DataView` (`getInt32(ptr + OFF, true)`), never by sharing JS objects.
 */

import { E2BIG, EADDRINUSE, EINVAL, ENODATA, ENOENT, ENOMEM, ENOSPC } from './errno.js';
import {
  DPF_BOGUSID,
  DPF_BOGUSOP,
  DPF_NILFILTER,
  DPF_NOMEM,
  DPF_OVERLAP,
  DPF_TOOMANYELEMS,
  DPF_TOOMANYFILTERS,
  type DpfErrorCode,
} from '../dpf/lang/codes.js';

// ---- address space ----

/** Bytes per page. The first page of every process is unmapped: pointer 0 is NULL. */
export const PAGE_BYTES = 4096;
/** Lowest valid user address (everything below faults with EFAULT). */
export const USER_BASE = PAGE_BYTES;
/** libc's page: allocator state and scratch space for the wrapper's own structs. */
export const LIBC_PAGE = PAGE_BYTES;
/** First byte of the heap that `malloc` manages (to the end of memory). */
export const HEAP_START = 2 * PAGE_BYTES;
/** Smallest and largest process memory the kernel accepts at spawn, in bytes. */
export const MIN_MEMORY_BYTES = 4 * PAGE_BYTES;
export const MAX_MEMORY_BYTES = 1024 * 1024 * 1024;

/** libc page layout (all u32). The kernel reads it only to report allocator use, as untrusted hints. */
export const LIBC_MAGIC = 0x434c5845; // "EXLC"
export const LIBC_OFF_MAGIC = 0;
export const LIBC_OFF_HEAP_START = 4;
export const LIBC_OFF_HEAP_END = 8;
export const LIBC_OFF_INUSE_BYTES = 12;
export const LIBC_OFF_INUSE_BLOCKS = 16;
export const LIBC_OFF_PEAK_BYTES = 20;
/** Free-list heads of the allocator's size classes (u32 pointers, 0 = empty). */
export const LIBC_OFF_BINS = 64;
export const LIBC_BIN_COUNT = 32;
/** Scratch area the wrapper uses to marshal small structs for its helper calls. */
export const LIBC_OFF_SCRATCH = 1024;
export const LIBC_SCRATCH_BYTES = PAGE_BYTES - LIBC_OFF_SCRATCH;

// ---- limits ----

/** Max iovec entries per call (Linux UIO_MAXIOV). */
export const UIO_MAXIOV = 1024;
/** Largest byte count one call moves (ssize_t max in the ILP32 model). */
export const SSIZE_MAX = 0x7fff_ffff;
/** Writes to a pipe of at most this many bytes are atomic (Linux PIPE_BUF). */
export const PIPE_BUF = 4096;
/** Pipe capacity in bytes (Linux default: 16 pages). */
export const PIPE_CAPACITY_BYTES = 65536;
/** Longest string argument accepted by the `string` argument kind, including NUL (Linux PATH_MAX). */
export const PATH_MAX = 4096;

// ---- flags ----

export const O_NONBLOCK = 0x800;
export const O_CLOEXEC = 0x80000;
export const EPOLL_CLOEXEC = O_CLOEXEC;

export const POLLIN = 0x001;
export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const POLLRDNORM = 0x040;
export const POLLRDBAND = 0x080;
export const POLLWRNORM = 0x100;
export const POLLWRBAND = 0x200;
export const POLLRDHUP = 0x2000;

export const EPOLLIN = POLLIN;
export const EPOLLPRI = POLLPRI;
export const EPOLLOUT = POLLOUT;
export const EPOLLERR = POLLERR;
export const EPOLLHUP = POLLHUP;
export const EPOLLRDNORM = POLLRDNORM;
export const EPOLLRDBAND = POLLRDBAND;
export const EPOLLWRNORM = POLLWRNORM;
export const EPOLLWRBAND = POLLWRBAND;
export const EPOLLRDHUP = POLLRDHUP;
export const EPOLLONESHOT = 1 << 30;
/** As an unsigned 32-bit value (0x80000000). */
export const EPOLLET = 0x8000_0000;

export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;

/** ioctl: bytes (or, on a record channel, bytes of whole records) ready to read, written as an int. */
export const FIONREAD = 0x541b;

export const CLOCK_REALTIME = 0;
export const CLOCK_MONOTONIC = 1;

export const AF_PACKET = 17;
/** Private address family of DPF sockets (registered by the DPF subsystem). */
export const AF_DPF = 64;
export const SOCK_RAW = 3;
export const SOCK_PACKET = 10;
/** Ethernet header bytes. */
export const ETH_HLEN = 14;

/** `channel(mode, …)` modes. */
export const CHAN_MODE_BYTE = 0;
export const CHAN_MODE_RECORD = 1;

// ---- structs ----

/** `struct iovec { u32 iov_base; u32 iov_len; }` */
export const IOVEC_BYTES = 8;
export const IOVEC_OFF_BASE = 0;
export const IOVEC_OFF_LEN = 4;

/** `struct pollfd { i32 fd; i16 events; i16 revents; }` (as on Linux). */
export const POLLFD_BYTES = 8;
export const POLLFD_OFF_FD = 0;
export const POLLFD_OFF_EVENTS = 4;
export const POLLFD_OFF_REVENTS = 6;

/** `struct epoll_event { u32 events; u64 data; }` packed, 12 bytes (as on Linux x86-64). */
export const EPOLL_EVENT_BYTES = 12;
export const EPOLL_EVENT_OFF_EVENTS = 0;
export const EPOLL_EVENT_OFF_DATA = 4;

/** `struct timeval { i64 tv_sec; i64 tv_usec; }` */
export const TIMEVAL_BYTES = 16;
export const TIMEVAL_OFF_SEC = 0;
export const TIMEVAL_OFF_USEC = 8;

/** `struct timespec { i64 tv_sec; i64 tv_nsec; }` */
export const TIMESPEC_BYTES = 16;
export const TIMESPEC_OFF_SEC = 0;
export const TIMESPEC_OFF_NSEC = 8;

/**
 * `struct sigaction { u32 sa_handler; u32 sa_flags; u64 sa_mask; }`. `sa_handler` is `SIG_DFL`
 * (0), `SIG_IGN` (1) or a handler token ≥ 2 that the process's libc maps to a function.
 */
export const SIGACTION_BYTES = 16;
export const SIGACTION_OFF_HANDLER = 0;
export const SIGACTION_OFF_FLAGS = 4;
export const SIGACTION_OFF_MASK = 8;
/** `sizeof(sigset_t)`: the last argument of `rt_sigaction`. */
export const SIGSET_BYTES = 8;
export const SIG_DFL = 0;
export const SIG_IGN = 1;
export const SA_RESETHAND = 0x8000_0000;

/** `struct msghdr { u32 name; u32 namelen; u32 iov; u32 iovlen; u32 control; u32 controllen; i32 flags; }` */
export const MSGHDR_BYTES = 28;
export const MSGHDR_OFF_NAME = 0;
export const MSGHDR_OFF_NAMELEN = 4;
export const MSGHDR_OFF_IOV = 8;
export const MSGHDR_OFF_IOVLEN = 12;
export const MSGHDR_OFF_CONTROL = 16;
export const MSGHDR_OFF_CONTROLLEN = 20;
export const MSGHDR_OFF_FLAGS = 24;

/** `struct sockaddr_pkt { u16 spkt_family; u8 spkt_device[14]; be16 spkt_protocol; }` (Linux SOCK_PACKET). */
export const SOCKADDR_PKT_BYTES = 18;
export const SOCKADDR_PKT_OFF_FAMILY = 0;
export const SOCKADDR_PKT_OFF_DEVICE = 2;
export const SOCKADDR_PKT_DEVICE_BYTES = 14;
export const SOCKADDR_PKT_OFF_PROTOCOL = 16;

/**
 * A channel record (mode `CHAN_MODE_RECORD`):
 * `struct chan_rec { u32 request_id; u32 device; u64 block; i32 status; u32 flags; }`, 24 bytes.
 * With `CHAN_REC_OVERFLOW` set in `flags`, the record stands for events the channel could not
 * hold: `status` is how many (saturating at 2^31−1) and the other fields are 0; the reader must
 * resynchronise with the notifying subsystem (see docs/syscalls.md).
 */
export const CHAN_REC_BYTES = 24;
export const CHAN_REC_OFF_REQUEST_ID = 0;
export const CHAN_REC_OFF_DEVICE = 4;
export const CHAN_REC_OFF_BLOCK = 8;
export const CHAN_REC_OFF_STATUS = 16;
export const CHAN_REC_OFF_FLAGS = 20;
export const CHAN_REC_OVERFLOW = 1;

/**
 * Linux x86-64 `struct stat`, 144 bytes, written by `fstat`:
 * `u64 st_dev @0; u64 st_ino @8; u64 st_nlink @16; u32 st_mode @24; u32 st_uid @28;
 * u32 st_gid @32; (4 bytes pad); u64 st_rdev @40; i64 st_size @48; i64 st_blksize @56;
 * i64 st_blocks @64` (512-byte units), then three `struct timespec` (`i64 sec; i64 nsec`):
 * `st_atim @72`, `st_mtim @88`, `st_ctim @104`, and 24 reserved bytes (zero).
 */
export const STAT_BYTES = 144;
export const STAT_OFF_DEV = 0;
export const STAT_OFF_INO = 8;
export const STAT_OFF_NLINK = 16;
export const STAT_OFF_MODE = 24;
export const STAT_OFF_UID = 28;
export const STAT_OFF_GID = 32;
export const STAT_OFF_RDEV = 40;
export const STAT_OFF_SIZE = 48;
export const STAT_OFF_BLKSIZE = 56;
export const STAT_OFF_BLOCKS = 64;
export const STAT_OFF_ATIME = 72;
export const STAT_OFF_MTIME = 88;
export const STAT_OFF_CTIME = 104;

/** `st_mode` file-type bits (Linux `S_IF*`) and the permission bits the docroot checks. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
/** Read and search permission for "others". */
export const S_IROTH = 0o004;
export const S_IXOTH = 0o001;

/**
 * `struct linux_dirent64` records written by `getdents64`:
 * `u64 d_ino @0; i64 d_off @8` (cookie of the next entry, for lseek); `u16 d_reclen @16;
 * u8 d_type @18; char d_name[] @19` (NUL-terminated), each record padded to a multiple of 8.
 */
export const DIRENT64_OFF_INO = 0;
export const DIRENT64_OFF_OFF = 8;
export const DIRENT64_OFF_RECLEN = 16;
export const DIRENT64_OFF_TYPE = 18;
export const DIRENT64_OFF_NAME = 19;
/** `d_type` values (Linux `DT_*`). */
export const DT_UNKNOWN = 0;
export const DT_FIFO = 1;
export const DT_CHR = 2;
export const DT_DIR = 4;
export const DT_BLK = 6;
export const DT_REG = 8;
export const DT_LNK = 10;
export const DT_SOCK = 12;

/** Longest name of one path component, bytes (Linux NAME_MAX). */
export const NAME_MAX = 255;

/** `open` flags (Linux x86-64 values). */
export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_ACCMODE = 0o3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_PATH = 0o10000000;
/** `O_TMPFILE` includes `O_DIRECTORY`, as on Linux. */
export const O_TMPFILE = 0o20000000 | O_DIRECTORY;

/** `lseek` whence values. */
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;
/** `struct xn_op` in the ILP32 model (fields: src/kernel/abi/xn.ts). */
export const XN_OP_BYTES = 32;
/** `struct xn_root_entry` copied out by `xn_mount` and `xn_read_catalogue` (fields: abi/xn.ts). */
export const XN_ROOT_ENTRY_BYTES = 128;
/** One registry record copied out per block by `xn_read_attr` (fields: abi/xn.ts). */
export const XN_ATTR_BYTES = 32;

// ---- AF_DPF (docs/dpf.md "The socket") ----

/** `recv` flags accepted by `dpf_recv`/`dpf_recvfrom`: look without dequeuing; return the real length. */
export const MSG_PEEK = 0x2;
export const MSG_TRUNC = 0x20;

/**
 * `struct sockaddr_dpf` (16 bytes, the size of `struct sockaddr`): where a frame came from, and
 * where `sendto`/`sendmsg`/`bind` send it. `card` is the card's index (0, 1, 2 for exo0…exo2);
 * `mac` and `addr` are the machine's own MAC and IPv4 address on that card (what a reply uses as
 * its source). Sending reads only `family` and `card`.
 * `{ u16 family; u16 card; u8 mac[6]; u16 zero; be32 addr; }`
 */
export const SOCKADDR_DPF_BYTES = 16;
export const SOCKADDR_DPF_OFF_FAMILY = 0;
export const SOCKADDR_DPF_OFF_CARD = 2;
export const SOCKADDR_DPF_OFF_MAC = 4;
export const SOCKADDR_DPF_OFF_ADDR = 12;

/**
 * `struct dpf_ifinfo` (32 bytes), written by `dpf_ifinfo(card, info)`: one card of the machine.
 * `{ u16 card; u16 mtu; u8 mac[6]; u8 prefix_len; u8 flags; be32 addr; u8 name[16]; }` — `mtu` in
 * bytes (the frame may be 14 more), `flags` the `DPF_IFINFO_F_*` bits, `addr` the machine's IPv4
 * address on the card (network order), `name` NUL-padded.
 */
export const DPF_IFINFO_BYTES = 32;
export const DPF_IFINFO_OFF_CARD = 0;
export const DPF_IFINFO_OFF_MTU = 2;
export const DPF_IFINFO_OFF_MAC = 4;
export const DPF_IFINFO_OFF_PREFIX_LEN = 10;
export const DPF_IFINFO_OFF_FLAGS = 11;
/**
 * The card segments TCP super-segments itself (TSO): every frame `dpf_send_tso` accepts goes to
 * it whole. Without the bit the kernel cuts them in software, which costs the payload's checksum
 * per segment — a sender that has its payload sums already may do better sending segments itself.
 */
export const DPF_IFINFO_F_TSO = 1;
export const DPF_IFINFO_OFF_ADDR = 12;
export const DPF_IFINFO_OFF_NAME = 16;
export const DPF_IFINFO_NAME_BYTES = 16;

/**
 * One frame in a batch-receive ring (`dpf_recvbatch`): `{ u16 len; u16 card; u8 frame[len]; }`
 * padded with zeros to a multiple of 4 bytes; records follow each other from the start of the
 * ring. The kernel's receive queue holds frames in exactly this form, so a batch is one copy.
 */
export const DPF_REC_HEADER_BYTES = 4;
export const DPF_REC_OFF_LEN = 0;
export const DPF_REC_OFF_CARD = 2;
export const DPF_REC_ALIGN = 4;

/** Bytes one record of a `len`-byte frame takes in a batch ring (header + frame + padding). */
export function dpfRecordBytes(len: number): number {
  return (DPF_REC_HEADER_BYTES + len + DPF_REC_ALIGN - 1) & ~(DPF_REC_ALIGN - 1);
}

/**
 * How `dpf_attach`/`dpf_detach` report DPF's codes (`src/kernel/dpf/lang/codes.ts`): as errnos,
 * one per code, so traces and `errnoName` read naturally and no DPF code is mistaken for an errno
 * with the same number (DPF_BOGUSID is -5, EIO is -5 too). The exact code and the verifier's
 * reason of the last refusal on a socket are read with `dpf_geterror`.
 */
export const DPF_ERRNO: Readonly<Record<DpfErrorCode, number>> = {
  [DPF_TOOMANYFILTERS]: ENOSPC,
  [DPF_TOOMANYELEMS]: E2BIG,
  [DPF_BOGUSOP]: EINVAL,
  [DPF_BOGUSID]: ENOENT,
  [DPF_OVERLAP]: EADDRINUSE,
  [DPF_NILFILTER]: ENODATA,
  [DPF_NOMEM]: ENOMEM,
};
