// A VM's configuration: the sizes it refuses.
#include <gtest/gtest.h>

#include "monitor/cpu/l2tlb.h"
#include "monitor/vm/vm_config.h"

namespace disco {
namespace {

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
