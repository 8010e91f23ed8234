/* signals: delivery and return. A SA_SIGINFO handler for kill() to self (si_pid, si_code); a
 * blocked signal stays pending until sigprocmask unblocks it; an interval timer's SIGALRM wakes
 * sigsuspend; a NULL store and a NULL load raise SIGSEGV (si_addr 0) caught three times each via
 * siglongjmp (the mask must be restored each time); an integer division by zero raises SIGFPE
 * (FPE_INTDIV, from gcc's teq); FPU registers survive a handler that uses the FPU itself.
 * ~0.1 M user instructions (most of the work is the kernel's). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "disco_test.h"

static volatile sig_atomic_t usr1_count, usr2_count, alarm_count;
static volatile pid_t usr1_pid;
static volatile int usr1_code;
static sigjmp_buf fault_jmp;
static void *volatile fault_addr;
static volatile int fault_code;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	usr1_count++;
	usr1_pid = si->si_pid;
	usr1_code = si->si_code;
}

/* uses the FPU: the interrupted code's FPU registers must come back intact */
static void on_usr2(int sig)
{
	volatile double x = 1.0;
	for (int i = 0; i < 20; i++)
		x = x * 1.5 + sig;
	usr2_count += x > 0;
}

static void on_alarm(int sig)
{
	(void)sig;
	alarm_count++;
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_addr = si->si_addr;
	fault_code = si->si_code;
	siglongjmp(fault_jmp, sig);
}

static void install(int sig, void (*action)(int, siginfo_t *, void *))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = action;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0, "sigaction(%d): %s", sig, strerror(errno));
}

static void to_self(void)
{
	install(SIGUSR1, on_usr1);
	CHECK(kill(getpid(), SIGUSR1) == 0, "kill: %s", strerror(errno));
	CHECK(usr1_count == 1 && usr1_pid == getpid() && usr1_code == SI_USER,
	      "handler count %d pid %d code %d", (int)usr1_count, (int)usr1_pid, usr1_code);

	sigset_t block, old, pending;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	CHECK(sigprocmask(SIG_BLOCK, &block, &old) == 0, "sigprocmask: %s", strerror(errno));
	raise(SIGUSR1);
	raise(SIGUSR1); /* a standard signal is pending at most once */
	CHECK(usr1_count == 1, "blocked signal delivered");
	CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1), "not pending");
	CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0, "sigprocmask: %s", strerror(errno));
	CHECK(usr1_count == 2, "unblocked: handler ran %d times in all, want 2", (int)usr1_count);
	printf("signals: kill to self, blocking and pending ok\n");
}

static void fpu_across_handler(void)
{
	signal(SIGUSR2, on_usr2);
	volatile double a = 1.0 / 3.0, b = 2.0;
	double x = a, y = b, z = a * b;
	for (int i = 0; i < 5; i++) {
		raise(SIGUSR2);
		x = x * 3.0; /* 1/3 * 3^i, kept in FPU registers across the handler */
		y = y + 0.5;
		z = z - a;
	}
	CHECK(usr2_count == 5, "SIGUSR2 handler ran %d times", (int)usr2_count);
	CHECK(x == 81.0 && y == 4.5 && z < 1e-15 && z > -1.7, "FPU state clobbered: %g %g %g", x, y, z);
	printf("signals: FPU registers preserved across 5 handlers\n");
}

static void timer(void)
{
	signal(SIGALRM, on_alarm);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	struct itimerval it = {{0, 0}, {0, 20000}};
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer: %s", strerror(errno));
	while (alarm_count == 0)
		sigsuspend(&old); /* atomically unblocks SIGALRM and waits */
	sigprocmask(SIG_SETMASK, &old, NULL);
	CHECK(alarm_count == 1, "SIGALRM count %d", (int)alarm_count);
	printf("signals: 20 ms interval timer woke sigsuspend\n");
}

static volatile int *volatile null_ptr;
static volatile int zero_divisor;

static void faults(void)
{
	install(SIGSEGV, on_fault);
	install(SIGFPE, on_fault);
	for (int i = 0; i < 6; i++) {
		fault_addr = (void *)1;
		int sig = sigsetjmp(fault_jmp, 1);
		if (sig == 0) {
			if (i & 1)
				*null_ptr = 1;
			else
				(void)*null_ptr;
			test_fail("NULL %s did not fault", i & 1 ? "store" : "load");
		}
		CHECK(sig == SIGSEGV && fault_addr == NULL && fault_code == SEGV_MAPERR,
		      "fault %d: signal %d addr %p code %d", i, sig, fault_addr, fault_code);
	}
	printf("signals: 6 NULL faults caught\n");
	if (skip_under_user_emulator("division by zero"))
		return;
	volatile int r = 0;
	int sig = sigsetjmp(fault_jmp, 1);
	if (sig == 0) {
		r = 100 / zero_divisor;
		test_fail("division by zero gave %d", r);
	}
	CHECK(sig == SIGFPE && fault_code == FPE_INTDIV, "division by zero: signal %d code %d", sig,
	      fault_code);
	printf("signals: division by zero caught\n");
}

int main(void)
{
	test_begin("signals");
	to_self();
	fpu_across_handler();
	timer();
	faults();
	return test_pass();
}
