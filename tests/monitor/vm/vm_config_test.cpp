// A VM's configuration: the defaults it derives and the sizes it refuses.
#include <gtest/gtest.h>

#include "monitor/cpu/l2tlb.h"
#include "monitor/vm/vm_config.h"

namespace disco {
namespace {

TEST(VmConfig, TheMonitorsL2TlbReachesAsFarAsTheVmsMemory) {
  EXPECT_EQ(default_l2tlb_entries(VmMode::Bare, 256ull << 20), 1024u) << "bare mode: the hardware's hidden reach";
  EXPECT_EQ(default_l2tlb_entries(VmMode::Monitored, 64ull << 20), 8192u) << "one entry per page pair";
  EXPECT_EQ(default_l2tlb_entries(VmMode::Monitored, 256ull << 20), 32768u);
  EXPECT_EQ(default_l2tlb_entries(VmMode::Monitored, 48ull << 20), 8192u) << "rounded up to a size the L2TLB takes";
  EXPECT_EQ(default_l2tlb_entries(VmMode::Monitored, 4ull << 20), 1024u) << "never below bare mode's";
  for (uint64_t mib : {16, 24, 48, 64, 100, 256})
    EXPECT_TRUE(mips::L2Tlb::valid_size(default_l2tlb_entries(VmMode::Monitored, mib << 20))) << mib;
}

TEST(VmConfig, AnL2TlbLargerThanTheMostItKeepsIsRefused) {
  VmConfig c;
  c.l2tlb_entries = mips::L2Tlb::kMaxEntries;
  EXPECT_EQ(check_shape(c), "");
  c.l2tlb_entries = mips::L2Tlb::kMaxEntries * 2;  // a power of two as a size must be, but 48 MiB of host memory
  EXPECT_NE(check_shape(c).find("the L2TLB needs"), std::string::npos);
  c.l2tlb_entries = 1000;
  EXPECT_NE(check_shape(c).find("the L2TLB needs"), std::string::npos);
}

}  // namespace
}  // namespace disco
