// A VM's pmap (guest physical -> machine) and a node's memmap (its machine pages and their VMs).
#include <gtest/gtest.h>

#include <stdexcept>

#include "monitor/numa/memmap.h"
#include "monitor/vm/pmap.h"

namespace disco {
namespace {

const MachineGeometry kMachine{.nodes = 4, .mem_per_node = 16u << 20, .line_bytes = 128};

TEST(Pmap, BareLocalIsTheVcpusNodeInOrder) {
  const Pmap p = Pmap::bare(Placement::Local, 8u << 20, kMachine, 2);
  EXPECT_EQ(p.linear_base(), MachineAddr{2} * kMachine.mem_per_node);
  EXPECT_EQ(p.pages_by_node()[2], (8u << 20) / kPageBytes);
}

TEST(Pmap, BareInterleaveGoesRoundTheNodes) {
  Pmap p = Pmap::bare(Placement::Interleave, 8u << 20, kMachine, 0);
  EXPECT_FALSE(p.linear_base());
  for (uint32_t page = 0; page < 8; ++page)
    EXPECT_EQ(p.machine_address(page * kPageBytes + 5, 0) / kMachine.mem_per_node, page % 4) << page;
  for (uint64_t n : p.pages_by_node()) EXPECT_EQ(n, (8u << 20) / kPageBytes / 4);
}

TEST(Pmap, BareFirstTouchPlacesOnFirstUse) {
  Pmap p = Pmap::bare(Placement::FirstTouch, 8u << 20, kMachine, 0);
  EXPECT_EQ(p.table()[3], Pmap::kUnmapped);
  const MachineAddr a = p.machine_address(3 * kPageBytes + 8, 1);
  EXPECT_EQ(a, MachineAddr{1} * kMachine.mem_per_node + 8) << "the toucher's node, its first page";
  EXPECT_EQ(p.machine_address(3 * kPageBytes, 2), a - 8) << "placed once";
  EXPECT_EQ(p.pages_by_node()[1], 1u);
}

TEST(Pmap, BareRefusesWhatTheMachineCannotHold) {
  EXPECT_THROW(Pmap::bare(Placement::Local, 32u << 20, kMachine, 0), std::invalid_argument);
  EXPECT_NE(Pmap::check_bare(Placement::Local, 32u << 20, kMachine).find("raise --mem-per-node"), std::string::npos);
  EXPECT_EQ(Pmap::check_bare(Placement::Interleave, 32u << 20, kMachine), "");
}

TEST(Pmap, MappedRangesMakeTheTable) {
  Pmap p(16 * kPageBytes, kMachine.nodes);
  p.map_range(0, 10, 0x5000, 0);
  EXPECT_FALSE(p.linear_base()) << "six pages still unmapped";
  p.map_range(10, 6, 0x5000 + 10 * kPageBytes, 0);
  EXPECT_EQ(p.linear_base(), MachineAddr{0x5000});
  p.map_range(12, 1, MachineAddr{3} * kMachine.mem_per_node, 3);
  EXPECT_FALSE(p.linear_base());
  EXPECT_EQ(p.machine_address(12 * kPageBytes + 4, 0), MachineAddr{3} * kMachine.mem_per_node + 4);
  EXPECT_THROW(p.map_range(15, 2, 0, 0), std::out_of_range);
}

TEST(Memmap, HandsOutContiguousRangesAndRecordsTheirUse) {
  Memmap m(1, kMachine);
  const uint64_t pages = kMachine.mem_per_node / kPageBytes;
  EXPECT_EQ(m.free_pages(), pages);
  const auto a = m.allocate(7, 0, 100);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].first, kMachine.mem_per_node) << "node 1's first page";
  EXPECT_EQ(m.use(a[0].first + 5 * kPageBytes).vm, 7u);
  EXPECT_EQ(m.use(a[0].first + 5 * kPageBytes).guest_page, 5u);
  EXPECT_EQ(m.pages_of(7), 100u);
  EXPECT_EQ(m.use(0).vm, kNoVm) << "another node's address";
}

TEST(Memmap, GivesWhatItHasAndCoalescesWhatComesBack) {
  Memmap m(0, kMachine);
  const uint64_t pages = kMachine.mem_per_node / kPageBytes;
  const auto a = m.allocate(1, 0, 10), b = m.allocate(2, 0, 10), c = m.allocate(3, 0, 10);
  EXPECT_TRUE(m.free(2, b[0]));
  EXPECT_FALSE(m.free(2, b[0])) << "not held any more";
  EXPECT_FALSE(m.free(1, c[0])) << "another VM's";
  const auto split = m.allocate(4, 0, 15, 1);
  ASSERT_EQ(split.size(), 1u);
  EXPECT_EQ(split[0].pages, 15u) << "first fit: the hole of 10 is too small, the rest is not";
  const auto many = m.allocate(5, 0, pages);
  uint64_t got = 0;
  for (const PageRange& r : many) got += r.pages;
  EXPECT_EQ(got, pages - 10 - 10 - 15) << "fewer pages than asked, in several ranges";
  EXPECT_EQ(m.free_pages(), 0u);
  for (uint32_t vm = 1; vm <= 5; ++vm) m.free_all(vm);
  EXPECT_EQ(m.free_pages(), pages);
  const auto whole = m.allocate(6, 0, pages);
  EXPECT_EQ(whole.size(), 1u) << "everything coalesced back into one range";
  (void)a;
}

}  // namespace
}  // namespace disco
