// exotap: batched frame I/O on a TAP fd (or an AF_PACKET socket) for Node. Receive runs on the
// event loop thread; transmit runs there too, or (with `txThread`) on a writer thread per port.
//
// Receive: a uv_poll watches the fd (started after TUNSETIFF). On readability we read frames
// until EAGAIN or a budget (frames and bytes) into one reused arena, record each frame's offset
// and length in a reused Uint32Array, and make ONE call into JS for the whole batch; JS walks the
// table and hands out subarray views. No Buffer or object is created per frame.
//
// Transmit: one writev per frame, gathered from up to kMaxIov Uint8Arrays. If the fd would
// block, the frame is copied into a bounded queue (one byte ring, allocated when first needed,
// and a ring of frame slots) and UV_WRITABLE is armed;
// the queue drains in order when the fd is writable and JS hears how much went out. Later
// frames join the queue behind it so order is kept. A full queue refuses the frame and says so.
//
// vnet header (a TAP opened with `vnetHdr`): every read and write starts with a 10-byte
// struct virtio_net_hdr. Reads put it into a scratch header (readv), so the frame still lands at
// its place in the arena with no copy; a header announcing GSO or a partial checksum is dropped
// and counted (the host never sends either, as we never enable TUNSETOFFLOAD). Writes put a
// header iov first: zeros for a plain frame, or a TCPV4 GSO request for a super-segment the host
// kernel cuts into MSS-sized segments (sendTso). Queued frames keep their header in the slot.
//
// Writer thread (`txThread`): a TAP write runs the host's whole receive path for the frame in the
// writing thread, so the card can hand that work to a thread of its own. send() then copies the
// frame (with its vnet header) into the same bounded queue and returns; the writer drains it in
// order, one write per frame. A frame of kDirectWriteMinBytes or more is written by send() itself
// when the queue is empty and the writer idle (see kDirectWriteMinBytes). When the ring is full while the writer is writing, send() waits for
// a slot (the writer frees one within one write; the synchronous path would have spent that time
// writing itself). When the device says EAGAIN the writer marks itself blocked and polls for
// POLLOUT (and an eventfd that close uses to stop it): from then until the ring is empty again,
// send() answers kQueued, and a full ring refuses the frame (kQueueFull), exactly as the
// synchronous path does. Frames written, their bytes and write errors are counted by the writer
// and handed to JS through the onTx callback: from a uv_async when the ring drained after a block
// or a write failed, and synchronously when JS asks (collectTx). Close stops the writer after it
// wrote what the device takes now and joins it; what is left is dropped and reported.
//
// Close: uv_poll_stop, uv_close, then close(fd) in the close callback (a created TAP vanishes
// then). An async env cleanup hook does the same if the environment goes away first.
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <napi.h>
#include <uv.h>

#include "netdev.h"

