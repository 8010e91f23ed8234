// A `disco run` of our own binary as a child process, for the benches that measure whole runs
// (guests included) the way a user starts them: its flags, its results folder and log, and the
// summary it wrote with --json.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace disco {

// Runs `disco_exe run <flags> --quiet` with its results under `dir`/runs (the summary in
// runs/<name>.json, the output in runs/<name>.log). Returns the summary, or null when the run
// failed or wrote none; then {"run": name, "exit": why} is appended to `failures`.
nlohmann::json run_disco_subprocess(const std::string& disco_exe, const std::string& dir, const std::string& name,
                                    const std::vector<std::string>& flags, nlohmann::json& failures);

}  // namespace disco
