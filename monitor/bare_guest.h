// A bare-mode guest as a pcpu program (node_process.h): the guest section of the machine
// configuration, and the pcpu body that boots and runs it. The vcpu runs on node 0's first
// pcpu; every other pcpu of the machine has nothing to run and returns at once, while every
// node's engine keeps serving the guest's misses to its memory until the launcher stops the run.
//
// The console goes to a file the launcher names (it copies the file to the terminal as it
// grows); keystrokes come from a FIFO the launcher feeds, when it names one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "monitor/bare_machine.h"
#include "node/node_process.h"

namespace disco {

struct BareGuestSpec {
  BareConfig boot;
  std::string console_path;  // the guest's COM1 output, appended as it comes
  std::string input_fifo;    // keystrokes for COM1 (empty: none)
};

nlohmann::json to_json(const BareGuestSpec& g);
// Strict: throws std::runtime_error with a one-line message.
BareGuestSpec bare_guest_from_json(const nlohmann::json& j);
// Empty when the machine can run this guest, else a one-line reason.
std::string check(const BareGuestSpec& g, const MachineGeometry& machine);

// The pcpu program of a bare-mode run. Its report: guest_instructions, exit (BareExit name),
// poweroff, guest_ns, exceptions, pages_by_node, and an error line if the boot failed.
WorkloadResult run_bare_guest(const PcpuRun& run);

}  // namespace disco
