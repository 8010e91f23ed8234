#include "launcher/disco_subrun.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "launcher/shell.h"

namespace disco {

nlohmann::json run_disco_subprocess(const std::string& disco_exe, const std::string& dir, const std::string& name,
                                    const std::vector<std::string>& flags, nlohmann::json& failures) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir + "/runs", ec);
  const std::string json_path = fmt::format("{}/runs/{}.json", dir, name);
  std::string cmd = shell_quoted(disco_exe) + " run";
  for (const std::string& f : flags) cmd += " " + shell_quoted(f);
  cmd += fmt::format(" --quiet --results {} --json {} > {} 2>&1", shell_quoted(dir + "/runs"), shell_quoted(json_path),
                     shell_quoted(fmt::format("{}/runs/{}.log", dir, name)));
  const int status = std::system(cmd.c_str());
  nlohmann::json summary =
      fs::exists(json_path) ? nlohmann::json::parse(std::ifstream(json_path), nullptr, false) : nlohmann::json();
  if (status != 0 || !summary.is_object() || summary.value("exit", "") != "ok") {
    failures.push_back({{"run", name},
                        {"exit", summary.is_object() ? summary.value("exit", "?") : fmt::format("status {}", status)}});
    return nlohmann::json();
  }
  return summary;
}

}  // namespace disco
