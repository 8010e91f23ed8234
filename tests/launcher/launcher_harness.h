// What the launcher's end-to-end tests share: start build/disco as a subprocess with its output
// in files and a deadline (a test never hangs), find the processes and leftovers of a run, and
// read its JSON summary.
//
// A run's id is "<launcher pid>-<hex>": its segments are /dev/shm/disco-<run id>-n<k> and its
// sockets live in /tmp/disco-<run id>/, so everything a run leaves behind is found from the
// launcher's pid alone. A Launcher that goes out of scope still running is stopped (SIGTERM, then
// SIGKILL) and whatever its run left is removed, so a failing test does not pollute the host.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace disco::launcher_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline const std::string kDisco = DISCO_EXE;

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh folder under /tmp for one test: results, JSON summary and the launcher's output. It
// is removed at the end unless the test failed, in which case it is kept (and named) for a look.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "launcher-test-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (::testing::Test::HasFailure())
      std::cerr << "[launcher_tests] kept " << path_ << " for inspection\n";
    else
      fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& s) const { return path_ / s; }

 private:
  fs::path path_;
};

// ---- /proc and leftovers ----------------------------------------------------------------------

inline fs::path fmt_proc(pid_t pid, const char* what) { return fs::path("/proc") / std::to_string(pid) / what; }

inline std::vector<std::string> cmdline_of(pid_t pid) {
  const std::string raw = slurp(fmt_proc(pid, "cmdline"));
  std::vector<std::string> args;
  std::string cur;
  for (char c : raw) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) args.push_back(cur);
  return args;
}

// ppid and state from /proc/<pid>/stat ("pid (comm) state ppid ..."; comm may hold spaces).
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
};
inline std::optional<ProcStat> stat_of(pid_t pid) {
  const std::string s = slurp(fmt_proc(pid, "stat"));
  const size_t close = s.rfind(')');
  if (s.empty() || close == std::string::npos) return std::nullopt;
  std::istringstream rest(s.substr(close + 1));
  ProcStat st;
  rest >> st.state >> st.ppid;
  if (!rest) return std::nullopt;
  return st;
}

inline std::vector<pid_t> all_pids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string n = e.path().filename().string();
    if (!n.empty() && n.find_first_not_of("0123456789") == std::string::npos) pids.push_back(std::stoi(n));
  }
  return pids;
}

inline std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> kids;
  for (pid_t p : all_pids())
    if (auto st = stat_of(p); st && st->ppid == parent) kids.push_back(p);
  return kids;
}

// Live (not zombie) processes whose command line mentions `needle`.
inline std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> found;
  for (pid_t p : all_pids()) {
    if (p == getpid()) continue;
    for (const std::string& a : cmdline_of(p))
      if (a.find(needle) != std::string::npos) {
        found.push_back(p);
        break;
      }
  }
  return found;
}

// The node processes a launcher has started, by node index: its children whose command line is
// `disco node ... --node <k>` (a child between fork and exec still shows the launcher's).
inline std::map<unsigned, pid_t> nodes_of(pid_t launcher) {
  std::map<unsigned, pid_t> nodes;
  for (pid_t kid : children_of(launcher)) {
    const auto args = cmdline_of(kid);
    if (args.size() < 2 || args[1] != "node") continue;
    for (size_t i = 2; i + 1 < args.size(); ++i)
      if (args[i] == "--node") nodes[static_cast<unsigned>(std::stoul(args[i + 1]))] = kid;
  }
  return nodes;
}

// Entries of `dir` whose name starts with "disco-<launcher pid>-": the run's segments in
// /dev/shm, its socket folder in /tmp.
inline std::vector<fs::path> run_entries(const fs::path& dir, pid_t launcher) {
  const std::string prefix = "disco-" + std::to_string(launcher) + "-";
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) found.push_back(e.path());
  return found;
}
inline std::vector<fs::path> run_segments(pid_t launcher) { return run_entries("/dev/shm", launcher); }
inline std::vector<fs::path> run_socket_dirs(pid_t launcher) { return run_entries("/tmp", launcher); }

inline std::string joined(const std::vector<fs::path>& v) {
  std::string s;
  for (const auto& p : v) s += (s.empty() ? "" : ", ") + p.string();
  return s.empty() ? "(none)" : s;
}

// ---- the launcher as a subprocess --------------------------------------------------------------

struct Exit {
  bool exited = false;  // false: killed by a signal
  int code = -1;        // exit status, when exited
  int signal = 0;       // the signal, when not
};
inline std::string describe(const Exit& e) {
  return e.exited ? "exit status " + std::to_string(e.code) : "killed by signal " + std::to_string(e.signal);
}

