#include "node/cache_controller.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace disco {
namespace {

// Makes every running thread of this process pass a full memory barrier (see PcpuFilter).
void barrier_all_threads() {
  if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
    syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
}

void register_membarrier() {
  const long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds < 0 || !(cmds & (MEMBARRIER_CMD_PRIVATE_EXPEDITED | MEMBARRIER_CMD_GLOBAL)))
    throw std::runtime_error("this host kernel lacks membarrier(2), which the node caches need");
  if (cmds & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED)
    syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}

MsgKind put_kind(LineState s) {
  return s == LineState::M ? MsgKind::PutM : s == LineState::E ? MsgKind::PutE : MsgKind::PutS;
}

}  // namespace

CacheController::CacheController(NodeId self, const MachineGeometry& g, const CacheConfig& c,
                                 uint32_t pcpus, const LineData& data, NodeStats& stats)
    : self_(self), geometry_(g), data_(data), stats_(stats), tags_(c, g.line_bytes), next_txn_(pcpus, 0) {
  register_membarrier();
  for (uint32_t p = 0; p < pcpus; ++p) filters_.push_back(std::make_unique<PcpuFilter>(c.filter_entries));
}

void CacheController::revoke(LineAddr line, bool keep_read, std::optional<PcpuId> quiet) {
  bool held = false;  // by a filter whose pcpu may have read the tag and be accessing the line
  for (PcpuId p = 0; p < filters_.size(); ++p) held |= filters_[p]->revoke(line, keep_read) && p != quiet;
  if (held) {
    barrier_all_threads();
    stats_.revocation_barriers.add();
    for (auto& f : filters_)
      while (f->in_access(line)) std::this_thread::yield();
  }
  // Only now: an LL whose access began before the tags were cleared has set its link.
  if (!keep_read)
    for (auto& f : filters_) f->break_link(line);
}

CacheController::Begin CacheController::begin_miss(PcpuId p, LineAddr line, Access want, Sends& out, uint64_t* seen) {
  std::lock_guard lock(mu_);
  if (evicting_.count(line) || mshrs_.count(line)) {
    if (seen) *seen = changes_;
    return Begin::Retry;
  }
  LineCacheModel::Way* w = tags_.find(line);
  if (w != nullptr && (want == Access::Read || w->state != LineState::S)) {
    if (want == Access::Write) w->state = LineState::M;  // E -> M needs no message
    tags_.touch(w);
    filters_[p]->fill(line, w->state == LineState::M);
    return Begin::Hit;
  }
  const MsgKind kind = want == Access::Read ? MsgKind::GetS : MsgKind::GetX;
  const uint32_t txn = ++next_txn_[p];
  mshrs_.emplace(line, Mshr{.issuer = p, .txn = txn, .kind = kind});
  Message req{.kind = kind, .src = self_, .line = line, .pcpu = p, .txn = txn};
  out.push_back({geometry_.home_of_line(line), kRequestPort, req});
  return Begin::Issued;
}

CacheController::Reply CacheController::on_reply(PcpuId p, const Message& m, Sends& out) {
  std::lock_guard lock(mu_);
  auto it = mshrs_.find(m.line);
  if (it == mshrs_.end() || it->second.issuer != p || it->second.txn != m.txn || it->second.granted)
    return Reply::NotMine;
  if (m.kind == MsgKind::Nack) {
    close_miss(it, out);
    return Reply::Refused;
  }
  it->second.granted = true;
  data_.take(m, it->second.invalidated);  // before install lets any pcpu of this node read the line
  const LineState s = m.grant == GrantState::Shared ? LineState::S
                      : m.grant == GrantState::Exclusive && it->second.kind == MsgKind::GetS
                          ? LineState::E
                          : LineState::M;
  install(p, m.line, s, it->second.kind == MsgKind::GetX, out);
  return Reply::Granted;
}

void CacheController::install(PcpuId p, LineAddr line, LineState s, bool want_write, Sends& out) {
  LineCacheModel::Way* w = tags_.find(line);
  if (w == nullptr) {
    w = tags_.choose(line, [&](const LineCacheModel::Way& v) { return !mshrs_.count(v.line); });
    // CacheConfig::check keeps a way free: every other pinned way is another pcpu's miss.
    if (w->line != LineCacheModel::kNoLine) evict(*w, out, p);
    w->line = line;
  }
  w->state = s;
  tags_.touch(w);
  filters_[p]->fill(line, want_write && s == LineState::M);
}

void CacheController::evict(LineCacheModel::Way& w, Sends& out, std::optional<PcpuId> quiet) {
  revoke(w.line, false, quiet);
  evicting_[w.line] = w.state;
  Message put{.kind = put_kind(w.state), .src = self_, .line = w.line, .dirty = w.state == LineState::M};
  const NodeId home = geometry_.home_of_line(w.line);
  if (put.dirty) data_.attach(put, home);  // no pcpu here can write the line until the PutAck
  out.push_back({home, kRequestPort, put});
  stats_.evictions.add();
  if (w.state == LineState::M) stats_.writebacks.add();
  tags_.clear(&w);
}

