// The home directory's protocol as one explicit table: (state, event) -> (actions, next state),
// in the manner of gem5's SLICC transitions. Directory::classify maps a validated message and
// the line's entry to one DirEvent; Directory::apply runs the actions in order. Every pair that
// is not a transition is an explicit Stall or ProtocolError (tests/node/directory_table_test
// enumerates them all).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>

#include "node/coherence_types.h"

namespace disco {

enum class DirEvent : uint8_t {
  GetS,             // read request from a node that is not the owner
  GetX,             // write request that needs other copies removed
  GetXOnlySharer,   // write request from the only sharer, or with no sharers at all
  OwnerRequest,     // GetS/GetX from the node the directory already lists as owner
  PutOwner,         // eviction notice from the owner
  PutSharer,        // eviction notice from a sharer that leaves others
  PutLastSharer,    // eviction notice from the last sharer
  PutStale,         // eviction notice from a node not listed (it crossed an Inv or a Fwd)
  InvAck,           // an invalidation ack that is not the last
  LastInvAck,       // the last expected invalidation ack
  FwdAckShared,     // the old owner served a FwdGetS
  FwdAckExclusive,  // the old owner served a FwdGetX
};
inline constexpr unsigned kDirEvents = 12;
std::string_view name(DirEvent e);

enum class DirAction : uint8_t {
  GrantShared,          // Grant(S) to the requester
  GrantExclusive,       // Grant(E) to the requester (clean, no other copy)
  GrantModified,        // Grant(M) to the requester
  GrantModifiedPending, // Grant(M) to the requester recorded by the busy transaction
  AddSharer,            // requester joins the sharer vector
  RemoveSender,         // sender leaves the sharer vector / stops being owner
  SetOwner,             // requester becomes the only holder
  SetOwnerPending,      // the recorded requester becomes the only holder
  SharePending,         // old owner and recorded requester become the sharers
  RecordRequester,      // open a busy transaction for this request
  SendInvalidates,      // Inv to every sharer but the requester; count the acks
  ForwardGetS,          // FwdGetS to the owner
  ForwardGetX,          // FwdGetX to the owner
  CountAck,             // one fewer ack to wait for
  SendPutAck,           // PutAck to the evicting node
  Unblock,              // close the busy transaction, then serve the requests that waited
  Stall,                // park the request on the line's wait queue
  CountStaleEviction,   // statistics: an eviction notice that crossed a forward
};

struct DirTransition {
  DirState state;
  DirEvent event;
  DirState next;
  std::array<DirAction, 5> actions;
  uint8_t action_count;
};

// Builds a row; the last action list entry count is derived from the initializer.
constexpr DirTransition T(DirState s, DirEvent e, DirState n, std::initializer_list<DirAction> a) {
  DirTransition t{s, e, n, {}, 0};
  for (DirAction x : a) t.actions[t.action_count++] = x;
  return t;
}

namespace dir_table {
using S = DirState;
using E = DirEvent;
using A = DirAction;

inline constexpr DirTransition kDirectoryTable[] = {
    T(S::Uncached, E::GetS, S::Exclusive, {A::SetOwner, A::GrantExclusive}),
    T(S::Uncached, E::GetXOnlySharer, S::Exclusive, {A::SetOwner, A::GrantModified}),
    T(S::Uncached, E::PutStale, S::Uncached, {A::CountStaleEviction, A::SendPutAck}),

    T(S::Shared, E::GetS, S::Shared, {A::AddSharer, A::GrantShared}),
    T(S::Shared, E::GetX, S::BusyInv, {A::RecordRequester, A::SendInvalidates}),
    T(S::Shared, E::GetXOnlySharer, S::Exclusive, {A::SetOwner, A::GrantModified}),
    T(S::Shared, E::PutSharer, S::Shared, {A::RemoveSender, A::SendPutAck}),
    T(S::Shared, E::PutLastSharer, S::Uncached, {A::RemoveSender, A::SendPutAck}),
    T(S::Shared, E::PutStale, S::Shared, {A::CountStaleEviction, A::SendPutAck}),

    T(S::Exclusive, E::GetS, S::BusyFwd, {A::RecordRequester, A::ForwardGetS}),
    T(S::Exclusive, E::GetX, S::BusyFwd, {A::RecordRequester, A::ForwardGetX}),
    // The owner asking again cannot happen while evictions wait for their PutAck; answering
    // with the permission it already has is harmless and keeps a confused peer moving.
    T(S::Exclusive, E::OwnerRequest, S::Exclusive, {A::GrantModified}),
    T(S::Exclusive, E::PutOwner, S::Uncached, {A::RemoveSender, A::SendPutAck}),
    T(S::Exclusive, E::PutStale, S::Exclusive, {A::CountStaleEviction, A::SendPutAck}),

    T(S::BusyInv, E::GetS, S::BusyInv, {A::Stall}),
    T(S::BusyInv, E::GetX, S::BusyInv, {A::Stall}),
    T(S::BusyInv, E::GetXOnlySharer, S::BusyInv, {A::Stall}),
    T(S::BusyInv, E::OwnerRequest, S::BusyInv, {A::Stall}),
    T(S::BusyInv, E::PutOwner, S::BusyInv, {A::Stall}),
    T(S::BusyInv, E::PutSharer, S::BusyInv, {A::Stall}),
    T(S::BusyInv, E::PutLastSharer, S::BusyInv, {A::Stall}),
    T(S::BusyInv, E::PutStale, S::BusyInv, {A::Stall}),
    T(S::BusyInv, E::InvAck, S::BusyInv, {A::CountAck}),
    T(S::BusyInv, E::LastInvAck, S::Exclusive, {A::CountAck, A::SetOwnerPending, A::GrantModifiedPending, A::Unblock}),

    T(S::BusyFwd, E::GetS, S::BusyFwd, {A::Stall}),
    T(S::BusyFwd, E::GetX, S::BusyFwd, {A::Stall}),
    T(S::BusyFwd, E::GetXOnlySharer, S::BusyFwd, {A::Stall}),
    T(S::BusyFwd, E::OwnerRequest, S::BusyFwd, {A::Stall}),
    T(S::BusyFwd, E::PutOwner, S::BusyFwd, {A::Stall}),
    T(S::BusyFwd, E::PutSharer, S::BusyFwd, {A::Stall}),
    T(S::BusyFwd, E::PutLastSharer, S::BusyFwd, {A::Stall}),
    T(S::BusyFwd, E::PutStale, S::BusyFwd, {A::Stall}),
    T(S::BusyFwd, E::FwdAckShared, S::Shared, {A::SharePending, A::Unblock}),
    T(S::BusyFwd, E::FwdAckExclusive, S::Exclusive, {A::SetOwnerPending, A::Unblock}),
};

// Pairs no correct peer can produce. classify() never yields the first group (it picks
// GetXOnlySharer, PutStale... from the entry); the acks are dropped and counted when they arrive.
struct DirPair {
  DirState state;
  DirEvent event;
};
inline constexpr DirPair kDirectoryErrors[] = {
    {S::Uncached, E::GetX}, {S::Uncached, E::OwnerRequest}, {S::Uncached, E::PutOwner},
    {S::Uncached, E::PutSharer}, {S::Uncached, E::PutLastSharer}, {S::Uncached, E::InvAck},
    {S::Uncached, E::LastInvAck}, {S::Uncached, E::FwdAckShared}, {S::Uncached, E::FwdAckExclusive},
    {S::Shared, E::OwnerRequest}, {S::Shared, E::PutOwner}, {S::Shared, E::InvAck},
    {S::Shared, E::LastInvAck}, {S::Shared, E::FwdAckShared}, {S::Shared, E::FwdAckExclusive},
    {S::Exclusive, E::GetXOnlySharer}, {S::Exclusive, E::PutSharer}, {S::Exclusive, E::PutLastSharer},
    {S::Exclusive, E::InvAck}, {S::Exclusive, E::LastInvAck}, {S::Exclusive, E::FwdAckShared},
    {S::Exclusive, E::FwdAckExclusive},
    {S::BusyInv, E::FwdAckShared}, {S::BusyInv, E::FwdAckExclusive},
    {S::BusyFwd, E::InvAck}, {S::BusyFwd, E::LastInvAck},
};
}  // namespace dir_table

using dir_table::kDirectoryErrors;
using dir_table::kDirectoryTable;

// The row for (state, event), or nullopt: that pair is a protocol error (a message the home
// cannot have been sent by a correct peer). Looked up through a dense index built once.
const DirTransition* find_transition(DirState s, DirEvent e);

}  // namespace disco
