// What a run reports: the --json summary (the machine-readable contract of the README) built
// from the nodes' reports, and its readable form on the terminal.
#pragma once

#include <nlohmann/json.hpp>

#include "launcher/machine_run.h"

namespace disco {

// The summary: nodes, workload, ops, exit, counter, checker_errors, stats, host_seconds,
// virtual_seconds, results_dir, and per-node detail. `exit` becomes a failure when the
// counter finals are not exact or the checker found errors.
nlohmann::json summarize(const MachineConfig& cfg, const RunOutcome& run, const std::string& results_dir);

// The run's verdict from its summary: true when exit is "ok".
bool summary_ok(const nlohmann::json& summary);

void print_summary(const nlohmann::json& summary);

}  // namespace disco