class Launcher {
 public:
  // Starts `disco <args...>` with stdin from /dev/null and stdout/stderr into files of `dir`.
  // The launcher gets SIGTERM if the test process dies (a ctest timeout, a crash), so that it
  // stops its nodes and removes its run's files instead of running on as an orphan. `wrapper`:
  // a command that execs disco where it must run (nsenter into a namespace "host").
  Launcher(const std::vector<std::string>& args, const TempDir& dir, const std::vector<std::string>& wrapper = {})
      : out_path_(dir / "stdout.txt"), err_path_(dir / "stderr.txt") {
    std::vector<std::string> argv = wrapper;
    argv.push_back(kDisco);
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const std::string out = out_path_.string(), err = err_path_.string();
    const pid_t parent = getpid();

    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + strerror(errno));
    if (pid_ == 0) {  // only async-signal-safe calls from here to exec
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(126);
      const int in_fd = open("/dev/null", O_RDONLY);
      const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(126);
      dup2(in_fd, STDIN_FILENO);
      dup2(out_fd, STDOUT_FILENO);
      dup2(err_fd, STDERR_FILENO);
      struct sigaction dfl {};
      dfl.sa_handler = SIG_DFL;
      for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD}) sigaction(sig, &dfl, nullptr);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      execv(cargv[0], cargv.data());
      const char msg[] = "launcher_tests: cannot exec the disco binary (missing, or being relinked?)\n";
      (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
      _exit(127);
    }
    started_ = Clock::now();
  }

  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Whatever happens to the test, the launcher, its nodes and its run's files do not outlive it.
  ~Launcher() {
    if (!exit_) {
      kill(pid_, SIGTERM);  // the launcher stops its nodes and removes its segments
      if (!wait_for(10s)) {
        kill(pid_, SIGKILL);
        wait_for(5s);
      }
    }
    for (int i = 0; i < 100; ++i) {  // nodes die with the launcher (PR_SET_PDEATHSIG); make sure
      const auto left = processes_mentioning("/tmp/disco-" + std::to_string(pid_) + "-");
      if (left.empty()) break;
      for (pid_t p : left) kill(p, SIGKILL);
      std::this_thread::sleep_for(20ms);
    }
    std::error_code ec;
    for (const auto& p : run_segments(pid_)) fs::remove(p, ec);
    for (const auto& p : run_socket_dirs(pid_)) fs::remove_all(p, ec);
  }

  pid_t pid() const { return pid_; }

  // The exit once the launcher has exited, nullopt if it is still running after `timeout`.
  std::optional<Exit> wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!exit_) {
      int st = 0;
      const pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        ended_ = Clock::now();
        exit_ = WIFEXITED(st) ? Exit{true, WEXITSTATUS(st), 0} : Exit{false, -1, WTERMSIG(st)};
        break;
      }
      if (r < 0 && errno != EINTR) {
        exit_ = Exit{false, -1, 0};
        break;
      }
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(5ms);
    }
    return exit_;
  }
  bool running() { return !wait_for(0ms); }
  double seconds() const { return std::chrono::duration<double>((exit_ ? ended_ : Clock::now()) - started_).count(); }

  std::string out() const { return slurp(out_path_); }
  std::string err() const { return slurp(err_path_); }

  // Waits until the launcher has started `n` node processes; their pids by node index.
  std::map<unsigned, pid_t> wait_for_nodes(unsigned n, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::map<unsigned, pid_t> nodes;
    while (Clock::now() < deadline && running()) {
      nodes = nodes_of(pid_);
      if (nodes.size() == n) break;
      std::this_thread::sleep_for(10ms);
    }
    return nodes;
  }

  // Waits until stderr contains `text` (e.g. the first progress line of a running machine).
  bool wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline && running()) {
      if (err().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(20ms);
    }
    return err().find(text) != std::string::npos;
  }

 private:
  fs::path out_path_, err_path_;
  pid_t pid_ = -1;
  std::optional<Exit> exit_;
  Clock::time_point started_, ended_;
};

