// See netdev.h. Read first: Documentation/networking/tuntap.rst (TUNSETIFF, IFF_TUN_EXCL,
// TUNSETSNDBUF, IFF_VNET_HDR), include/uapi/linux/virtio_net.h (struct virtio_net_hdr), packet(7) (AF_PACKET), netdevice(7) (SIOC* ioctls), setns(2).
#include "netdev.h"

// glibc's <net/if.h> must come before any <linux/...> header that pulls in <linux/if.h>.
#include <net/if.h>
#include <net/if_arp.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23  // Linux 4.20+
#endif

namespace exotap {
namespace {

int fail(SysError* e, int err, const char* syscall) {
  e->err = err;
  e->syscall = syscall;
  return err;
}

/** Closes an fd on scope exit unless released. */
class FdGuard {
 public:
  explicit FdGuard(int fd = -1) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  void reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

/**
 * Moves the calling thread into a network namespace for the guard's lifetime. Only this thread
 * moves (setns is per thread); fds and sockets opened meanwhile stay bound to that namespace
 * after we return. Failing to come back would leave the daemon's main thread in the wrong
 * namespace, which nothing could detect later, so that one failure aborts.
 */
class NetnsGuard {
 public:
  NetnsGuard() = default;
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  ~NetnsGuard() {
    if (saved_ < 0) return;
    if (setns(saved_, CLONE_NEWNET) != 0) {
      perror("exotap: cannot return to the original network namespace");
      abort();
    }
    close(saved_);
  }

