// Linux device plumbing for the exotap addon: opening a TAP or an AF_PACKET socket (optionally
// inside another network namespace) and the host-side link controls. Plain syscalls, no N-API:
// every function returns 0 or a positive errno and names the failing syscall in *syscall, so the
// binding layer can raise a JS error with `code`, `errno` and `syscall`.
#pragma once

#include <cstddef>
#include <cstdint>

namespace exotap {

/** Where a failed call stopped: the errno and the syscall (static string). */
struct SysError {
  int err = 0;
  const char* syscall = "";
  /** What was found, when the errno alone is ambiguous (static string; empty if none). */
  const char* detail = "";
};

/** Options for opening a TAP. */
struct TapOpenOptions {
  const char* name = nullptr;  // IFNAMSIZ-1 chars at most (checked by the caller)
  bool attach = false;         // open an existing (persistent) TAP instead of creating one
  const char* netns = nullptr; // network namespace: a name under /run/netns or an absolute path
  bool disableIpv6 = true;     // write 1 to /proc/sys/net/ipv6/conf/<name>/disable_ipv6
  int sndbufBytes = 0;         // TUNSETSNDBUF; 0 = leave the kernel default
  bool vnetHdr = false;        // IFF_VNET_HDR: every read and write starts with a virtio_net_hdr
};

/** Size of the virtio_net_hdr that starts every read and write of a TAP opened with `vnetHdr`. */
constexpr int kVnetHdrBytes = 10;

/** An open TAP (or packet socket): its fd, a datagram socket for SIOC* ioctls (in the TAP's namespace) and its ifindex. */
struct TapFds {
  int fd = -1;
  int ctl = -1;
  int nl = -1;  // rtnetlink socket in the same namespace (link statistics)
  int ifindex = 0;
  bool ipv6Disabled = false;  // whether the host side's IPv6 was switched off
};

/** Open /dev/net/tun non-blocking and attach it to TAP `name` (IFF_TAP|IFF_NO_PI, and IFF_VNET_HDR with a 10-byte little-endian header if `vnetHdr`; EOPNOTSUPP with detail `no-vnet-hdr` if the kernel lacks it). On error nothing is left open or created. */
int openTap(const TapOpenOptions& o, TapFds* out, SysError* e);

/** Open an AF_PACKET raw socket bound to interface `name` (ignores its own outgoing frames). */
int openPacketSocket(const char* name, const char* netns, int rcvbufBytes, int sndbufBytes, TapFds* out, SysError* e);

/** Host-side link state as SIOCGIF* reports it. */
struct LinkInfo {
  int ifindex = 0;
  int mtu = 0;
  int flags = 0;
  int txqueuelen = 0;
  uint8_t mac[6] = {0, 0, 0, 0, 0, 0};
};

int getLinkInfo(int ctl, const char* name, LinkInfo* out, SysError* e);

/** Host-side interface statistics (rtnetlink IFLA_STATS64). */
struct LinkStats {
  uint64_t rxPackets = 0;
  uint64_t txPackets = 0;
  uint64_t txDropped = 0;  // for a TAP: frames the host could not queue for the reader
};

int getLinkStats(int nl, const char* name, LinkStats* out, SysError* e);
int setMac(int ctl, const char* name, const uint8_t mac[6], SysError* e);
int setMtu(int ctl, const char* name, int mtu, SysError* e);
/** Set the primary IPv4 address and prefix length (addr in host byte order). */
int setIpv4(int ctl, const char* name, uint32_t addr, int prefixLen, SysError* e);
int setUp(int ctl, const char* name, bool up, SysError* e);
int setTxQueueLen(int ctl, const char* name, int len, SysError* e);

}  // namespace exotap