// `disco run` of a counter workload that would last many minutes on `nodes` nodes: it only ends
// because the test ends it.
inline std::vector<std::string> endless_run(const TempDir& dir, unsigned nodes, const std::vector<std::string>& more = {}) {
  std::vector<std::string> args{"run", "--nodes", std::to_string(nodes), "--workload", "counter", "--ops", "5000000",
                                "--mem-per-node", "4MiB", "--results", (dir / "results").string(),
                                "--json", (dir / "summary.json").string()};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The node processes of a run once the machine runs its workload (the rendezvous is done: the
// launcher prints a progress line only then), or none if it never got there.
inline std::map<unsigned, pid_t> busy_nodes(Launcher& l, unsigned nodes) {
  if (!l.wait_for_stderr("accesses/s", 60s)) return {};
  auto found = nodes_of(l.pid());
  return found.size() == nodes && l.running() ? found : std::map<unsigned, pid_t>{};
}

// ---- one whole run ---------------------------------------------------------------------------

struct RunResult {
  Exit exit;
  bool timed_out = false;
  pid_t pid = -1;
  std::string out, err;
  nlohmann::json summary;  // null when the launcher wrote none
  double seconds = 0;
  std::vector<fs::path> segments_left, socket_dirs_left;

  // For failure messages: what the launcher said.
  std::string transcript() const {
    return "--- " + describe(exit) + (timed_out ? " (timed out)" : "") + "\n--- stdout:\n" + out +
           "--- stderr:\n" + err;
  }
};

// Runs `disco <args...>` to completion (killed after `timeout`), then reads the summary it wrote
// to `json_path`, if any, and looks for leftovers of its run.
inline RunResult run_launcher(const std::vector<std::string>& args, const TempDir& dir, const fs::path& json_path,
                              std::chrono::seconds timeout, const std::vector<std::string>& wrapper = {}) {
  RunResult r;
  {
    Launcher l(args, dir, wrapper);
    r.pid = l.pid();
    if (auto e = l.wait_for(timeout)) {
      r.exit = *e;
    } else {
      r.timed_out = true;
    }
    r.seconds = l.seconds();
    r.segments_left = run_segments(r.pid);
    r.socket_dirs_left = run_socket_dirs(r.pid);
  }  // a timed-out launcher is stopped here
  r.out = slurp(dir / "stdout.txt");
  r.err = slurp(dir / "stderr.txt");
  if (fs::exists(json_path)) r.summary = nlohmann::json::parse(slurp(json_path), nullptr, false);
  return r;
}

// Runs `disco run <flags...> --results <dir>/results --json <dir>/summary.json` to completion
// (killed after `timeout`), then reads its summary and looks for leftovers of its run.
inline RunResult run_disco(const std::vector<std::string>& flags, const TempDir& dir,
                           std::chrono::seconds timeout = 120s, const std::vector<std::string>& wrapper = {}) {
  std::vector<std::string> args{"run"};
  args.insert(args.end(), flags.begin(), flags.end());
  const fs::path json_path = dir / "summary.json";
  for (const std::string& a : std::vector<std::string>{"--results", (dir / "results").string(), "--json", json_path.string()})
    args.push_back(a);
  return run_launcher(args, dir, json_path, timeout, wrapper);
}

// A run the launcher refused (README: "2 bad flags or an impossible machine (one line on stderr,
// nothing started)"): exit 2, one line on stderr that contains `says`, nothing on stdout, and no
// node process (none wrote its log under `results`), segment, socket folder or summary.
inline void expect_refused(const RunResult& r, const std::string& says, const fs::path& results) {
  ASSERT_FALSE(r.timed_out) << "still running: the run was not refused\n" << r.transcript();
  EXPECT_TRUE(r.exit.exited && r.exit.code == 2) << r.transcript();
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line\n" << r.transcript();
  EXPECT_TRUE(!r.err.empty() && r.err.back() == '\n') << r.transcript();
  EXPECT_NE(r.err.find(says), std::string::npos) << "'" << says << "' not in the error line\n" << r.transcript();
  EXPECT_TRUE(r.out.empty()) << r.transcript();
  EXPECT_TRUE(r.summary.is_null()) << "a summary was written: " << r.summary.dump();
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(results, ec)) {
    const std::string name = e.path().filename().string();
    EXPECT_FALSE(name.starts_with("node") || name == "effective-config.json") << "a node was started: " << e.path();
  }
  EXPECT_TRUE(r.segments_left.empty()) << "segments left: " << joined(r.segments_left);
  EXPECT_TRUE(r.socket_dirs_left.empty()) << "socket folders left: " << joined(r.socket_dirs_left);
}

// Asserts that a run succeeded cleanly: exit 0, summary exit "ok", nothing dropped, nothing left.
inline void expect_clean_success(const RunResult& r) {
  ASSERT_FALSE(r.timed_out) << r.transcript();
  EXPECT_TRUE(r.exit.exited && r.exit.code == 0) << r.transcript();
  ASSERT_TRUE(r.summary.is_object()) << "no JSON summary\n" << r.transcript();
  EXPECT_EQ(r.summary.value("exit", std::string("<missing>")), "ok") << r.transcript();
  EXPECT_EQ(r.summary["stats"].value("dropped_messages", uint64_t{999}), 0u) << r.summary["stats"].dump();
  EXPECT_EQ(r.summary.value("failed_accesses", uint64_t{999}), 0u);
  EXPECT_EQ(r.summary.value("ops", uint64_t{0}), r.summary.value("ops_requested", uint64_t{1}));
  EXPECT_TRUE(r.segments_left.empty()) << "segments left: " << joined(r.segments_left);
  EXPECT_TRUE(r.socket_dirs_left.empty()) << "socket folders left: " << joined(r.socket_dirs_left);
}

inline void expect_counter_exact(const RunResult& r) {
  ASSERT_TRUE(r.summary.is_object()) << r.transcript();
  ASSERT_TRUE(r.summary.contains("counter")) << r.summary.dump(2).substr(0, 2000);
  const auto& c = r.summary["counter"];
  EXPECT_TRUE(c.value("exact", false)) << c.dump();
  EXPECT_EQ(c.value("expected", uint64_t{0}), c.value("final", uint64_t{1})) << c.dump();
  EXPECT_GT(c.value("expected", uint64_t{0}), 0u) << c.dump();
}

}  // namespace disco::launcher_test