  int enter(const char* ns, SysError* e) {
    if (ns == nullptr || *ns == '\0') return 0;
    std::string path;
    if (ns[0] == '/') {
      path = ns;
    } else {
      if (strchr(ns, '/') != nullptr || strcmp(ns, ".") == 0 || strcmp(ns, "..") == 0) return fail(e, EINVAL, "open(netns)");
      path = std::string("/run/netns/") + ns;
    }
    FdGuard saved(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (saved.get() < 0) return fail(e, errno, "open(/proc/thread-self/ns/net)");
    FdGuard target(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (target.get() < 0) return fail(e, errno, "open(netns)");
    if (setns(target.get(), CLONE_NEWNET) != 0) return fail(e, errno, "setns");
    saved_ = saved.release();
    return 0;
  }

 private:
  int saved_ = -1;
};

void fillName(struct ifreq* ifr, const char* name) {
  memset(ifr, 0, sizeof *ifr);
  strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
}

/** The host side of a TAP would otherwise send router solicitations and MLD reports into a machine that speaks IPv4 only. */
bool disableIpv6(const char* name) {
  std::string path = std::string("/proc/sys/net/ipv6/conf/") + name + "/disable_ipv6";
  FdGuard fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return false;
  return write(fd.get(), "1", 1) == 1;
}

/** What rtnetlink says about an interface (IFLA_LINKINFO, IFLA_STATS64; Linux 4.15+ for the tun data). */
struct LinkQuery {
  bool known = false;  // the query worked
  bool isTap = false;
  bool persistent = false;  // a non-persistent TAP exists only while some process holds it
  LinkStats stats;
};

int openNetlink() { return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }

/** RTM_GETLINK for `name` on netlink socket `nl`; returns the errno (0 on success). */
int queryLink(int nl, const char* name, LinkQuery* out) {
  struct {
    struct nlmsghdr nh;
    struct ifinfomsg ifi;
    char attrs[64];
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_type = RTM_GETLINK;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.ifi.ifi_family = AF_UNSPEC;
  auto* nameAttr = reinterpret_cast<struct rtattr*>(req.attrs);
  size_t nameLen = strlen(name) + 1;
  nameAttr->rta_type = IFLA_IFNAME;
  nameAttr->rta_len = static_cast<unsigned short>(RTA_LENGTH(nameLen));
  memcpy(RTA_DATA(nameAttr), name, nameLen);
  req.nh.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(sizeof req.ifi) + RTA_ALIGN(nameAttr->rta_len));
  if (send(nl, &req, req.nh.nlmsg_len, 0) < 0) return errno;
  std::vector<char> buf(64 * 1024);
  ssize_t n = recv(nl, buf.data(), buf.size(), 0);
  if (n < 0) return errno;
  auto* nh = reinterpret_cast<struct nlmsghdr*>(buf.data());
  if (!NLMSG_OK(nh, static_cast<unsigned>(n))) return EPROTO;
  if (nh->nlmsg_type == NLMSG_ERROR) {
    int err = -static_cast<struct nlmsgerr*>(NLMSG_DATA(nh))->error;
    return err != 0 ? err : EPROTO;
  }
  if (nh->nlmsg_type != RTM_NEWLINK) return EPROTO;
  out->known = true;
  auto* ifi = static_cast<struct ifinfomsg*>(NLMSG_DATA(nh));
  int len = static_cast<int>(nh->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof *ifi));
  bool isTun = false;
  for (struct rtattr* a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
    if (a->rta_type == IFLA_STATS64 && RTA_PAYLOAD(a) >= sizeof(struct rtnl_link_stats64)) {
      struct rtnl_link_stats64 st;
      memcpy(&st, RTA_DATA(a), sizeof st);
      out->stats.rxPackets = st.rx_packets;
      out->stats.txPackets = st.tx_packets;
      out->stats.txDropped = st.tx_dropped;
    }
    if (a->rta_type != IFLA_LINKINFO) continue;
    int infoLen = static_cast<int>(RTA_PAYLOAD(a));
    for (struct rtattr* b = static_cast<struct rtattr*>(RTA_DATA(a)); RTA_OK(b, infoLen); b = RTA_NEXT(b, infoLen)) {
      if (b->rta_type == IFLA_INFO_KIND) {
        isTun = strncmp(static_cast<const char*>(RTA_DATA(b)), "tun", RTA_PAYLOAD(b)) == 0;
      } else if (b->rta_type == IFLA_INFO_DATA) {
        int dataLen = static_cast<int>(RTA_PAYLOAD(b));
        for (struct rtattr* c = static_cast<struct rtattr*>(RTA_DATA(b)); RTA_OK(c, dataLen); c = RTA_NEXT(c, dataLen)) {
          if (c->rta_type == IFLA_TUN_TYPE && RTA_PAYLOAD(c) >= 1) {
            out->isTap = *static_cast<uint8_t*>(RTA_DATA(c)) == IFF_TAP;
          } else if (c->rta_type == IFLA_TUN_PERSIST && RTA_PAYLOAD(c) >= 1) {
            out->persistent = *static_cast<uint8_t*>(RTA_DATA(c)) != 0;
          }
        }
      }
    }
  }
  out->isTap = out->isTap && isTun;
  return 0;
}

/**
 * Fail a create because `name` is taken, saying by what: a non-persistent TAP exists only while
 * another process holds it (EBUSY); a persistent TAP is one `attach` could open (EEXIST; attach
 * then says EBUSY if someone holds it after all); anything else is not a TAP (EEXIST). The kernel
 * reports a TAP's attached queue count only for multi-queue TAPs, and carrier only while up.
 */
int failExisting(int nl, const char* name, SysError* e) {
  LinkQuery link;
  if (queryLink(nl, name, &link) != 0) return fail(e, EEXIST, "if_nametoindex");
  if (!link.isTap) {
    e->detail = "not-a-tap";
    return fail(e, EEXIST, "if_nametoindex");
  }
  e->detail = link.persistent ? "tap-persistent" : "tap-in-use";
  return fail(e, link.persistent ? EEXIST : EBUSY, "RTM_GETLINK");
}

/** ioctls whose argument is one int in the ifreq union (ifr_mtu and ifr_qlen share it). */
int setIfreqInt(int ctl, const char* name, unsigned long request, int value, const char* syscall, SysError* e) {
  struct ifreq ifr;
  fillName(&ifr, name);
  ifr.ifr_ifru.ifru_ivalue = value;
  if (ioctl(ctl, request, &ifr) != 0) return fail(e, errno, syscall);
  return 0;
}

}  // namespace

int openTap(const TapOpenOptions& o, TapFds* out, SysError* e) {
  NetnsGuard ns;
  if (int r = ns.enter(o.netns, e)) return r;

  // Checked by name first so the error says what is wrong: TUNSETIFF alone would silently attach
  // to a persistent TAP of that name, and reports EINVAL for a non-TAP interface.
  FdGuard nl(openNetlink());
  if (nl.get() < 0) return fail(e, errno, "socket(AF_NETLINK)");
  unsigned existing = if_nametoindex(o.name);
  if (!o.attach && existing != 0) return failExisting(nl.get(), o.name, e);
  if (o.attach && existing == 0) return fail(e, ENODEV, "if_nametoindex");

  FdGuard fd(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) return fail(e, errno, "open(/dev/net/tun)");

  struct ifreq ifr;
  fillName(&ifr, o.name);
  // IFF_TUN_EXCL makes creation atomic: a TAP made by someone else between the check above and
  // this call gives EBUSY instead of being attached to.
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (o.attach ? 0 : IFF_TUN_EXCL);
  if (o.vnetHdr) {
    unsigned int features = 0;
    if (ioctl(fd.get(), TUNGETFEATURES, &features) != 0) return fail(e, errno, "ioctl(TUNGETFEATURES)");
    if ((features & IFF_VNET_HDR) == 0) {
      e->detail = "no-vnet-hdr";
      return fail(e, EOPNOTSUPP, "ioctl(TUNGETFEATURES)");
    }
    ifr.ifr_flags |= IFF_VNET_HDR;
  }
  if (ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return fail(e, errno, "ioctl(TUNSETIFF)");

  if (o.vnetHdr) {
    // The header is 10 bytes (struct virtio_net_hdr, no num_buffers) and little-endian, set
    // explicitly: a previous user of an attached TAP may have changed either, and without
    // TUNSETVNETLE a big-endian host would use its own byte order. No TUNSETOFFLOAD: the host
    // must keep giving us plain frames with full checksums (only our writes carry offloads).
    int hdrBytes = kVnetHdrBytes;
    if (ioctl(fd.get(), TUNSETVNETHDRSZ, &hdrBytes) != 0) return fail(e, errno, "ioctl(TUNSETVNETHDRSZ)");
    int le = 1;
    if (ioctl(fd.get(), TUNSETVNETLE, &le) != 0 && errno != EINVAL) return fail(e, errno, "ioctl(TUNSETVNETLE)");
  }

  if (o.sndbufBytes > 0) {
    int sndbuf = o.sndbufBytes;
    if (ioctl(fd.get(), TUNSETSNDBUF, &sndbuf) != 0) return fail(e, errno, "ioctl(TUNSETSNDBUF)");
  }

  FdGuard ctl(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (ctl.get() < 0) return fail(e, errno, "socket(AF_INET)");
  fillName(&ifr, o.name);
  if (ioctl(ctl.get(), SIOCGIFINDEX, &ifr) != 0) return fail(e, errno, "ioctl(SIOCGIFINDEX)");
  out->ifindex = ifr.ifr_ifindex;
  out->ipv6Disabled = o.disableIpv6 && disableIpv6(o.name);
  out->fd = fd.release();
  out->ctl = ctl.release();
  out->nl = nl.release();
  return 0;
}

int openPacketSocket(const char* name, const char* netns, int rcvbufBytes, int sndbufBytes, TapFds* out, SysError* e) {
  NetnsGuard ns;
  if (int r = ns.enter(netns, e)) return r;
  unsigned ifindex = if_nametoindex(name);
  if (ifindex == 0) return fail(e, ENODEV, "if_nametoindex");
  // Protocol 0 until bound, so no frame of another interface is queued before bind().
  FdGuard fd(socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return fail(e, errno, "socket(AF_PACKET)");
  int one = 1;
  if (setsockopt(fd.get(), SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0) {
    return fail(e, errno, "setsockopt(PACKET_IGNORE_OUTGOING)");
  }
  if (rcvbufBytes > 0 && setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbufBytes, sizeof rcvbufBytes) != 0 &&
      setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbufBytes, sizeof rcvbufBytes) != 0) {
    return fail(e, errno, "setsockopt(SO_RCVBUF)");
  }
  if (sndbufBytes > 0 && setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUFFORCE, &sndbufBytes, sizeof sndbufBytes) != 0 &&
      setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbufBytes, sizeof sndbufBytes) != 0) {
    return fail(e, errno, "setsockopt(SO_SNDBUF)");
  }
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = static_cast<int>(ifindex);
  if (bind(fd.get(), reinterpret_cast<struct sockaddr*>(&sll), sizeof sll) != 0) return fail(e, errno, "bind(AF_PACKET)");
  FdGuard ctl(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (ctl.get() < 0) return fail(e, errno, "socket(AF_INET)");
  FdGuard nl(openNetlink());
  if (nl.get() < 0) return fail(e, errno, "socket(AF_NETLINK)");
  out->ifindex = static_cast<int>(ifindex);
  out->fd = fd.release();
  out->ctl = ctl.release();
  out->nl = nl.release();
  return 0;
}

int getLinkInfo(int ctl, const char* name, LinkInfo* out, SysError* e) {
  struct ifreq ifr;
  fillName(&ifr, name);
  if (ioctl(ctl, SIOCGIFINDEX, &ifr) != 0) return fail(e, errno, "ioctl(SIOCGIFINDEX)");
  out->ifindex = ifr.ifr_ifindex;
  fillName(&ifr, name);
  if (ioctl(ctl, SIOCGIFMTU, &ifr) != 0) return fail(e, errno, "ioctl(SIOCGIFMTU)");
  out->mtu = ifr.ifr_mtu;
  fillName(&ifr, name);
  if (ioctl(ctl, SIOCGIFFLAGS, &ifr) != 0) return fail(e, errno, "ioctl(SIOCGIFFLAGS)");
  out->flags = ifr.ifr_flags & 0xffff;
  fillName(&ifr, name);
  if (ioctl(ctl, SIOCGIFTXQLEN, &ifr) != 0) return fail(e, errno, "ioctl(SIOCGIFTXQLEN)");
  out->txqueuelen = ifr.ifr_qlen;
  fillName(&ifr, name);
  if (ioctl(ctl, SIOCGIFHWADDR, &ifr) != 0) return fail(e, errno, "ioctl(SIOCGIFHWADDR)");
  memcpy(out->mac, ifr.ifr_hwaddr.sa_data, 6);
  return 0;
}

int getLinkStats(int nl, const char* name, LinkStats* out, SysError* e) {
  LinkQuery q;
  if (int err = queryLink(nl, name, &q)) return fail(e, err, "RTM_GETLINK");
  *out = q.stats;
  return 0;
}

int setMac(int ctl, const char* name, const uint8_t mac[6], SysError* e) {
  struct ifreq ifr;
  fillName(&ifr, name);
  ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
  memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
  if (ioctl(ctl, SIOCSIFHWADDR, &ifr) != 0) return fail(e, errno, "ioctl(SIOCSIFHWADDR)");
  return 0;
}

int setMtu(int ctl, const char* name, int mtu, SysError* e) {
  return setIfreqInt(ctl, name, SIOCSIFMTU, mtu, "ioctl(SIOCSIFMTU)", e);
}

int setIpv4(int ctl, const char* name, uint32_t addr, int prefixLen, SysError* e) {
  if (prefixLen < 0 || prefixLen > 32) return fail(e, EINVAL, "ioctl(SIOCSIFNETMASK)");
  struct ifreq ifr;
  fillName(&ifr, name);
  auto* sin = reinterpret_cast<struct sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(addr);
  if (ioctl(ctl, SIOCSIFADDR, &ifr) != 0) return fail(e, errno, "ioctl(SIOCSIFADDR)");
  fillName(&ifr, name);
  sin = reinterpret_cast<struct sockaddr_in*>(&ifr.ifr_netmask);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(prefixLen == 0 ? 0u : ~0u << (32 - prefixLen));
  // The kernel recomputes the broadcast address and the prefix route from the new mask.
  if (ioctl(ctl, SIOCSIFNETMASK, &ifr) != 0) return fail(e, errno, "ioctl(SIOCSIFNETMASK)");
  return 0;
}

int setUp(int ctl, const char* name, bool up, SysError* e) {
  struct ifreq ifr;
  fillName(&ifr, name);
  if (ioctl(ctl, SIOCGIFFLAGS, &ifr) != 0) return fail(e, errno, "ioctl(SIOCGIFFLAGS)");
  if (up) {
    ifr.ifr_flags |= IFF_UP;
  } else {
    ifr.ifr_flags &= ~IFF_UP;
  }
  if (ioctl(ctl, SIOCSIFFLAGS, &ifr) != 0) return fail(e, errno, "ioctl(SIOCSIFFLAGS)");
  return 0;
}

int setTxQueueLen(int ctl, const char* name, int len, SysError* e) {
  return setIfreqInt(ctl, name, SIOCSIFTXQLEN, len, "ioctl(SIOCSIFTXQLEN)", e);
}

}  // namespace exotap
