/* The reporting convention every guest test program follows (guest/programs/README.md):
 * deterministic lines on stdout, then exactly "PASS <name>" and exit 0, or "FAIL <name>: <why>"
 * and exit 1. */
#ifndef DISCO_TEST_H
#define DISCO_TEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *disco_test_name;

/* Line-buffered stdout: each line reaches the console in one write, and nothing is left in a
 * buffer that fork() would duplicate. */
static inline void test_begin(const char *name)
{
	disco_test_name = name;
	setvbuf(stdout, NULL, _IOLBF, 0);
}

__attribute__((format(printf, 1, 2), noreturn)) static inline void test_fail(const char *fmt, ...)
{
	va_list ap;
	printf("FAIL %s: ", disco_test_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

/* CHECK(cond, "fmt", ...): fails the program, naming the source line. */
#define CHECK(cond, fmt, ...)                                                   \
	do {                                                                    \
		if (!(cond))                                                    \
			test_fail("line %d: " fmt, __LINE__, ##__VA_ARGS__);    \
	} while (0)

/* CHECK_EQ(a, b) for integers: prints both as 64-bit hex. */
#define CHECK_EQ(a, b)                                                          \
	do {                                                                    \
		unsigned long long a_ = (unsigned long long)(a);                \
		unsigned long long b_ = (unsigned long long)(b);                \
		if (a_ != b_)                                                   \
			test_fail("line %d: %s = 0x%llx, want 0x%llx", __LINE__, #a, a_, b_); \
	} while (0)

/* True, after printing a "skipped" line, when DISCO_TEST_USER_EMULATOR is set: qemu-user runs
 * these programs without a MIPS kernel, so what only that kernel does (emulating a misaligned
 * access after the address error, turning `teq ...,7` into SIGFPE) cannot be checked there. */
static inline int skip_under_user_emulator(const char *what)
{
	if (!getenv("DISCO_TEST_USER_EMULATOR"))
		return 0;
	printf("%s: %s skipped (DISCO_TEST_USER_EMULATOR)\n", disco_test_name, what);
	return 1;
}

static inline int test_pass(void)
{
	printf("PASS %s\n", disco_test_name);
	return 0;
}

#endif
