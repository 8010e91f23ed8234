// The message vocabulary: the three virtual networks of port_of, and a name for every enumerator.
#include <set>

#include <gtest/gtest.h>

#include "interconnect/message.h"

namespace disco {
namespace {

TEST(Message, RequestsForwardsAndRepliesTravelOnSeparatePorts) {
  for (PcpuId p : {PcpuId{0}, PcpuId{5}, PcpuId{kMaxPcpusPerNode - 1}}) {
    for (auto k : {MsgKind::GetS, MsgKind::GetX, MsgKind::PutS, MsgKind::PutE, MsgKind::PutM, MsgKind::Ping})
      EXPECT_EQ(port_of(k, p), kRequestPort) << name(k);
    for (auto k : {MsgKind::FwdGetS, MsgKind::FwdGetX, MsgKind::Inv}) EXPECT_EQ(port_of(k, p), kForwardPort) << name(k);
    for (auto k : {MsgKind::InvAck, MsgKind::FwdAck, MsgKind::PutAck}) EXPECT_EQ(port_of(k, p), kResponsePort) << name(k);
    for (auto k : {MsgKind::Grant, MsgKind::Nack, MsgKind::Pong}) EXPECT_EQ(port_of(k, p), kFirstPcpuPort + p) << name(k);
  }
}

TEST(Message, EveryEnumeratorHasADistinctName) {
  std::set<std::string_view> kinds;
  for (unsigned k = 0; k < kMsgKinds; ++k) kinds.insert(name(static_cast<MsgKind>(k)));
  EXPECT_EQ(kinds.size(), kMsgKinds);
  EXPECT_EQ(kinds.count("?"), 0u);
  std::set<std::string_view> reasons;
  for (unsigned r = 0; r < kDropReasons; ++r) reasons.insert(name(static_cast<DropReason>(r)));
  EXPECT_EQ(reasons.size(), kDropReasons);
  EXPECT_EQ(reasons.count("?"), 0u);
  EXPECT_EQ(name(GrantState::Modified), "Modified");
  EXPECT_EQ(name(NackReason::HomeDown), "HomeDown");
  EXPECT_EQ(name(static_cast<MsgKind>(kMsgKinds)), "?");
}

}  // namespace
}  // namespace disco
