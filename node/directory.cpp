#include "node/directory.h"

#include <spdlog/spdlog.h>

namespace disco {

std::string_view name(DirEvent e) {
  static constexpr std::string_view kNames[] = {
      "GetS", "GetX", "GetXOnlySharer", "OwnerRequest", "PutOwner", "PutSharer", "PutLastSharer",
      "PutStale", "InvAck", "LastInvAck", "FwdAckShared", "FwdAckExclusive"};
  return static_cast<unsigned>(e) < kDirEvents ? kNames[static_cast<unsigned>(e)] : "?";
}

const DirTransition* find_transition(DirState s, DirEvent e) {
  static const auto index = [] {
    std::array<const DirTransition*, kDirStates * kDirEvents> t{};
    for (const DirTransition& row : kDirectoryTable)
      t[static_cast<unsigned>(row.state) * kDirEvents + static_cast<unsigned>(row.event)] = &row;
    return t;
  }();
  return index[static_cast<unsigned>(s) * kDirEvents + static_cast<unsigned>(e)];
}

Directory::Directory(NodeId self, const MachineGeometry& g, const LineData& data, NodeStats& stats)
    : self_(self),
      geometry_(g),
      first_line_(g.lines_per_node() * self),
      lines_per_page_(static_cast<uint32_t>(kPageBytes / g.line_bytes)),
      group_shift_(g.nodes <= 64 ? 0 : 64 - static_cast<uint32_t>(__builtin_clzll((uint64_t{g.nodes} - 1) / 64))),
      data_(data),
      stats_(stats),
      entries_(g.lines_per_node()),
      page_misses_(g.mem_per_node / kPageBytes * g.nodes) {}

void Directory::handle(const Message& m, Sends& out) {
  std::lock_guard lock(mu_);
  dispatch(m, out);
}

void Directory::dispatch(const Message& m, Sends& out) {
  if (geometry_.home_of_line(m.line) != self_) {
    // The decoder checked the line exists; only the protocol knows it is not homed here.
    stats_.protocol_errors.add();
    if (m.kind == MsgKind::GetS || m.kind == MsgKind::GetX) {
      stats_.nacks.add();
      Message n{.kind = MsgKind::Nack, .src = self_, .line = m.line, .pcpu = m.pcpu, .txn = m.txn,
                .reason = NackReason::BadLine};
      out.push_back({m.src, port_of(MsgKind::Nack, m.pcpu), n});
    }
    return;
  }
  Entry& e = entry(m.line);
  if (m.kind == MsgKind::InvAck || m.kind == MsgKind::FwdAck) {
    auto it = busy_.find(m.line);
    const bool expected = it != busy_.end() && it->second.home_txn == m.home_txn && it->second.awaiting.contains(m.src);
    if (!expected) {  // a reply to no open transaction of this home: stale or forged
      stats_.protocol_errors.add();
      return;
    }
    it->second.awaiting.erase(m.src);
  }
  const DirEvent ev = classify(m, e);
  const DirTransition* t = find_transition(e.state, ev);
  if (t == nullptr) {
    stats_.protocol_errors.add();
    spdlog::warn("node {}: directory dropped {} from node {} for line {:#x}: no transition for {} in {}",
                 self_, name(m.kind), m.src, m.line, name(ev), name(e.state));
    return;
  }
  if ((m.kind == MsgKind::GetS || m.kind == MsgKind::GetX) && t->actions[0] != DirAction::Stall) {
    const uint64_t local_page = (m.line - first_line_) / lines_per_page_;
    ++page_misses_[local_page * geometry_.nodes + m.src];
  }
  // The owner's bytes come home with its writeback or its downgrade to shared. A stale Put's and
  // a FwdAck's for a write are older than the new owner's and never written; a Put that must wait
  // for a transaction is written when served, if its sender still owns the line then.
  if ((ev == DirEvent::PutOwner || ev == DirEvent::FwdAckShared) && t->actions[0] != DirAction::Stall)
    data_.take(m);
  run(*t, m, e, out);
}

bool Directory::group_alone(NodeId n) const {
  return group_shift_ == 0 || (uint32_t{n} >> group_shift_ << group_shift_) + 1 >= geometry_.nodes;  // the last group, of one
}

bool Directory::holds(const Entry& e, NodeId n) const {
  return owned(e.state) ? e.sharers != 0 && e.owner == n : (e.sharers & bit_of(n)) != 0;
}

bool Directory::others(const Entry& e, NodeId n) const {
  const uint64_t bit = bit_of(n);
  return (e.sharers & ~bit) != 0 || ((e.sharers & bit) != 0 && !group_alone(n));
}

DirEvent Directory::classify(const Message& m, const Entry& e) const {
  const bool exclusive = owned(e.state);
  switch (m.kind) {
    case MsgKind::GetS:
    case MsgKind::GetX:
      if (exclusive && holds(e, m.src)) return DirEvent::OwnerRequest;
      if (m.kind == MsgKind::GetS) return DirEvent::GetS;
      if (!exclusive && !others(e, m.src)) return DirEvent::GetXOnlySharer;
      return DirEvent::GetX;
    case MsgKind::PutS:
    case MsgKind::PutE:
    case MsgKind::PutM:
      if (!holds(e, m.src)) return DirEvent::PutStale;
      if (exclusive) return DirEvent::PutOwner;
      return others(e, m.src) ? DirEvent::PutSharer : DirEvent::PutLastSharer;
    case MsgKind::InvAck:
      return !busy_.at(m.line).awaiting.empty() ? DirEvent::InvAck : DirEvent::LastInvAck;
    case MsgKind::FwdAck:
      return busy_.at(m.line).request.kind == MsgKind::GetS ? DirEvent::FwdAckShared
                                                            : DirEvent::FwdAckExclusive;
    default:
      return DirEvent::PutStale;  // unreachable: the engine routes only the kinds above here
  }
}

void Directory::grant(const Message& req, GrantState g, bool from_memory, Sends& out) {
  Message m{.kind = MsgKind::Grant, .src = self_, .line = req.line, .pcpu = req.pcpu, .txn = req.txn,
            .grant = g};
  if (from_memory) data_.attach(m, req.src);
  out.push_back({req.src, port_of(MsgKind::Grant, req.pcpu), m});
}

void Directory::run(const DirTransition& t, const Message& m, Entry& e, Sends& out) {
  const uint64_t bit = bit_of(m.src);
  for (unsigned i = 0; i < t.action_count; ++i) {
    switch (t.actions[i]) {
      case DirAction::GrantShared: grant(m, GrantState::Shared, true, out); break;
      case DirAction::GrantExclusive: grant(m, GrantState::Exclusive, true, out); break;
      // Memory is current unless the requester is the owner asking again (its copy is newer).
      case DirAction::GrantModified: grant(m, GrantState::Modified, e.state != DirState::Exclusive, out); break;
      case DirAction::GrantModifiedPending: {
        const Pending& p = busy_.at(m.line);
        grant(p.request, GrantState::Modified, true, out);
        out.back().msg.invalidated = p.invalidated;
        break;
      }
      case DirAction::AddSharer: e.sharers |= bit; break;
      case DirAction::RemoveSender:
        // An owner leaves alone; a sharer's group bit may stand for others still sharing.
        if (e.state == DirState::Exclusive || group_alone(m.src)) e.sharers &= ~bit;
        break;
      case DirAction::SetOwner: set_owner(e, m.src); break;
      case DirAction::SetOwnerPending: set_owner(e, busy_.at(m.line).request.src); break;
      case DirAction::SharePending: {
        const Pending& p = busy_.at(m.line);
        e.sharers = bit_of(p.old_owner) | bit_of(p.request.src);
        break;
      }
      case DirAction::RecordRequester: {
        Pending& p = busy_[m.line];
        p.request = m;
        p.home_txn = next_txn_++;
        break;
      }
      case DirAction::SendInvalidates: {
        Pending& p = busy_.at(m.line);
        p.awaiting.clear();
        // Every node of every marked group but the requester; past 64 nodes some hold nothing
        // and ack all the same (counted as invalidations: the fan-out the coarse vector costs).
        for (uint64_t s = e.sharers; s; s &= s - 1) {
          const uint32_t first = static_cast<uint32_t>(__builtin_ctzll(s)) << group_shift_;
          for (uint32_t n = first; n < first + (1u << group_shift_) && n < geometry_.nodes; ++n) {
            if (n == m.src) continue;
            p.awaiting.insert(static_cast<NodeId>(n));
            Message inv{.kind = MsgKind::Inv, .src = self_, .line = m.line, .home_txn = p.home_txn};
            out.push_back({static_cast<NodeId>(n), kForwardPort, inv});
            stats_.invalidations.add();
          }
        }
        p.invalidated = static_cast<uint16_t>(p.awaiting.size());
        break;
      }
      case DirAction::ForwardGetS:
      case DirAction::ForwardGetX: {
        Pending& p = busy_.at(m.line);
        p.old_owner = e.owner;
        p.awaiting.clear();
        p.awaiting.insert(p.old_owner);
        Message f{.kind = t.actions[i] == DirAction::ForwardGetS ? MsgKind::FwdGetS : MsgKind::FwdGetX,
                  .src = self_, .line = m.line, .pcpu = m.pcpu, .requester = m.src, .txn = m.txn,
                  .home_txn = p.home_txn};
        out.push_back({p.old_owner, kForwardPort, f});
        stats_.forwards.add();
        break;
      }
      case DirAction::CountAck: break;  // the ack was struck off `awaiting` when it arrived
      case DirAction::SendPutAck: {
        Message a{.kind = MsgKind::PutAck, .src = self_, .line = m.line};
        out.push_back({m.src, kResponsePort, a});
        break;
      }
      case DirAction::Stall:
        // A parked Put keeps its bytes: the owner it came from may be the one the forward in
        // progress makes (its Put overtook the old owner's ack).
        busy_.at(m.line).waiting.push_back({m, {m.data.begin(), m.data.end()}});
        stats_.stalls.add();
        break;
      case DirAction::CountStaleEviction: stats_.stale_evictions.add(); break;
      case DirAction::Unblock: {
        std::deque<Parked> waiting = std::move(busy_.at(m.line).waiting);
        busy_.erase(m.line);
        e.state = t.next;
        // Serve the parked requests in order until one makes the line busy again; the rest
        // go back on the new transaction's queue, ahead of anything newer.
        while (!waiting.empty()) {
          Parked w = std::move(waiting.front());
          waiting.pop_front();
          w.msg.data = w.bytes;
          dispatch(w.msg, out);
          if (busy_.count(m.line)) {
            auto& q = busy_.at(m.line).waiting;
            q.insert(q.end(), std::make_move_iterator(waiting.begin()), std::make_move_iterator(waiting.end()));
            return;
          }
        }
        return;
      }
    }
  }
  e.state = t.next;
}

void Directory::node_down(NodeId dead, Sends& out) {
  std::lock_guard lock(mu_);
  std::vector<Message> acks;
  for (auto& [line, p] : busy_) {
    if (!p.awaiting.contains(dead)) continue;
    const bool forwarded = entry(line).state == DirState::BusyFwd;
    // A dead owner never grants the requester it was forwarded: the home does, from memory.
    if (forwarded)
      grant(p.request, p.request.kind == MsgKind::GetS ? GrantState::Shared : GrantState::Modified, true, out);
    acks.push_back({.kind = forwarded ? MsgKind::FwdAck : MsgKind::InvAck, .src = dead, .line = line,
                    .home_txn = p.home_txn});
  }
  for (const Message& a : acks) dispatch(a, out);
  const uint64_t bit = bit_of(dead);
  for (Entry& e : entries_) {
    if (!holds(e, dead) || e.state == DirState::BusyInv || e.state == DirState::BusyFwd) continue;
    if (e.state == DirState::Exclusive || group_alone(dead)) e.sharers &= ~bit;
    if (e.sharers == 0) e.state = DirState::Uncached;
  }
}

Directory::View Directory::view(LineAddr line) const {
  std::lock_guard lock(mu_);
  const Entry& e = entries_[line - first_line_];
  return {e.state, e.sharers, e.owner, 1u << group_shift_};
}

std::vector<uint32_t> Directory::page_miss_counts() const {
  std::lock_guard lock(mu_);
  return page_misses_;
}

}  // namespace disco