namespace exotap {
namespace {

/** Read space guaranteed to every read: the largest frame a TAP can hold (MTU 65521 + 14). */
constexpr size_t kReadSpace = 65536;
/** Shorter than an Ethernet header: not a frame. */
constexpr ssize_t kEthHeaderBytes = 14;
/** Most buffers one frame may be gathered from (UIO_FASTIOV is 8; more is legal but rare). */
constexpr size_t kMaxIov = 64;

// struct virtio_net_hdr (include/uapi/linux/virtio_net.h): flags u8, gso_type u8, then hdr_len,
// gso_size, csum_start, csum_offset as little-endian u16 (TUNSETVNETLE).
constexpr uint8_t kVirtioNetHdrFNeedsCsum = 1;
constexpr uint8_t kVirtioNetHdrGsoTcpv4 = 1;
/** The ECN bit of gso_type; the rest is the GSO kind (NONE = 0). */
constexpr uint8_t kVirtioNetHdrGsoEcn = 0x80;
/** The TCP checksum field's offset in the TCP header (RFC 793 §3.1). */
constexpr uint16_t kTcpChecksumOffset = 16;

void PutLe16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

/** Layout of the receive table shared with JS (`native-addon.ts` mirrors it). */
enum RxMeta : uint32_t {
  kRxFrames = 0,      // frames in this batch
  kRxOversize = 1,    // frames longer than maxFrameBytes, dropped
  kRxRunt = 2,        // frames shorter than an Ethernet header, dropped
  kRxEmpty = 3,       // zero-length reads (spurious readiness)
  kRxErrors = 4,      // failed reads
  kRxLastErrno = 5,   // errno of the last failed read
  kRxGso = 6,         // frames whose vnet header announced GSO, dropped
  kRxPartialCsum = 7, // frames whose vnet header said NEEDS_CSUM, dropped
  kRxHeader = 8,      // then (offset, length) pairs
};

/** Transmit outcome codes shared with JS; kWouldBlock stays inside the addon. */
enum SendResult : int32_t { kWouldBlock = -1, kSent = 0, kQueued = 1, kQueueFull = 2, kWriteError = 3, kAccepted = 4 };

// With the writer thread, a frame of at least this many bytes is written by the caller itself
// when nothing is queued or being written (order is kept): copying a 64 KB super-segment into the
// ring and waking the writer cost more than the thread saves when both cores are busy anyway
// (bench/http: 1 MB keep-alive 0.74x with every frame through the ring), while the small frames
// of short connections gain most from the thread (1 KB close 1.26x). 16 KiB lies between a
// 10 KB response and a full super-segment.
constexpr size_t kDirectWriteMinBytes = 16 * 1024;

const char* ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "EUNKNOWN";
}

/** A JS Error shaped like Node's system errors: `code` (errno name), `errno` (negative), `syscall`. */
Napi::Error SysErrorToJs(Napi::Env env, const SysError& e, const std::string& what) {
  std::string msg = what + ": " + e.syscall + " failed: " + strerror(e.err) + " (" + ErrnoName(e.err) + ")";
  Napi::Error err = Napi::Error::New(env, msg);
  err.Set("code", Napi::String::New(env, ErrnoName(e.err)));
  err.Set("errno", Napi::Number::New(env, -e.err));
  err.Set("syscall", Napi::String::New(env, e.syscall));
  if (*e.detail != '\0') err.Set("detail", Napi::String::New(env, e.detail));
  return err;
}

uint32_t GetU32(const Napi::Object& o, const char* key, uint32_t fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

class Port : public Napi::ObjectWrap<Port> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Port",
                       {
                           InstanceMethod("send", &Port::Send),
                           InstanceMethod("sendTso", &Port::SendTso),
                           InstanceMethod("close", &Port::Close),
                           InstanceMethod("rxBuffers", &Port::RxBuffers),
                           InstanceMethod("txQueueFrames", &Port::TxQueueFrames),
                           InstanceMethod("lastTxErrno", &Port::LastTxErrno),
                           InstanceMethod("collectTx", &Port::CollectTx),
                           InstanceMethod("roomWaits", &Port::RoomWaits),
                           InstanceMethod("directWrites", &Port::DirectWrites),
                           InstanceMethod("txErrors", &Port::TxErrors),
                           InstanceMethod("pauseRx", &Port::PauseRx),
                           InstanceMethod("resumeRx", &Port::ResumeRx),
                           InstanceMethod("ref", &Port::RefLoop),
                           InstanceMethod("unref", &Port::UnrefLoop),
                           InstanceMethod("info", &Port::Info),
                           InstanceMethod("stats", &Port::Stats),
                           InstanceMethod("setMac", &Port::SetMac),
                           InstanceMethod("setMtu", &Port::SetMtu),
                           InstanceMethod("setIpv4", &Port::SetIpv4),
                           InstanceMethod("setUp", &Port::SetUp),
                           InstanceMethod("setTxQueueLen", &Port::SetTxQueueLen),
                       });
  }

  // new Port(kind: 'tap' | 'packet', name, options, onRx(), onTx(frames, bytes, errors, drained, tsoFrames, tsoBytes), onError(err))
  explicit Port(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Port>(info), async_(info.Env(), "exotap") {
    Napi::Env env = info.Env();
    if (info.Length() < 6 || !info[0].IsString() || !info[1].IsString() || !info[2].IsObject() || !info[3].IsFunction() ||
        !info[4].IsFunction() || !info[5].IsFunction()) {
      Napi::TypeError::New(env, "Port(kind, name, options, onRx, onTx, onError)").ThrowAsJavaScriptException();
      return;
    }
    std::string kind = info[0].As<Napi::String>();
    name_ = info[1].As<Napi::String>();
    Napi::Object o = info[2].As<Napi::Object>();
    if (name_.empty() || name_.size() >= 16) {
      Napi::TypeError::New(env, "interface name must be 1..15 characters").ThrowAsJavaScriptException();
      return;
    }
    maxBatchFrames_ = GetU32(o, "maxBatchFrames", 64);
    maxBatchBytes_ = GetU32(o, "maxBatchBytes", 256 * 1024);
    maxFrameBytes_ = GetU32(o, "maxFrameBytes", 1518);
    uint32_t txQueueFrames = GetU32(o, "txQueueFrames", 1024);
    txQueueBytesMax_ = GetU32(o, "txQueueBytes", 4 * 1024 * 1024);
    if (maxBatchFrames_ < 1 || maxBatchFrames_ > 65536 || maxBatchBytes_ < 1 || maxBatchBytes_ > (64u << 20) ||
        maxFrameBytes_ < 64 || maxFrameBytes_ > kReadSpace - 1 || txQueueFrames < 1 || txQueueFrames > (1u << 20)) {
      Napi::RangeError::New(env, "batch/queue limits out of range").ThrowAsJavaScriptException();
      return;
    }
    std::string netns;
    if (o.Get("netns").IsString()) netns = o.Get("netns").As<Napi::String>();

    SysError se;
    TapFds fds;
    int rc;
    if (kind == "tap") {
      TapOpenOptions to;
      to.name = name_.c_str();
      to.attach = o.Get("attach").ToBoolean();
      to.netns = netns.empty() ? nullptr : netns.c_str();
      to.disableIpv6 = o.Get("disableIpv6").ToBoolean();
      to.sndbufBytes = static_cast<int>(GetU32(o, "sndbufBytes", 0));
      to.vnetHdr = o.Get("vnetHdr").ToBoolean();
      vnetHdrBytes_ = to.vnetHdr ? kVnetHdrBytes : 0;
      rc = openTap(to, &fds, &se);
      isTap_ = true;
    } else if (kind == "packet") {
      rc = openPacketSocket(name_.c_str(), netns.empty() ? nullptr : netns.c_str(),
                            static_cast<int>(GetU32(o, "rcvbufBytes", 0)), static_cast<int>(GetU32(o, "sndbufBytes", 0)),
                            &fds, &se);
    } else {
      Napi::TypeError::New(env, "kind must be 'tap' or 'packet'").ThrowAsJavaScriptException();
      return;
    }
    if (rc != 0) {
      SysErrorToJs(env, se, name_).ThrowAsJavaScriptException();
      return;
    }
    fd_ = fds.fd;
    ctl_ = fds.ctl;
    nl_ = fds.nl;
    ipv6Disabled_ = fds.ipv6Disabled;

    onRx_ = Napi::Persistent(info[3].As<Napi::Function>());
    onTx_ = Napi::Persistent(info[4].As<Napi::Function>());
    onError_ = Napi::Persistent(info[5].As<Napi::Function>());
    arenaBytes_ = static_cast<size_t>(maxBatchBytes_) + kReadSpace;
    MakeRxBuffers(env);
    txSlots_.resize(txQueueFrames);

    uv_loop_t* loop = nullptr;
    int uvrc = napi_get_uv_event_loop(env, &loop) == napi_ok ? uv_poll_init(loop, &poll_, fd_) : UV_EINVAL;
    if (uvrc != 0) {
      close(fd_);
      close(ctl_);
      close(nl_);
      fd_ = ctl_ = nl_ = -1;
      closed_ = true;
      SysErrorToJs(env, SysError{-uvrc, "uv_poll_init"}, name_).ThrowAsJavaScriptException();
      return;
    }
    poll_.data = this;
    if (o.Get("txThread").ToBoolean()) {
      int err = StartWriter(loop);
      if (err != 0) {
        // The poll handle is live: close it the normal way (fds in its close callback), and keep
        // this object alive until then.
        Ref();
        BeginClose(false);
        SysErrorToJs(env, SysError{err, "writer thread"}, name_).ThrowAsJavaScriptException();
        return;
      }
    }
    Ref();  // the open port keeps its JS object alive until the fd is closed
    napi_add_async_cleanup_hook(env, &Port::OnEnvTeardown, this, &cleanupHook_);
    UpdatePoll();
  }

  ~Port() override {
    if (stopFd_ >= 0) close(stopFd_);
    // Only reached after close (the open port holds a reference to itself); kept as a backstop.
    if (fd_ >= 0) close(fd_);
    if (ctl_ >= 0) close(ctl_);
    if (nl_ >= 0) close(nl_);
  }

 private:
  void MakeRxBuffers(Napi::Env env) {
    Napi::ArrayBuffer arena = Napi::ArrayBuffer::New(env, arenaBytes_);
    arena_ = static_cast<uint8_t*>(arena.Data());
    arenaRef_ = Napi::Persistent(arena);
    Napi::Uint32Array meta = Napi::Uint32Array::New(env, kRxHeader + 2 * static_cast<size_t>(maxBatchFrames_));
    meta_ = meta.Data();
    metaRef_ = Napi::Persistent(meta);
  }

  /**
   * A frame view handed to JS exposes the arena; JS may transfer (detach) it, after which V8 may
   * free that memory. Checked once per wake-up, before any read touches the arena.
   */
  void EnsureRxBuffers(Napi::Env env) {
    if (arenaRef_.Value().IsDetached() || metaRef_.Value().ArrayBuffer().IsDetached()) MakeRxBuffers(env);
  }

  void UpdatePoll() {
    if (closed_) return;
    int events = (rxPaused_ || rxFailed_ ? 0 : UV_READABLE) | (!threaded_ && txCount_ > 0 ? UV_WRITABLE : 0);
    if (events == pollEvents_) return;
    pollEvents_ = events;
    if (events == 0) {
      uv_poll_stop(&poll_);
    } else {
      uv_poll_start(&poll_, events, &Port::OnPoll);
    }
  }

  static void OnPoll(uv_poll_t* handle, int status, int events) {
    Port* self = static_cast<Port*>(handle->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    if (status < 0) {
      // libuv has already stopped the handle (EPOLLERR: e.g. the TAP was deleted under us).
      self->pollEvents_ = 0;
      self->rxFailed_ = true;
      SysError se{-status, "uv_poll"};
      self->ReportError(env, se);
      return;
    }
    if ((events & UV_WRITABLE) != 0) self->DrainTx(env);
    if (!self->closed_ && (events & UV_READABLE) != 0) self->ReadBatch(env);
  }

  void ReadBatch(Napi::Env env) {
    EnsureRxBuffers(env);  // JS notices a detached arena itself and fetches rxBuffers() again
    uint32_t frames = 0, oversize = 0, runt = 0, empty = 0, errors = 0, lastErrno = 0, gso = 0, partialCsum = 0;
    struct iovec iov[2] = {{rxHdr_, static_cast<size_t>(vnetHdrBytes_)}, {nullptr, 0}};
    size_t used = 0;
    bool fatal = false;
    while (frames < maxBatchFrames_ && used < maxBatchBytes_) {
      uint8_t* dst = arena_ + used;
      size_t space = arenaBytes_ - used;  // >= kReadSpace by construction
      // A TAP read returns the frame's full length even when it had to cut it; MSG_TRUNC makes a
      // packet socket do the same, so "n > space" means truncated on both.
      ssize_t n;
      if (vnetHdrBytes_ != 0) {
        iov[1].iov_base = dst;
        iov[1].iov_len = space;
        n = readv(fd_, iov, 2);
      } else {
        n = isTap_ ? read(fd_, dst, space) : recv(fd_, dst, space, MSG_TRUNC);
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        errors++;
        lastErrno = static_cast<uint32_t>(errno);
        // A TAP fd fails only when it is unusable (EBADFD: the device is gone); polling it again
        // would spin. A packet socket reports a one-shot sk_err (ENETDOWN) and carries on.
        fatal = isTap_;
        break;
      }
      if (n == 0) {
        empty++;  // spurious readiness; never spin on it
        break;
      }
      if (vnetHdrBytes_ != 0) {
        if (n < vnetHdrBytes_) {  // never seen: the TAP writes a whole header before every frame
          runt++;
          continue;
        }
        n -= vnetHdrBytes_;
        if ((rxHdr_[1] & ~kVirtioNetHdrGsoEcn) != 0) {
          gso++;
          continue;
        }
        if ((rxHdr_[0] & kVirtioNetHdrFNeedsCsum) != 0) {
          partialCsum++;
          continue;
        }
      }
      if (static_cast<size_t>(n) > maxFrameBytes_ || static_cast<size_t>(n) > space) {
        oversize++;
        continue;
      }
      if (n < kEthHeaderBytes) {
        runt++;
        continue;
      }
      meta_[kRxHeader + 2 * frames] = static_cast<uint32_t>(used);
      meta_[kRxHeader + 2 * frames + 1] = static_cast<uint32_t>(n);
      frames++;
      used += (static_cast<size_t>(n) + 7) & ~static_cast<size_t>(7);  // 8-aligned frame starts
    }
    if (frames != 0 || oversize != 0 || runt != 0 || empty != 0 || errors != 0 || gso != 0 || partialCsum != 0) {
      meta_[kRxFrames] = frames;
      meta_[kRxOversize] = oversize;
      meta_[kRxRunt] = runt;
      meta_[kRxEmpty] = empty;
      meta_[kRxErrors] = errors;
      meta_[kRxLastErrno] = lastErrno;
      meta_[kRxGso] = gso;
      meta_[kRxPartialCsum] = partialCsum;
      Call(env, onRx_, {});
    }
    if (fatal && !closed_) {
      rxFailed_ = true;
      UpdatePoll();
      SysError se{static_cast<int>(lastErrno), isTap_ ? "read" : "recv"};
      ReportError(env, se);
    }
  }

  void DrainTx(Napi::Env env) {
    TxDone done;
    while (txCount_ > 0) {
      const TxSlot& slot = txSlots_[txHead_];
      ssize_t w = write(fd_, TxFrame(slot), slot.len);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        done.errors++;
        CountTxError(errno);
      } else {
        done.account(TxFrame(slot), slot.len, vnetHdrBytes_);
      }
      PopTx();
    }
    UpdatePoll();
    if (done.any()) ReportTx(env, done, txCount_ == 0, false);
  }

  // Frames are stored whole (vnet header first) in one byte ring of txQueueBytesMax_ bytes, and
  // described by a ring of txQueueFrames slots: the two bounds of the queue.
  struct TxSlot {
    size_t at = 0, len = 0;
  };
  static constexpr size_t kNoRoom = SIZE_MAX;

  /** Counts of the frames one drain (or the writer thread since the last report) wrote. */
  struct TxDone {
    uint64_t frames = 0, bytes = 0, errors = 0, tsoFrames = 0, tsoBytes = 0;
    bool any() const { return frames != 0 || errors != 0; }
    /** A frame of `len` bytes at `frame` (its vnet header first, if any) was written. */
    void account(const uint8_t* frame, size_t len, int vnetHdrBytes) {
      uint64_t frameBytes = len - static_cast<size_t>(vnetHdrBytes);
      frames++;
      bytes += frameBytes;
      if (vnetHdrBytes != 0 && frame[1] != 0) {  // gso_type set: a super-segment
        tsoFrames++;
        tsoBytes += frameBytes;
      }
    }
  };

  /** onTx(frames, bytes, errors, drained, tsoFrames, tsoBytes); MakeCallback from libuv, a plain call from a JS call. */
  void ReportTx(Napi::Env env, const TxDone& d, bool drained, bool fromJs) {
    napi_value args[] = {Napi::Number::New(env, static_cast<double>(d.frames)), Napi::Number::New(env, static_cast<double>(d.bytes)),
                         Napi::Number::New(env, static_cast<double>(d.errors)), Napi::Boolean::New(env, drained),
                         Napi::Number::New(env, static_cast<double>(d.tsoFrames)),
                         Napi::Number::New(env, static_cast<double>(d.tsoBytes))};
    if (fromJs) {
      onTx_.Call(Value(), {args[0], args[1], args[2], args[3], args[4], args[5]});
    } else {
      Call(env, onTx_, {args[0], args[1], args[2], args[3], args[4], args[5]});
    }
  }

  /** Record a failed write: the last errno (for the log) and a count per errno (txErrors()). Holds txMu_. */
  void CountTxErrorLocked(int err) {
    lastTxErrno_ = err;
    for (auto& e : txErrnos_) {
      if (e.first == err) {
        e.second++;
        return;
      }
    }
    txErrnos_.emplace_back(err, 1);
  }
  void CountTxError(int err) {
    std::lock_guard<std::mutex> lk(txMu_);
    CountTxErrorLocked(err);
  }

  /**
   * Where a frame of `len` bytes fits in the byte ring now, or kNoRoom. Queued frames occupy
   * [head frame's start, txTail_) — or, wrapped, [start, end) and [0, txTail_); a frame never
   * straddles the end (it starts again at 0, leaving the end unused until the head passes it).
   * With the writer thread, the caller holds txMu_ (the writer moves the head).
   */
  size_t TxPlace(size_t len) {
    if (txCount_ >= txSlots_.size()) return kNoRoom;
    if (txBytes_.empty()) txBytes_.resize(txQueueBytesMax_);  // allocated when first needed
    const size_t cap = txBytes_.size();
    if (txCount_ == 0) return len <= cap ? 0 : kNoRoom;
    const size_t headAt = txSlots_[txHead_].at;
    if (txTail_ > headAt) {
      if (txTail_ + len <= cap) return txTail_;
      return len <= headAt ? 0 : kNoRoom;
    }
    return txTail_ + len <= headAt ? txTail_ : kNoRoom;
  }

  /** Copy the frame gathered from `iov` to `at` (free space, found by TxPlace). */
  void TxCopy(size_t at, const struct iovec* iov, size_t parts) {
    uint8_t* dst = txBytes_.data() + at;
    for (size_t i = 0; i < parts; i++) {
      if (iov[i].iov_len != 0) memcpy(dst, iov[i].iov_base, iov[i].iov_len);
      dst += iov[i].iov_len;
    }
  }

  /** Queue the frame copied to `at` behind the others. With the writer thread, holds txMu_. */
  void TxPush(size_t at, size_t len) {
    txSlots_[(txHead_ + txCount_) % txSlots_.size()] = TxSlot{at, len};
    txTail_ = at + len;
    txCount_++;
  }

  uint8_t* TxFrame(const TxSlot& slot) { return txBytes_.data() + slot.at; }

  void PopTx() {
    txHead_ = (txHead_ + 1) % txSlots_.size();
    txCount_--;
  }

  /** Call into JS from a libuv callback; an exception is routed to 'uncaughtException' like any async callback's. */
  void Call(Napi::Env env, Napi::FunctionReference& fn, const std::initializer_list<napi_value>& args) {
    // The C call, not Napi's MakeCallback: when the environment is being torn down (a worker
    // terminated: its remaining libuv callbacks still run) JS cannot run, and Napi would turn
    // that into a fatal error. Then there is no one left to tell, so nothing is reported.
    napi_value result;
    if (napi_make_callback(env, async_, Value(), fn.Value(), args.size(), args.begin(), &result) == napi_ok) return;
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
    napi_value e;
    if (napi_get_and_clear_last_exception(env, &e) == napi_ok) napi_fatal_exception(env, e);
  }

  void ReportError(Napi::Env env, const SysError& se) {
    if (closed_) return;
    Call(env, onError_, {SysErrorToJs(env, se, name_).Value()});
  }

  // send(...frameParts: Uint8Array[]): SendResult
  Napi::Value Send(const Napi::CallbackInfo& info) {
    static const uint8_t kPlainHdr[kVnetHdrBytes] = {};  // no offload: flags 0, GSO_NONE
    return SendParts(info, 0, kPlainHdr);
  }

  // sendTso(segmentBytes, headerBytes, checksumStart, ...frameParts: Uint8Array[]): SendResult
  // One IPv4/TCP super-segment whose TCP checksum field holds the pseudo-header sum; the host
  // kernel segments it (tcp_gso_segment) and completes each segment's checksum.
  Napi::Value SendTso(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
      Napi::TypeError::New(env, "sendTso(segmentBytes, headerBytes, checksumStart, ...parts)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    uint32_t segment = info[0].As<Napi::Number>().Uint32Value();
    uint32_t header = info[1].As<Napi::Number>().Uint32Value();
    uint32_t csumStart = info[2].As<Napi::Number>().Uint32Value();
    if (segment < 1 || segment > 0xffff || header > 0xffff || csumStart + kTcpChecksumOffset + 2 > header) {
      Napi::RangeError::New(env, "sendTso: segmentBytes, headerBytes or checksumStart out of range").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (vnetHdrBytes_ == 0) {
      CountTxError(EOPNOTSUPP);  // opened without a vnet header: nothing to carry the request
      return Napi::Number::New(env, kWriteError);
    }
    uint8_t hdr[kVnetHdrBytes];
    hdr[0] = kVirtioNetHdrFNeedsCsum;
    hdr[1] = kVirtioNetHdrGsoTcpv4;
    PutLe16(hdr + 2, header);
    PutLe16(hdr + 4, segment);
    PutLe16(hdr + 6, csumStart);
    PutLe16(hdr + 8, kTcpChecksumOffset);
    return SendParts(info, 3, hdr);
  }

  /** Write (or queue) the frame gathered from info[first..]; `hdr` is its vnet header when the port has one. */
  Napi::Value SendParts(const Napi::CallbackInfo& info, size_t first, const uint8_t* hdr) {
    Napi::Env env = info.Env();
    size_t parts = info.Length() - first;
    if (info.Length() <= first || parts > kMaxIov) {
      Napi::TypeError::New(env, "send takes 1..64 Uint8Arrays").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    struct iovec iov[kMaxIov + 1];
    size_t lead = vnetHdrBytes_ != 0 ? 1 : 0;
    if (lead != 0) {
      iov[0].iov_base = const_cast<uint8_t*>(hdr);
      iov[0].iov_len = static_cast<size_t>(vnetHdrBytes_);
    }
    size_t total = 0;
    for (size_t i = 0; i < parts; i++) {
      napi_typedarray_type type;
      size_t length = 0;
      void* data = nullptr;
      if (!info[first + i].IsTypedArray() ||
          napi_get_typedarray_info(env, info[first + i], &type, &length, &data, nullptr, nullptr) != napi_ok ||
          (type != napi_uint8_array && type != napi_uint8_clamped_array)) {
        Napi::TypeError::New(env, "send: every part must be a Uint8Array").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      iov[lead + i].iov_base = data;
      iov[lead + i].iov_len = length;
      total += length;
    }
    parts += lead;
    total += static_cast<size_t>(vnetHdrBytes_);
    if (closed_) {
      CountTxError(EBADF);
      return Napi::Number::New(env, kWriteError);
    }
    if (threaded_) {
      if (total >= kDirectWriteMinBytes && WriterIdle()) {
        int32_t r = WriteNow(iov, parts);
        if (r == kSent) directWrites_++;
        if (r != kWouldBlock) return Napi::Number::New(env, r);
      }
      return Napi::Number::New(env, Enqueue(iov, parts, total));
    }
    if (txCount_ == 0) {
      int32_t r = WriteNow(iov, parts);
      if (r != kWouldBlock) return Napi::Number::New(env, r);
    }
    // Would block, or frames are already waiting (order is kept): copy into the queue.
    size_t at = TxPlace(total);
    if (at == kNoRoom) return Napi::Number::New(env, kQueueFull);
    TxCopy(at, iov, parts);
    TxPush(at, total);
    UpdatePoll();
    return Napi::Number::New(env, kQueued);
  }

  /** One writev of the whole frame (TAP and packet writes are all or nothing): kSent, kWriteError (counted) or kWouldBlock. */
  int32_t WriteNow(const struct iovec* iov, size_t parts) {
    for (;;) {
      ssize_t w = writev(fd_, iov, static_cast<int>(parts));
      if (w >= 0) return kSent;
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return kWouldBlock;
      CountTxError(errno);
      return kWriteError;
    }
  }

  /**
   * Writer-thread mode: nothing queued and nothing being written (the writer pops a frame only
   * after its write), so a frame written now by the caller keeps the order. Only the JS thread
   * queues frames, so this stays true until it queues one.
   */
  bool WriterIdle() {
    std::lock_guard<std::mutex> lk(txMu_);
    return txCount_ == 0 && !writerBlocked_;
  }

  /**
   * Writer-thread mode: copy the frame into the ring's next slot for the writer. Waits for a slot
   * while the ring is full and the writer is writing; refuses (kQueueFull) when it is full and the
   * writer is blocked on the device. kQueued while the writer is blocked, else kAccepted.
   */
  int32_t Enqueue(const struct iovec* iov, size_t parts, size_t total) {
    if (total > txQueueBytesMax_) return kQueueFull;
    std::unique_lock<std::mutex> lk(txMu_);
    size_t at;
    while ((at = TxPlace(total)) == kNoRoom) {
      if (writerBlocked_) return kQueueFull;
      roomWaits_++;
      jsWaitsForRoom_ = true;
      txRoom_.wait(lk);
      jsWaitsForRoom_ = false;
    }
    const bool blocked = writerBlocked_;
    // Free space is ours alone (the writer reads only queued frames and only moves the head, which
    // frees more), so the copy runs without the lock.
    lk.unlock();
    TxCopy(at, iov, parts);
    lk.lock();
    TxPush(at, total);
    const bool wake = writerIdle_;
    lk.unlock();
    if (wake) txWake_.notify_one();
    return blocked ? kQueued : kAccepted;
  }

  int StartWriter(uv_loop_t* loop) {
    stopFd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stopFd_ < 0) return errno;
    int rc = uv_async_init(loop, &txAsync_, &Port::OnTxAsync);
    if (rc != 0) {
      close(stopFd_);
      stopFd_ = -1;
      return -rc;
    }
    txAsync_.data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(&txAsync_));  // the poll handle alone decides whether the card keeps the loop alive
    threaded_ = true;
    writer_ = std::thread(&Port::WriterMain, this);
    pthread_setname_np(writer_.native_handle(), "exotap-tx");
    return 0;
  }

  /** The writer thread: write the ring's frames in order; on EAGAIN poll for POLLOUT (or the stop eventfd). */
  void WriterMain() {
    std::unique_lock<std::mutex> lk(txMu_);
    for (;;) {
      if (txCount_ == 0) {
        if (writerBlocked_) {
          writerBlocked_ = false;
          drainDue_ = true;
          uv_async_send(&txAsync_);
        }
        if (writerStop_) break;
        writerIdle_ = true;
        txWake_.wait(lk, [this] { return txCount_ > 0 || writerStop_; });
        writerIdle_ = false;
        continue;
      }
      const TxSlot slot = txSlots_[txHead_];
      const uint8_t* frame = TxFrame(slot);
      lk.unlock();
      ssize_t w = write(fd_, frame, slot.len);
      int err = w < 0 ? errno : 0;
      lk.lock();
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        if (writerStop_) break;  // closing: what the device does not take now is dropped
        writerBlocked_ = true;
        if (jsWaitsForRoom_) txRoom_.notify_one();  // a full ring now refuses instead of waiting
        lk.unlock();
        WaitWritable();
        lk.lock();
        continue;
      }
      if (err != 0) {
        writerDone_.errors++;
        CountTxErrorLocked(err);
        uv_async_send(&txAsync_);
      } else {
        writerDone_.account(frame, slot.len, vnetHdrBytes_);
      }
      PopTx();
      if (jsWaitsForRoom_) txRoom_.notify_one();
    }
  }

  /** Block until the device takes a write again, or close signals the eventfd. */
  void WaitWritable() {
    struct pollfd fds[2] = {{fd_, POLLOUT, 0}, {stopFd_, POLLIN, 0}};
    while (poll(fds, 2, -1) < 0 && errno == EINTR) {
    }
  }

  /** Stop the writer once it has written what the device takes now, and join it (close, env teardown). */
  void StopWriter() {
    if (!writer_.joinable()) return;
    {
      std::lock_guard<std::mutex> lk(txMu_);
      writerStop_ = true;
    }
    txWake_.notify_one();
    uint64_t one = 1;
    ssize_t ignored = write(stopFd_, &one, sizeof one);
    (void)ignored;
    writer_.join();
  }

  /**
   * What the writer did since the last report. With `drained`: also whether the ring emptied
   * after a block (only the async callback takes that, so onDrain never runs inside counters()).
   */
  void TakeWriterReport(TxDone* done, bool* drained) {
    std::lock_guard<std::mutex> lk(txMu_);
    *done = writerDone_;
    writerDone_ = TxDone{};
    if (drained == nullptr) return;
    *drained = drainDue_;
    drainDue_ = false;
  }

  static void OnTxAsync(uv_async_t* handle) {
    Port* self = static_cast<Port*>(handle->data);
    if (self->closed_) return;
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    TxDone done;
    bool drained = false;
    self->TakeWriterReport(&done, &drained);
    if (done.any() || drained) self->ReportTx(env, done, drained, false);
  }

  // collectTx(): report through onTx what the writer thread wrote since the last report (counters are read now).
  Napi::Value CollectTx(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!threaded_ || closed_) return env.Undefined();
    TxDone done;
    TakeWriterReport(&done, nullptr);
    if (done.any()) ReportTx(env, done, false, true);
    return env.Undefined();
  }

  // close(onClosed: () => void): number of queued frames that could not be written (dropped)
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) return Napi::Number::New(env, 0);
    if (info.Length() > 0 && info[0].IsFunction()) onClosed_ = Napi::Persistent(info[0].As<Napi::Function>());
    // Last chance for the queue: write what the device takes now, drop (and report) the rest.
    // With the writer thread, the writer has done that before it exits; the loop below then meets
    // EAGAIN at once. Frames written here count as sent.
    TxDone done;
    if (threaded_) {
      StopWriter();
      TakeWriterReport(&done, nullptr);
    }
    while (txCount_ > 0) {
      const TxSlot& slot = txSlots_[txHead_];
      ssize_t w = write(fd_, TxFrame(slot), slot.len);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) break;
      done.account(TxFrame(slot), slot.len, vnetHdrBytes_);
      PopTx();
    }
    if (done.any()) ReportTx(env, done, false, true);
    uint32_t dropped = static_cast<uint32_t>(txCount_);
    while (txCount_ > 0) PopTx();
    BeginClose(false);
    return Napi::Number::New(env, dropped);
  }

  void BeginClose(bool teardown) {
    closed_ = true;
    tearingDown_ = teardown;
    if (threaded_) {
      StopWriter();  // already stopped by close(); needed on env teardown
      handlesOpen_++;
      uv_close(reinterpret_cast<uv_handle_t*>(&txAsync_), &Port::OnClosed);
    }
    uv_poll_stop(&poll_);
    handlesOpen_++;
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), &Port::OnClosed);
  }

  /** Close callback of the poll handle and of the writer's async handle; the last one closes the fds. */
  static void OnClosed(uv_handle_t* handle) {
    Port* self = static_cast<Port*>(handle->data);
    if (--self->handlesOpen_ > 0) return;
    if (self->stopFd_ >= 0) close(self->stopFd_);
    self->stopFd_ = -1;
    close(self->fd_);
    close(self->ctl_);
    close(self->nl_);
    self->fd_ = -1;
    self->ctl_ = -1;
    self->nl_ = -1;
    if (self->cleanupHook_ != nullptr) napi_remove_async_cleanup_hook(self->cleanupHook_);
    if (self->tearingDown_) return;  // the environment is going away: no JS, no GC bookkeeping
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    if (!self->onClosed_.IsEmpty()) self->Call(env, self->onClosed_, {});
    self->onRx_.Reset();
    self->onTx_.Reset();
    self->onError_.Reset();
    self->onClosed_.Reset();
    self->Unref();
  }

  static void OnEnvTeardown(napi_async_cleanup_hook_handle, void* arg) {
    Port* self = static_cast<Port*>(arg);
    if (self->closed_) {
      self->tearingDown_ = true;  // close already under way; OnClosed removes the hook
      return;
    }
    self->BeginClose(true);
  }

  Napi::Value RxBuffers(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env, 2);
    out.Set(0u, arenaRef_.Value());
    out.Set(1u, metaRef_.Value());
    return out;
  }

  Napi::Value TxQueueFrames(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lk(txMu_);
    return Napi::Number::New(info.Env(), txCount_);
  }
  Napi::Value LastTxErrno(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lk(txMu_);
    return Napi::String::New(info.Env(), lastTxErrno_ == 0 ? "" : ErrnoName(lastTxErrno_));
  }
  // txErrors(): { [errno name]: failed writes } since open.
  Napi::Value TxErrors(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    std::lock_guard<std::mutex> lk(txMu_);
    for (const auto& e : txErrnos_) o.Set(ErrnoName(e.first), static_cast<double>(e.second));
    return o;
  }
  // directWrites(): writer-thread mode, frames of kDirectWriteMinBytes or more the caller wrote itself (the ring was idle).
  Napi::Value DirectWrites(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(directWrites_)); }
  // roomWaits(): times send() waited for the writer thread to free a slot in a full ring.
  Napi::Value RoomWaits(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lk(txMu_);
    return Napi::Number::New(info.Env(), static_cast<double>(roomWaits_));
  }

  Napi::Value PauseRx(const Napi::CallbackInfo& info) {
    rxPaused_ = true;
    UpdatePoll();
    return info.Env().Undefined();
  }
  Napi::Value ResumeRx(const Napi::CallbackInfo& info) {
    rxPaused_ = false;
    UpdatePoll();
    return info.Env().Undefined();
  }
  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    if (!closed_) uv_ref(reinterpret_cast<uv_handle_t*>(&poll_));
    return info.Env().Undefined();
  }
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    if (!closed_) uv_unref(reinterpret_cast<uv_handle_t*>(&poll_));
    return info.Env().Undefined();
  }

  /** Throws NIC-closed style errors for control calls after close (EBADF). */
  bool CheckOpen(Napi::Env env) {
    if (!closed_) return true;
    SysErrorToJs(env, SysError{EBADF, "ioctl"}, name_).ThrowAsJavaScriptException();
    return false;
  }

  Napi::Value Control(Napi::Env env, int rc, const SysError& se) {
    if (rc != 0) SysErrorToJs(env, se, name_).ThrowAsJavaScriptException();
    return env.Undefined();
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    LinkInfo li;
    SysError se;
    if (getLinkInfo(ctl_, name_.c_str(), &li, &se) != 0) return Control(env, 1, se);
    Napi::Object o = Napi::Object::New(env);
    o.Set("ifindex", li.ifindex);
    o.Set("mtu", li.mtu);
    o.Set("flags", li.flags);
    o.Set("txqueuelen", li.txqueuelen);
    o.Set("mac", Napi::Buffer<uint8_t>::Copy(env, li.mac, 6));
    o.Set("ipv6Disabled", ipv6Disabled_);
    return o;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    LinkStats ls;
    SysError se;
    if (getLinkStats(nl_, name_.c_str(), &ls, &se) != 0) return Control(env, 1, se);
    Napi::Object o = Napi::Object::New(env);
    o.Set("rxPackets", static_cast<double>(ls.rxPackets));
    o.Set("txPackets", static_cast<double>(ls.txPackets));
    o.Set("txDropped", static_cast<double>(ls.txDropped));
    return o;
  }

  Napi::Value SetMac(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().ByteLength() != 6) {
      Napi::TypeError::New(env, "setMac(mac: 6-byte Uint8Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!CheckOpen(env)) return env.Undefined();
    Napi::Uint8Array mac = info[0].As<Napi::Uint8Array>();
    SysError se;
    return Control(env, setMac(ctl_, name_.c_str(), mac.Data(), &se), se);
  }

  /** A control call that takes one integer (MTU, txqueuelen). */
  Napi::Value IntControl(const Napi::CallbackInfo& info, const char* usage,
                         int (*op)(int, const char*, int, SysError*)) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!CheckOpen(env)) return env.Undefined();
    SysError se;
    return Control(env, op(ctl_, name_.c_str(), info[0].As<Napi::Number>().Int32Value(), &se), se);
  }

  Napi::Value SetMtu(const Napi::CallbackInfo& info) { return IntControl(info, "setMtu(bytes)", &setMtu); }
  Napi::Value SetTxQueueLen(const Napi::CallbackInfo& info) {
    return IntControl(info, "setTxQueueLen(frames)", &setTxQueueLen);
  }

  Napi::Value SetIpv4(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "setIpv4(addr: uint32, prefixLen)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!CheckOpen(env)) return env.Undefined();
    SysError se;
    return Control(env,
                   setIpv4(ctl_, name_.c_str(), info[0].As<Napi::Number>().Uint32Value(),
                           info[1].As<Napi::Number>().Int32Value(), &se),
                   se);
  }

  Napi::Value SetUp(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!CheckOpen(env)) return env.Undefined();
    SysError se;
    return Control(env, setUp(ctl_, name_.c_str(), info.Length() > 0 && info[0].ToBoolean(), &se), se);
  }

  std::string name_;
  bool isTap_ = false;
  int fd_ = -1;
  int ctl_ = -1;
  int nl_ = -1;
  bool ipv6Disabled_ = false;

  uv_poll_t poll_{};
  int pollEvents_ = 0;
  bool rxPaused_ = false;
  bool rxFailed_ = false;
  bool closed_ = false;
  bool tearingDown_ = false;
  napi_async_cleanup_hook_handle cleanupHook_ = nullptr;

  Napi::AsyncContext async_;
  Napi::FunctionReference onRx_, onTx_, onError_, onClosed_;

  uint32_t maxBatchFrames_ = 0, maxBatchBytes_ = 0, maxFrameBytes_ = 0;
  size_t arenaBytes_ = 0;
  uint8_t* arena_ = nullptr;
  uint32_t* meta_ = nullptr;
  Napi::Reference<Napi::ArrayBuffer> arenaRef_;
  Napi::Reference<Napi::Uint32Array> metaRef_;

  // The transmit queue. Without the writer thread only the loop thread touches it; with it, txMu_
  // guards head, count, the slots, lastTxErrno_ and the writer's state below.
  std::vector<uint8_t> txBytes_;
  std::vector<TxSlot> txSlots_;
  size_t txHead_ = 0, txCount_ = 0, txTail_ = 0, txQueueBytesMax_ = 0;
  int lastTxErrno_ = 0;
  std::vector<std::pair<int, uint64_t>> txErrnos_;

  bool threaded_ = false;
  std::thread writer_;
  std::mutex txMu_;
  std::condition_variable txWake_;  // the writer waits for frames
  std::condition_variable txRoom_;  // send() waits for a slot
  bool writerIdle_ = false, writerBlocked_ = false, writerStop_ = false, jsWaitsForRoom_ = false, drainDue_ = false;
  TxDone writerDone_;
  uint64_t roomWaits_ = 0;
  uint64_t directWrites_ = 0;  // JS thread only
  int stopFd_ = -1;
  uv_async_t txAsync_{};
  int handlesOpen_ = 0;
  /** 10 with a vnet header (IFF_VNET_HDR), else 0. */
  int vnetHdrBytes_ = 0;
  uint8_t rxHdr_[kVnetHdrBytes] = {};
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Port", Port::Init(env));
  exports.Set("readSpaceBytes", Napi::Number::New(env, kReadSpace));
  exports.Set("maxIov", Napi::Number::New(env, kMaxIov));
  return exports;
}

}  // namespace
}  // namespace exotap

static Napi::Object InitExotap(Napi::Env env, Napi::Object exports) { return exotap::Init(env, exports); }

NODE_API_MODULE(exotap, InitExotap)
