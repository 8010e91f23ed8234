/* forkexec: process life cycle. fork with copy-on-write (child and parent each see their own
 * writes), exit codes collected by waitpid and by wait in any order, a child killed by a signal,
 * vfork + _exit, and execve of /bin/sh (busybox: a static ELF the kernel loads) receiving argv
 * and envp and turning them into an exit code; execve of a missing file fails with ENOENT.
 * ~0.1 M user instructions in this process (most of the work is the kernel's). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disco_test.h"

static volatile int shared_value = 1000;

static int wait_status(pid_t pid)
{
	int st;
	pid_t r;
	do
		r = waitpid(pid, &st, 0);
	while (r == -1 && errno == EINTR);
	CHECK(r == pid, "waitpid(%d) = %d: %s", (int)pid, (int)r, strerror(errno));
	return st;
}

static void fork_and_exit_codes(void)
{
	enum { N = 6 };
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		CHECK(pids[i] >= 0, "fork: %s", strerror(errno));
		if (pids[i] == 0) {
			/* copy-on-write: the parent's value, then our own */
			int ok = shared_value == 1000;
			shared_value = 2000 + i;
			_exit(ok && shared_value == 2000 + i ? 10 + i : 99);
		}
	}
	shared_value = 3000;
	/* reap in reverse creation order */
	for (int i = N - 1; i >= 0; i--) {
		int st = wait_status(pids[i]);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 10 + i, "child %d status 0x%x", i, st);
	}
	CHECK(shared_value == 3000, "parent's value changed to %d", shared_value);

	/* wait() for any child: each code once */
	unsigned seen = 0;
	for (int i = 0; i < N; i++) {
		pid_t p = fork();
		CHECK(p >= 0, "fork: %s", strerror(errno));
		if (p == 0)
			_exit(20 + i);
	}
	for (int i = 0; i < N; i++) {
		int st;
		CHECK(wait(&st) > 0 && WIFEXITED(st), "wait: %s", strerror(errno));
		seen |= 1u << (WEXITSTATUS(st) - 20);
	}
	CHECK_EQ(seen, (1u << N) - 1);
	CHECK(wait(NULL) == -1 && errno == ECHILD, "wait with no children: errno %d", errno);
	printf("forkexec: %d forks, exit codes and copy-on-write ok\n", 2 * N);
}

static void signalled_child(void)
{
	pid_t p = fork();
	CHECK(p >= 0, "fork: %s", strerror(errno));
	if (p == 0) {
		kill(getpid(), SIGKILL);
		_exit(1);
	}
	int st = wait_status(p);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "killed child status 0x%x", st);

	p = vfork();
	CHECK(p >= 0, "vfork: %s", strerror(errno));
	if (p == 0)
		_exit(5);
	st = wait_status(p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5, "vfork child status 0x%x", st);
	printf("forkexec: killed child and vfork ok\n");
}

static void exec(void)
{
	pid_t p = fork();
	CHECK(p >= 0, "fork: %s", strerror(errno));
	if (p == 0) {
		char *argv[] = {"sh", "-c", "exit $(( $1 + $2 + DISCO_BASE ))", "sh", "30", "3", NULL};
		char *envp[] = {"DISCO_BASE=9", "PATH=/bin", NULL};
		execve("/bin/sh", argv, envp);
		_exit(98);
	}
	int st = wait_status(p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42, "exec'd /bin/sh status 0x%x, want exit 42", st);

	p = fork();
	CHECK(p >= 0, "fork: %s", strerror(errno));
	if (p == 0) {
		char *argv[] = {"missing", NULL};
		execve("/nonexistent/disco", argv, argv + 1);
		_exit(errno == ENOENT ? 7 : 97);
	}
	st = wait_status(p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "exec of a missing file: status 0x%x", st);
	printf("forkexec: execve argv/envp -> exit 42 ok\n");
}

int main(void)
{
	test_begin("forkexec");
	fork_and_exit_codes();
	signalled_child();
	exec();
	return test_pass();
}
