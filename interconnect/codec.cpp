#include "interconnect/codec.h"

#include <array>
#include <cstring>
#include <stdexcept>
#include <string>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>
#include <kj/io.h>

#include "interconnect/wire.capnp.h"

namespace disco {

namespace {

// The wire enums are the message.h enums, ordinal for ordinal.
static_assert(static_cast<unsigned>(wire::GrantState::SHARED) == static_cast<unsigned>(GrantState::Shared));
static_assert(static_cast<unsigned>(wire::GrantState::EXCLUSIVE) == static_cast<unsigned>(GrantState::Exclusive));
static_assert(static_cast<unsigned>(wire::GrantState::MODIFIED) == static_cast<unsigned>(GrantState::Modified));
static_assert(static_cast<unsigned>(wire::NackReason::BAD_LINE) == static_cast<unsigned>(NackReason::BadLine));
static_assert(static_cast<unsigned>(wire::NackReason::HOME_DOWN) == static_cast<unsigned>(NackReason::HomeDown));
static_assert(static_cast<unsigned>(wire::NackReason::STOPPING) == static_cast<unsigned>(NackReason::Stopping));

constexpr size_t kWordBytes = sizeof(capnp::word);

// A protocol message's segment is the root pointer (1 word), Message (1 data word + 1 pointer)
// and one small struct (at most 3 data words + 1 pointer): at most 7 words, after a one-word
// segment table, then its Data (a Ping's pad, a line's bytes). Encoding builds it in a zeroed stack
// segment of kScratchWords, so it allocates nothing but `out`; only a message whose Data does not
// fit there (a padded Ping, a line of the cluster data path) gets a heap segment.
constexpr size_t kScratchWords = 16;
constexpr size_t kStructSegmentWords = 7;  // everything but the Data

// The largest frame decode reads: a Ping with full padding plus a margin. Anything bigger is not
// one of our messages, and the same bound is the traversal limit, so no frame -- however its
// pointers are arranged -- costs the receiver more than reading this many words.
constexpr size_t kMaxFrameWords = 64 + kMaxPadBytes / kWordBytes;
static_assert(kMaxPadBytes >= 4096, "a frame must hold the largest line (MachineGeometry: 4096 bytes)");

// A line's bytes, read as the threads that share machine memory read and write it: in relaxed
// atomic words (the hit path, LineData::take), never a plain copy that could race with them.
capnp::Data::Reader as_data(std::span<const uint8_t> bytes) {
  thread_local std::array<uint64_t, kMaxPadBytes / sizeof(uint64_t)> words;
  const size_t n = bytes.size() / sizeof(uint64_t);
  for (size_t i = 0; i < n; ++i)
    words[i] = __atomic_load_n(reinterpret_cast<const uint64_t*>(bytes.data()) + i, __ATOMIC_RELAXED);
  return {reinterpret_cast<const uint8_t*>(words.data()), bytes.size()};
}

// Message -> one pointer -> a kind's struct -> its Data: depth 3; 4 leaves no room for recursion.
const capnp::ReaderOptions kReaderOptions{.traversalLimitInWords = kMaxFrameWords, .nestingLimit = 4};

// --- encoding ------------------------------------------------------------------------------

void fill(wire::LineRequest::Builder b, const Message& m) {
  b.setLine(m.line);
  b.setPcpu(m.pcpu);
  b.setTxn(m.txn);
}

void fill(wire::Forward::Builder b, const Message& m) {
  b.setLine(m.line);
  b.setRequester(m.requester);
  b.setPcpu(m.pcpu);
  b.setTxn(m.txn);
  b.setHomeTxn(m.home_txn);
}

void fill(wire::Ack::Builder b, const Message& m) {
  b.setLine(m.line);
  b.setHomeTxn(m.home_txn);
  b.setDirty(m.dirty);
  if (!m.data.empty()) b.setData(as_data(m.data));
}

void fill(wire::Ping::Builder b, const Message& m) {
  b.setSeq(m.seq);
  b.setPcpu(m.pcpu);
  if (m.pad_bytes > 0) b.initPad(m.pad_bytes);  // capnp zero-fills new space
}

void fill(wire::Shootdown::Builder b, const Message& m) {
  b.setTxn(m.txn);
  b.setPcpu(m.pcpu);
  b.setVm(m.vm);
  b.setMachinePage(m.machine >> 12);
}

void build(const Message& m, wire::Message::Builder root) {
  root.setSrc(m.src);
  switch (m.kind) {
    case MsgKind::GetS: return fill(root.initGetS(), m);
    case MsgKind::GetX: return fill(root.initGetX(), m);
    case MsgKind::PutS: return root.initPutS().setLine(m.line);
    case MsgKind::PutE: return root.initPutE().setLine(m.line);
    case MsgKind::PutM: {
      auto b = root.initPutM();
      b.setLine(m.line);
      if (!m.data.empty()) b.setData(as_data(m.data));
      return;
    }
    case MsgKind::FwdGetS: return fill(root.initFwdGetS(), m);
    case MsgKind::FwdGetX: return fill(root.initFwdGetX(), m);
    case MsgKind::Inv: {
      auto b = root.initInv();
      b.setLine(m.line);
      b.setHomeTxn(m.home_txn);
      return;
    }
    case MsgKind::Grant: {
      auto b = root.initGrant();
      b.setLine(m.line);
      b.setPcpu(m.pcpu);
      b.setTxn(m.txn);
      b.setState(static_cast<wire::GrantState>(m.grant));
      b.setInvalidated(m.invalidated);
      if (!m.data.empty()) b.setData(as_data(m.data));
      return;
    }
    case MsgKind::InvAck: return fill(root.initInvAck(), m);
    case MsgKind::FwdAck: return fill(root.initFwdAck(), m);
    case MsgKind::PutAck: return root.initPutAck().setLine(m.line);
    case MsgKind::Nack: {
      auto b = root.initNack();
      b.setLine(m.line);
      b.setPcpu(m.pcpu);
      b.setTxn(m.txn);
      b.setReason(static_cast<wire::NackReason>(m.reason));
      return;
    }
    case MsgKind::Ping: return fill(root.initPing(), m);
    case MsgKind::Pong: return fill(root.initPong(), m);
    case MsgKind::PageAlloc: {
      auto b = root.initPageAlloc();
      b.setTxn(m.txn);
      b.setPcpu(m.pcpu);
      b.setVm(m.vm);
      b.setGuestPage(m.guest_page);
      b.setPages(m.pages);
      return;
    }
    case MsgKind::PageGrant: {
      auto b = root.initPageGrant();
      b.setTxn(m.txn);
      b.setPcpu(m.pcpu);
      b.setVm(m.vm);
      b.setGuestPage(m.guest_page);
      b.setMachine(m.machine);
      b.setPages(m.pages);
      return;
    }
    case MsgKind::PageFree: {
      auto b = root.initPageFree();
      b.setVm(m.vm);
      b.setMachine(m.machine);
      b.setPages(m.pages);
      return;
    }
    case MsgKind::TlbShootdown: return fill(root.initTlbShootdown(), m);
    case MsgKind::ShootdownDone: return fill(root.initShootdownDone(), m);
    case MsgKind::VmExited: {
      auto b = root.initVmExited();
      b.setVm(m.vm);
      b.setExit(m.exit_code);
      return;
    }
  }
  throw std::invalid_argument(fmt::format("encode: {} is not a MsgKind", static_cast<unsigned>(m.kind)));
}

void serialize(capnp::MessageBuilder& builder, std::vector<uint8_t>& out) {
  out.resize(capnp::computeSerializedSizeInWords(builder) * kWordBytes);
  kj::ArrayOutputStream stream(kj::arrayPtr(out.data(), out.size()));
  capnp::writeMessage(stream, builder);
}

// --- decoding ------------------------------------------------------------------------------

// The fields each kind carries beyond src, i.e. what decode range-checks. Indexed by MsgKind.
struct Carries {
  bool line = false;
  bool pcpu = false;
  bool requester = false;
};
constexpr std::array<Carries, kMsgKinds> kCarries = {{
    {.line = true, .pcpu = true},                    // GetS
    {.line = true, .pcpu = true},                    // GetX
    {.line = true},                                  // PutS
    {.line = true},                                  // PutE
    {.line = true},                                  // PutM
    {.line = true, .pcpu = true, .requester = true}, // FwdGetS
    {.line = true, .pcpu = true, .requester = true}, // FwdGetX
    {.line = true},                                  // Inv
    {.line = true, .pcpu = true},                    // Grant
    {.line = true},                                  // InvAck
    {.line = true},                                  // FwdAck
    {.line = true},                                  // PutAck
    {.line = true, .pcpu = true},                    // Nack
    {.pcpu = true},                                  // Ping
    {.pcpu = true},                                  // Pong
    {.pcpu = true},                                  // PageAlloc
    {.pcpu = true},                                  // PageGrant
    {},                                              // PageFree
    {.pcpu = true},                                  // TlbShootdown
    {.pcpu = true},                                  // ShootdownDone
    {},                                              // VmExited
}};

std::nullopt_t reject(DropCounters& drops, DropReason reason, const std::string& detail) {
  drops.drop(reason, detail);
  return std::nullopt;
}

// What a kind's struct holds besides the Message fields.
struct Read {
  Message m;
};

std::span<const uint8_t> as_span(capnp::Data::Reader d) { return {d.begin(), d.size()}; }

void take(wire::LineRequest::Reader r, Read& out) {
  out.m.line = r.getLine();
  out.m.pcpu = r.getPcpu();
  out.m.txn = r.getTxn();
}

void take(wire::Put::Reader r, Read& out) {
  out.m.line = r.getLine();
  out.m.data = as_span(r.getData());
}

void take(wire::Forward::Reader r, Read& out) {
  out.m.line = r.getLine();
  out.m.requester = r.getRequester();
  out.m.pcpu = r.getPcpu();
  out.m.txn = r.getTxn();
  out.m.home_txn = r.getHomeTxn();
}

void take(wire::Ack::Reader r, Read& out) {
  out.m.line = r.getLine();
  out.m.home_txn = r.getHomeTxn();
  out.m.dirty = r.getDirty();
  out.m.data = as_span(r.getData());
}

void take(wire::Ping::Reader r, Read& out) {
  out.m.seq = r.getSeq();
  out.m.pcpu = r.getPcpu();
  const size_t pad = r.getPad().size();  // the frame limit keeps this far below 2^32
  out.m.pad_bytes = static_cast<uint32_t>(pad);
}

void take(wire::Shootdown::Reader r, Read& out) {
  out.m.txn = r.getTxn();
  out.m.pcpu = r.getPcpu();
  out.m.vm = r.getVm();
  const uint64_t page = r.getMachinePage();
  out.m.machine = page < (uint64_t{1} << 52) ? page << 12 : ~MachineAddr{0};  // ~0: out of every range
}

// A monitor message's VM and page range against the machine: the empty string, or the problem.
std::string monitor_range_problem(const Message& m, const WireLimits& l) {
  const uint64_t machine_pages = l.pages_per_node * l.nodes;
  if (m.vm >= kMaxVms) return fmt::format("VM {} (ids are below {})", m.vm, kMaxVms);
  switch (m.kind) {
    case MsgKind::PageAlloc:
      if (m.pages == 0 || m.pages > l.pages_per_node) return fmt::format("{} pages", m.pages);
      [[fallthrough]];
    case MsgKind::PageGrant:
      if (m.guest_page > kMaxGuestPages || m.pages > kMaxGuestPages - m.guest_page)
        return fmt::format("guest pages {:#x}+{}", m.guest_page, m.pages);
      if (m.kind == MsgKind::PageAlloc || m.pages == 0) return {};
      // A grant gives pages of its sender's own memory.
      if (m.machine % 4096 != 0 || m.machine / 4096 < m.src * l.pages_per_node ||
          m.machine / 4096 >= (m.src + uint64_t{1}) * l.pages_per_node ||
          m.pages > (m.src + uint64_t{1}) * l.pages_per_node - m.machine / 4096)
        return fmt::format("machine {:#x}+{} pages is not node {}'s", m.machine, m.pages, m.src);
      return {};
    case MsgKind::PageFree: {
      const uint64_t first = m.machine / 4096;
      if (m.pages == 0 || m.machine % 4096 != 0 || first >= machine_pages || m.pages > l.pages_per_node - first % l.pages_per_node)
        return fmt::format("machine {:#x}+{} pages is not one node's", m.machine, m.pages);
      return {};
    }
    case MsgKind::TlbShootdown: case MsgKind::ShootdownDone:
      if (m.machine / 4096 >= machine_pages) return fmt::format("machine page {:#x}", m.machine);
      return {};
    case MsgKind::VmExited:
      if (m.exit_code > kMaxVmExitCode) return fmt::format("exit code {}", m.exit_code);
      return {};
    default:
      return {};
  }
}

// Reads root into a Message and checks it. Runs under runCatchingExceptions: a capnp exception
// thrown from any getter here means the bytes were malformed.
std::optional<Message> check(wire::Message::Reader root, PortIndex arrived_on, const WireLimits& limits,
                             DropCounters& drops) {
  Read r;
  Message& m = r.m;
  m.src = root.getSrc();
  switch (root.which()) {
    case wire::Message::GET_S: m.kind = MsgKind::GetS; take(root.getGetS(), r); break;
    case wire::Message::GET_X: m.kind = MsgKind::GetX; take(root.getGetX(), r); break;
    case wire::Message::PUT_S: m.kind = MsgKind::PutS; take(root.getPutS(), r); break;
    case wire::Message::PUT_E: m.kind = MsgKind::PutE; take(root.getPutE(), r); break;
    case wire::Message::PUT_M:
      m.kind = MsgKind::PutM;
      take(root.getPutM(), r);
      m.dirty = true;  // a PutM is the writeback of a modified line by definition
      break;
    case wire::Message::FWD_GET_S: m.kind = MsgKind::FwdGetS; take(root.getFwdGetS(), r); break;
    case wire::Message::FWD_GET_X: m.kind = MsgKind::FwdGetX; take(root.getFwdGetX(), r); break;
    case wire::Message::INV: {
      m.kind = MsgKind::Inv;
      auto inv = root.getInv();
      m.line = inv.getLine();
      m.home_txn = inv.getHomeTxn();
      break;
    }
    case wire::Message::GRANT: {
      m.kind = MsgKind::Grant;
      auto g = root.getGrant();
      m.line = g.getLine();
      m.pcpu = g.getPcpu();
      m.txn = g.getTxn();
      const auto state = static_cast<unsigned>(g.getState());
      if (state > static_cast<unsigned>(GrantState::Modified))
        return reject(drops, DropReason::UnknownKind, fmt::format("Grant state {}", state));
      m.grant = static_cast<GrantState>(state);
      m.invalidated = g.getInvalidated();
      if (m.invalidated >= limits.nodes)
        return reject(drops, DropReason::BadNode, fmt::format("Grant invalidated {} sharers of {} nodes", m.invalidated, limits.nodes));
      m.data = as_span(g.getData());
      break;
    }
    case wire::Message::INV_ACK: m.kind = MsgKind::InvAck; take(root.getInvAck(), r); break;
    case wire::Message::FWD_ACK: m.kind = MsgKind::FwdAck; take(root.getFwdAck(), r); break;
    case wire::Message::PUT_ACK: m.kind = MsgKind::PutAck; m.line = root.getPutAck().getLine(); break;
    case wire::Message::NACK: {
      m.kind = MsgKind::Nack;
      auto n = root.getNack();
      m.line = n.getLine();
      m.pcpu = n.getPcpu();
      m.txn = n.getTxn();
      const auto reason = static_cast<unsigned>(n.getReason());
      if (reason > static_cast<unsigned>(NackReason::Stopping))
        return reject(drops, DropReason::UnknownKind, fmt::format("Nack reason {}", reason));
      m.reason = static_cast<NackReason>(reason);
      break;
    }
    case wire::Message::PING: m.kind = MsgKind::Ping; take(root.getPing(), r); break;
    case wire::Message::PONG: m.kind = MsgKind::Pong; take(root.getPong(), r); break;
    case wire::Message::PAGE_ALLOC: {
      m.kind = MsgKind::PageAlloc;
      auto a = root.getPageAlloc();
      m.txn = a.getTxn();
      m.pcpu = a.getPcpu();
      m.vm = a.getVm();
      m.guest_page = a.getGuestPage();
      m.pages = a.getPages();
      break;
    }
    case wire::Message::PAGE_GRANT: {
      m.kind = MsgKind::PageGrant;
      auto g = root.getPageGrant();
      m.txn = g.getTxn();
      m.pcpu = g.getPcpu();
      m.vm = g.getVm();
      m.guest_page = g.getGuestPage();
      m.machine = g.getMachine();
      m.pages = g.getPages();
      break;
    }
    case wire::Message::PAGE_FREE: {
      m.kind = MsgKind::PageFree;
      auto f = root.getPageFree();
      m.vm = f.getVm();
      m.machine = f.getMachine();
      m.pages = f.getPages();
      break;
    }
    case wire::Message::TLB_SHOOTDOWN: m.kind = MsgKind::TlbShootdown; take(root.getTlbShootdown(), r); break;
    case wire::Message::SHOOTDOWN_DONE: m.kind = MsgKind::ShootdownDone; take(root.getShootdownDone(), r); break;
    case wire::Message::VM_EXITED: {
      m.kind = MsgKind::VmExited;
      auto e = root.getVmExited();
      m.vm = e.getVm();
      m.exit_code = e.getExit();
      break;
    }
    default:
      return reject(drops, DropReason::UnknownKind,
                    fmt::format("union discriminant {}", static_cast<unsigned>(root.which())));
  }

  const Carries c = kCarries[static_cast<size_t>(m.kind)];
  if (m.src >= limits.nodes)
    return reject(drops, DropReason::BadNode, fmt::format("{} src {} of {} nodes", name(m.kind), m.src, limits.nodes));
  if (c.requester && m.requester >= limits.nodes)
    return reject(drops, DropReason::BadNode,
                  fmt::format("{} requester {} of {} nodes", name(m.kind), m.requester, limits.nodes));
  if (c.pcpu && m.pcpu >= limits.pcpus_per_node)
    return reject(drops, DropReason::BadPcpu,
                  fmt::format("{} pcpu {} of {} per node", name(m.kind), m.pcpu, limits.pcpus_per_node));
  if (c.line && m.line >= limits.total_lines)
    return reject(drops, DropReason::BadLine,
                  fmt::format("{} line {:#x} of {:#x}", name(m.kind), m.line, limits.total_lines));
  // A line's bytes, whole, in the three kinds that may carry them (a clean FwdAck has none to give).
  const bool may_carry = m.kind == MsgKind::Grant || m.kind == MsgKind::PutM || (m.kind == MsgKind::FwdAck && m.dirty);
  if (!m.data.empty() && (!may_carry || m.data.size() != limits.line_bytes))
    return reject(drops, DropReason::BadSize,
                  fmt::format("{} carries {} data bytes (a line is {})", name(m.kind), m.data.size(), limits.line_bytes));
  if (m.pad_bytes > kMaxPadBytes)
    return reject(drops, DropReason::BadSize, fmt::format("{} pad of {} bytes", name(m.kind), m.pad_bytes));
  if (is_monitor_message(m.kind))
    if (const std::string problem = monitor_range_problem(m, limits); !problem.empty())
      return reject(drops, DropReason::BadRange, fmt::format("{}: {}", name(m.kind), problem));
  if (const PortIndex want = port_of(m.kind, m.pcpu); want != arrived_on)
    return reject(drops, DropReason::WrongPort,
                  fmt::format("{} on port {}, belongs on {}", name(m.kind), arrived_on, want));
  return m;
}

}  // namespace

void encode(const Message& msg, std::vector<uint8_t>& out) {
  if (msg.pad_bytes > kMaxPadBytes)
    throw std::invalid_argument(fmt::format("encode: pad of {} bytes is over {}", msg.pad_bytes, kMaxPadBytes));
  if (msg.data.size() > kMaxPadBytes || msg.data.size() % sizeof(uint64_t) != 0)
    throw std::invalid_argument(fmt::format("encode: {} data bytes is not a line (whole words, at most {})",
                                            msg.data.size(), kMaxPadBytes));
  const size_t data_words = (std::max<size_t>(msg.pad_bytes, msg.data.size()) + kWordBytes - 1) / kWordBytes;
  if (kStructSegmentWords + data_words <= kScratchWords) {
    alignas(capnp::word) std::array<uint64_t, kScratchWords> scratch{};
    capnp::MallocMessageBuilder builder(
        kj::arrayPtr(reinterpret_cast<capnp::word*>(scratch.data()), scratch.size()));
    build(msg, builder.initRoot<wire::Message>());
    serialize(builder, out);
  } else {
    // One segment big enough for all of it: a padded Ping stays a single-segment message exactly
    // like the protocol message it imitates.
    capnp::MallocMessageBuilder builder(static_cast<unsigned>(kStructSegmentWords + data_words));
    build(msg, builder.initRoot<wire::Message>());
    serialize(builder, out);
  }
}

std::optional<Message> decode(std::span<const uint8_t> bytes, PortIndex arrived_on, const WireLimits& limits,
                              DropCounters& drops) {
  if (bytes.empty() || bytes.size() % kWordBytes != 0)
    return reject(drops, DropReason::Truncated, fmt::format("{} bytes is not a whole number of words", bytes.size()));
  if (bytes.size() > kMaxFrameWords * kWordBytes)
    return reject(drops, DropReason::Malformed,
                  fmt::format("{} bytes is more than the largest message ({})", bytes.size(), kMaxFrameWords * kWordBytes));

  // Cap'n Proto reads words in place; a frame from an unaligned buffer is copied once.
  alignas(capnp::word) std::array<uint8_t, kMaxFrameWords * kWordBytes> copy;
  const uint8_t* start = bytes.data();
  if (reinterpret_cast<uintptr_t>(start) % alignof(capnp::word) != 0) {
    std::memcpy(copy.data(), start, bytes.size());
    start = copy.data();
  }
  const kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(start), bytes.size() / kWordBytes);

  // The segment table says how long the message is; the frame must be exactly that long.
  const size_t expected = capnp::expectedSizeInWordsFromPrefix(words);
  if (expected > words.size())
    return reject(drops, DropReason::Truncated,
                  fmt::format("{} words, segment table says {}", words.size(), expected));
  if (expected < words.size())
    return reject(drops, DropReason::Malformed,
                  fmt::format("{} words after the message's {}", words.size() - expected, expected));

  std::optional<Message> result;
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader reader(words, kReaderOptions);
    result = check(reader.getRoot<wire::Message>(), arrived_on, limits, drops);
  });
  // The data is a view: into the caller's bytes, not the copy that dies here.
  if (result && !result->data.empty() && start != bytes.data())
    result->data = bytes.subspan(static_cast<size_t>(result->data.data() - start), result->data.size());
  KJ_IF_MAYBE(e, failure) {
    return reject(drops, DropReason::Malformed, std::string(e->getDescription().cStr()));
  }
  return result;
}

}  // namespace disco
