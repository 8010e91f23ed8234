// Every (directory state, event) pair is either a transition or an explicit protocol error,
// never both, never neither (STYLE habit 8).
#include <gtest/gtest.h>

#include "node/directory_protocol.h"

namespace disco {
namespace {

TEST(DirectoryTable, EveryPairIsATransitionOrAnExplicitError) {
  for (unsigned s = 0; s < kDirStates; ++s) {
    for (unsigned e = 0; e < kDirEvents; ++e) {
      const auto state = static_cast<DirState>(s);
      const auto event = static_cast<DirEvent>(e);
      unsigned rows = 0, errors = 0;
      for (const DirTransition& t : kDirectoryTable) rows += t.state == state && t.event == event;
      for (const auto& p : kDirectoryErrors) errors += p.state == state && p.event == event;
      EXPECT_EQ(rows + errors, 1u) << name(state) << " x " << name(event);
      EXPECT_EQ(find_transition(state, event) != nullptr, rows == 1) << name(state) << " x " << name(event);
    }
  }
}

TEST(DirectoryTable, StallsOnlyInBusyStatesAndAlone) {
  for (const DirTransition& t : kDirectoryTable) {
    for (unsigned i = 0; i < t.action_count; ++i) {
      if (t.actions[i] != DirAction::Stall) continue;
      EXPECT_TRUE(t.state == DirState::BusyInv || t.state == DirState::BusyFwd) << name(t.state);
      EXPECT_EQ(t.action_count, 1u);
      EXPECT_EQ(t.next, t.state);
    }
  }
}

TEST(DirectoryTable, UnblockIsLastAndLeavesBusy) {
  for (const DirTransition& t : kDirectoryTable) {
    for (unsigned i = 0; i < t.action_count; ++i) {
      if (t.actions[i] != DirAction::Unblock) continue;
      EXPECT_EQ(i + 1, t.action_count);
      EXPECT_TRUE(t.next != DirState::BusyInv && t.next != DirState::BusyFwd);
    }
  }
}

}  // namespace
}  // namespace disco
