/* pipes: byte streams between processes. A child writes 256 KiB of pseudo-random bytes in chunks
 * of 1..4096 bytes (four times the pipe's capacity, so both ends block and wake); the parent reads
 * with other chunk sizes and compares a checksum with its own. Then a 500-round ping-pong over two
 * pipes, EOF once the writer is gone, and EPIPE for a write with no reader (SIGPIPE ignored).
 * ~6 M user instructions in all. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "disco_test.h"

enum { STREAM = 256 * 1024 };

struct stream {
	uint32_t state, hash;
};

static uint8_t next_byte(struct stream *s)
{
	s->state = s->state * 1103515245u + 12345u;
	return (uint8_t)(s->state >> 16);
}

static void hash_bytes(struct stream *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s->hash = (s->hash ^ p[i]) * 16777619u;
}

static void write_all(int fd, const void *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		CHECK(w > 0, "write: %s", strerror(errno));
		p = (const char *)p + w;
		n -= (size_t)w;
	}
}

static void read_all(int fd, void *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		CHECK(r > 0, "read: %s", r == 0 ? "early EOF" : strerror(errno));
		p = (char *)p + r;
		n -= (size_t)r;
	}
}

static int child_status(pid_t pid)
{
	int st;
	CHECK(waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
	return st;
}

static void stream(void)
{
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
	pid_t p = fork();
	CHECK(p >= 0, "fork: %s", strerror(errno));
	if (p == 0) {
		close(fds[0]);
		struct stream s = {1, 0};
		static uint8_t chunk[4096];
		for (size_t sent = 0, k = 0; sent < STREAM; k++) {
			size_t n = 1 + (k * 2654435761u >> 20) % 4096;
			if (n > STREAM - sent)
				n = STREAM - sent;
			for (size_t i = 0; i < n; i++)
				chunk[i] = next_byte(&s);
			write_all(fds[1], chunk, n);
			sent += n;
		}
		_exit(0);
	}
	close(fds[1]);
	struct stream want = {1, 2166136261u}, got = {0, 2166136261u};
	static uint8_t buf[3000];
	size_t total = 0;
	for (;;) {
		ssize_t r = read(fds[0], buf, 1 + total % sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		CHECK(r >= 0, "read: %s", strerror(errno));
		if (r == 0)
			break;
		hash_bytes(&got, buf, (size_t)r);
		for (ssize_t i = 0; i < r; i++)
			buf[i] = next_byte(&want);
		hash_bytes(&want, buf, (size_t)r);
		total += (size_t)r;
	}
	close(fds[0]);
	int st = child_status(p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer status 0x%x", st);
	CHECK(total == STREAM, "received %zu bytes, want %d", total, STREAM);
	CHECK(got.hash == want.hash, "checksum 0x%08x, want 0x%08x", got.hash, want.hash);
	CHECK_EQ(got.hash, 0xe417e2e5u); /* computed on x86-64 from this file */
	printf("pipes: %d bytes streamed, checksum 0x%08x\n", STREAM, got.hash);
}

static void ping_pong(void)
{
	int down[2], up[2];
	CHECK(pipe(down) == 0 && pipe(up) == 0, "pipe: %s", strerror(errno));
	pid_t p = fork();
	CHECK(p >= 0, "fork: %s", strerror(errno));
	if (p == 0) {
		close(down[1]);
		close(up[0]);
		uint32_t v;
		for (;;) {
			ssize_t r = read(down[0], &v, sizeof v);
			if (r == 0)
				_exit(0); /* EOF: the parent closed its end */
			if (r != sizeof v)
				_exit(1);
			v = v * 3 + 1;
			write_all(up[1], &v, sizeof v);
		}
	}
	close(down[0]);
	close(up[1]);
	uint32_t v = 1;
	for (int i = 0; i < 500; i++) {
		uint32_t w = v;
		write_all(down[1], &w, sizeof w);
		read_all(up[0], &w, sizeof w);
		CHECK(w == v * 3 + 1, "round %d: got %u for %u", i, w, v);
		v = w;
	}
	close(down[1]);
	int st = child_status(p);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ping-pong child status 0x%x (EOF not seen?)", st);
	char c;
	CHECK(read(up[0], &c, 1) == 0, "no EOF after the writer exited");
	close(up[0]);
	printf("pipes: 500 round trips, final 0x%08x\n", v);
}

static void broken_pipe(void)
{
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	close(fds[0]);
	CHECK(write(fds[1], "x", 1) == -1 && errno == EPIPE, "write with no reader: errno %d", errno);
	close(fds[1]);
	signal(SIGPIPE, SIG_DFL);
	printf("pipes: EPIPE ok\n");
}

int main(void)
{
	test_begin("pipes");
	stream();
	ping_pong();
	broken_pipe();
	return test_pass();
}