void CacheController::finish_miss(PcpuId p, LineAddr line, Sends& out) {
  std::lock_guard lock(mu_);
  auto it = mshrs_.find(line);
  if (it == mshrs_.end() || it->second.issuer != p) return;
  close_miss(it, out);
}

void CacheController::close_miss(std::unordered_map<LineAddr, Mshr>::iterator it, Sends& out) {
  std::vector<Message> deferred = std::move(it->second.deferred);
  const bool invalidated = it->second.invalidated;
  const LineAddr line = it->first;
  mshrs_.erase(it);
  // The access is done; a shared copy an Inv has already been acked for goes, as an eviction (the
  // home may list us: our GetS was served after the Inv). An E or M grant came after that Inv's
  // write and stays.
  if (LineCacheModel::Way* w = invalidated ? tags_.find(line) : nullptr; w && w->state == LineState::S) evict(*w, out);
  for (const Message& f : deferred) serve_forward(f, out);
  ++changes_;
  changed_.notify_all();
}

void CacheController::abandon_miss(PcpuId p, LineAddr line, Sends& out) { finish_miss(p, line, out); }

void CacheController::wait_change(uint64_t seen, int timeout_ms) {
  std::unique_lock lock(mu_);
  changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return changes_ != seen; });
}

void CacheController::on_forward(const Message& m, Sends& out) {
  std::lock_guard lock(mu_);
  auto it = mshrs_.find(m.line);
  if (it != mshrs_.end()) {
    // A forward while our own request is open means the home already granted us and the
    // grant is still on its way (the home serialises the line): it waits for the access. A
    // granted miss is never disturbed: its pcpu is doing the access.
    if (it->second.granted || m.kind != MsgKind::Inv) {
      it->second.deferred.push_back(m);
      stats_.deferred_forwards.add();
      return;
    }
    // An Inv before our grant. Of the shared copy we hold while upgrading, or one our GetX cannot
    // have caused: served now. Otherwise our GetS waits: either its Shared grant is on the way,
    // or (a coarse sharer vector invalidates whole groups of nodes) the home holds our GetS until
    // this very write is done. Acking at once serves both; a grant sent before is used once.
    if (tags_.find(m.line) == nullptr && it->second.kind == MsgKind::GetS) {
      it->second.invalidated = true;
      reply_to_forward(m, LineState::I, out);
      return;
    }
  }
  serve_forward(m, out);
}

void CacheController::reply_to_forward(const Message& f, LineState held, Sends& out) {
  if (f.kind == MsgKind::Inv) {
    out.push_back({f.src, kResponsePort,
                   Message{.kind = MsgKind::InvAck, .src = self_, .line = f.line, .home_txn = f.home_txn}});
    return;
  }
  const GrantState g = f.kind == MsgKind::FwdGetS ? GrantState::Shared : GrantState::Modified;
  Message grant{.kind = MsgKind::Grant, .src = self_, .line = f.line, .pcpu = f.pcpu, .txn = f.txn, .grant = g};
  if (held != LineState::I) data_.attach(grant, f.requester);
  Message ack{.kind = MsgKind::FwdAck, .src = self_, .line = f.line, .home_txn = f.home_txn,
              .dirty = held == LineState::M};
  // A dirty line downgraded to shared makes the home's memory current again; after a FwdGetX
  // the new owner has the only current copy and the home takes nothing.
  if (ack.dirty && f.kind == MsgKind::FwdGetS) data_.attach(ack, f.src);
  // The grant goes first: the home grants nobody else until it has the ack, so this node's copy
  // is unchanged until both are encoded.
  out.push_back({f.requester, port_of(MsgKind::Grant, f.pcpu), grant});
  out.push_back({f.src, kResponsePort, ack});
}

void CacheController::serve_forward(const Message& m, Sends& out) {
  if (auto ev = evicting_.find(m.line); ev != evicting_.end()) {
    // Our eviction notice crossed this forward: answer as the holder we were; the home
    // will find the notice stale.
    reply_to_forward(m, ev->second, out);
    return;
  }
  LineCacheModel::Way* w = tags_.find(m.line);
  const LineState held = w ? w->state : LineState::I;
  if (w == nullptr && m.kind != MsgKind::Inv) stats_.protocol_errors.add();  // the home thought we owned it
  if (w == nullptr && m.kind == MsgKind::Inv) stats_.unheld_invalidations.add();
  if (w != nullptr) {
    const bool keep_read = m.kind == MsgKind::FwdGetS;
    revoke(m.line, keep_read);
    if (keep_read)
      w->state = LineState::S;
    else
      tags_.clear(w);
  }
  reply_to_forward(m, held, out);
}

void CacheController::on_put_ack(const Message& m) {
  std::lock_guard lock(mu_);
  if (evicting_.erase(m.line) == 0) {
    stats_.protocol_errors.add();
    return;
  }
  ++changes_;
  changed_.notify_all();
}

LineState CacheController::state_of(LineAddr line) {
  std::lock_guard lock(mu_);
  LineCacheModel::Way* w = tags_.find(line);
  return w ? w->state : LineState::I;
}

bool CacheController::idle() {
  std::lock_guard lock(mu_);
  return mshrs_.empty() && evicting_.empty();
}

}  // namespace disco
