// --interactive: the launcher on a pseudo-terminal, as a user would run it. The guest's shell
// prompt comes, a typed command runs in the guest, Ctrl-A x ends the run (exit 0), and the
// terminal is given back as it was (not raw).
#include <gtest/gtest.h>

#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <utmp.h>

#include "tests/launcher/launcher_harness.h"

namespace disco::launcher_test {
namespace {

// `disco <args>` with a pseudo-terminal as its stdin, stdout and stderr. The test keeps the slave
// side open too, to read the terminal's modes after the launcher is gone.
class PtyLauncher {
 public:
  explicit PtyLauncher(const std::vector<std::string>& args) {
    if (openpty(&master_, &slave_, nullptr, nullptr, nullptr) != 0) throw std::runtime_error("openpty failed");
    std::vector<std::string> argv{kDisco};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {  // only async-signal-safe calls from here to exec
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(126);
      close(master_);
      if (login_tty(slave_) != 0) _exit(126);  // new session, the pty its controlling terminal
      execv(cargv[0], cargv.data());
      _exit(127);
    }
  }
  PtyLauncher(const PtyLauncher&) = delete;
  PtyLauncher& operator=(const PtyLauncher&) = delete;
  ~PtyLauncher() {
    if (!exit_) {
      kill(pid_, SIGTERM);
      if (!wait_for(10s)) {
        kill(pid_, SIGKILL);
        wait_for(5s);
      }
    }
    std::error_code ec;
    for (const auto& p : run_segments(pid_)) fs::remove(p, ec);
    for (const auto& p : run_socket_dirs(pid_)) fs::remove_all(p, ec);
    close(master_);
    close(slave_);
  }

  pid_t pid() const { return pid_; }
  int slave() const { return slave_; }
  const std::string& seen() const { return seen_; }
  void type(const std::string& keys) { ASSERT_EQ(write(master_, keys.data(), keys.size()), ssize_t(keys.size())); }

  // Reads the terminal until what it showed since `from` contains `text`; false at the deadline.
  bool wait_for_text(const std::string& text, size_t from, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (seen_.find(text, from) == std::string::npos) {
      if (Clock::now() >= deadline) return false;
      read_some(50ms);
    }
    return true;
  }

  std::optional<Exit> wait_for(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!exit_) {
      read_some(20ms);  // a launcher blocked on a full terminal would never exit
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_)
        exit_ = WIFEXITED(st) ? Exit{true, WEXITSTATUS(st), 0} : Exit{false, -1, WTERMSIG(st)};
      else if (Clock::now() >= deadline)
        return std::nullopt;
    }
    return exit_;
  }

 private:
  // What the terminal shows within `timeout`, appended to seen_.
  void read_some(std::chrono::milliseconds timeout) {
    pollfd p{.fd = master_, .events = POLLIN};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
    char buf[4096];
    const ssize_t n = read(master_, buf, sizeof buf);
    if (n > 0) seen_.append(buf, size_t(n));
  }

  int master_ = -1, slave_ = -1;
  pid_t pid_ = -1;
  std::string seen_;
  std::optional<Exit> exit_;
};

TEST(Interactive, ThePromptRunsWhatIsTypedAndCtrlAXQuits) {
  TempDir dir;
  PtyLauncher l({"run", "--bare", "--guest", "debian", "--host-unpack", "--interactive", "--rtc-epoch", "1700000000",
                 "--results", (dir / "results").string(), "--json", (dir / "summary.json").string()});
  termios before{};
  ASSERT_EQ(tcgetattr(l.slave(), &before), 0);

  ASSERT_TRUE(l.wait_for_text("disco-init: up", 0, 300s)) << "no guest\n" << l.seen();
  ASSERT_TRUE(l.wait_for_text("# ", l.seen().find("disco-init: up"), 60s)) << "no shell prompt\n" << l.seen();
  termios during{};
  ASSERT_EQ(tcgetattr(l.slave(), &during), 0);
  EXPECT_FALSE(during.c_lflag & (ICANON | ECHO)) << "the launcher's terminal is raw while the guest has it";

  const size_t typed_at = l.seen().size();
  l.type("echo hi-$((6*7))\r");
  EXPECT_TRUE(l.wait_for_text("\nhi-42", typed_at, 60s)) << "the guest's shell did not run it\n" << l.seen();

  l.type("\x01x");
  const auto exit = l.wait_for(60s);
  ASSERT_TRUE(exit) << "Ctrl-A x did not end the run\n" << l.seen();
  EXPECT_TRUE(exit->exited && exit->code == 0) << describe(*exit) << "\n" << l.seen();
  termios after{};
  ASSERT_EQ(tcgetattr(l.slave(), &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag) << "the terminal's modes were not restored";
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);

  ASSERT_TRUE(fs::exists(dir / "summary.json")) << l.seen();
  EXPECT_TRUE(run_segments(l.pid()).empty()) << joined(run_segments(l.pid()));
  EXPECT_TRUE(run_socket_dirs(l.pid()).empty()) << joined(run_socket_dirs(l.pid()));
  EXPECT_TRUE(processes_mentioning("/tmp/disco-" + std::to_string(l.pid()) + "-").empty()) << "a node survives";
}

}  // namespace
}  // namespace disco::launcher_test
