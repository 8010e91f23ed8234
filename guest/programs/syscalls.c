/* syscalls: the common system calls and what they promise. getpid/getppid/uname; time,
 * gettimeofday and clock_gettime (the vDSO reads CP0 Count through rdhwr) agreeing and the
 * monotonic clock never going back, nanosleep advancing it; open/write/read/lseek/pread/pwrite/
 * ftruncate/fstat/rename/unlink of a file in /tmp; errno for bad calls; anonymous and shared file
 * mmap (a store through the mapping is seen by read), mprotect, munmap; brk growing and shrinking.
 * ~0.5 M instructions. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "disco_test.h"

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void identity(void)
{
	pid_t pid = getpid();
	CHECK(pid > 0 && syscall(SYS_getpid) == pid, "getpid %d", (int)pid);
	CHECK(getppid() > 0 && getppid() != pid, "getppid %d", (int)getppid());
	struct utsname u;
	CHECK(uname(&u) == 0, "uname: %s", strerror(errno));
	CHECK(strcmp(u.sysname, "Linux") == 0 && strcmp(u.machine, "mips") == 0, "uname %s %s",
	      u.sysname, u.machine);
	printf("syscalls: identity ok (%s %s)\n", u.sysname, u.machine);
}

static void clocks(void)
{
	struct timespec m0, m1, r, res;
	struct timeval tv;
	CHECK(clock_gettime(CLOCK_MONOTONIC, &m0) == 0, "clock_gettime: %s", strerror(errno));
	CHECK(clock_getres(CLOCK_MONOTONIC, &res) == 0 && ns(&res) > 0 && ns(&res) <= 10000000,
	      "clock_getres %lld ns", (long long)ns(&res));
	time_t t = time(NULL);
	CHECK(gettimeofday(&tv, NULL) == 0 && clock_gettime(CLOCK_REALTIME, &r) == 0, "realtime");
	CHECK(tv.tv_sec - t <= 1 && tv.tv_sec >= t && r.tv_sec - tv.tv_sec <= 1 && r.tv_sec >= tv.tv_sec,
	      "time %lld, gettimeofday %lld, CLOCK_REALTIME %lld disagree", (long long)t,
	      (long long)tv.tv_sec, (long long)r.tv_sec);
	int64_t prev = ns(&m0);
	for (int i = 0; i < 2000; i++) {
		CHECK(clock_gettime(CLOCK_MONOTONIC, &m1) == 0, "clock_gettime");
		CHECK(ns(&m1) >= prev, "monotonic clock went back by %lld ns", (long long)(prev - ns(&m1)));
		prev = ns(&m1);
	}
	struct timespec nap = {0, 20 * 1000 * 1000};
	CHECK(nanosleep(&nap, NULL) == 0, "nanosleep: %s", strerror(errno));
	CHECK(clock_gettime(CLOCK_MONOTONIC, &m1) == 0, "clock_gettime");
	CHECK(ns(&m1) - ns(&m0) >= 20000000, "20 ms nanosleep advanced the clock %lld ns",
	      (long long)(ns(&m1) - ns(&m0)));
	printf("syscalls: clocks ok (monotonic, nanosleep 20 ms)\n");
}

static void files(void)
{
	char path[64], path2[80];
	snprintf(path, sizeof path, "/tmp/disco-syscalls.%d", (int)getpid());
	snprintf(path2, sizeof path2, "%s.renamed", path);
	int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	static char buf[10000], back[10000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)('a' + i % 26);
	CHECK(write(fd, buf, 4000) == 4000 && write(fd, buf + 4000, 6000) == 6000, "write");
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_size == 10000 && S_ISREG(st.st_mode), "fstat size %lld",
	      (long long)st.st_size);
	CHECK(lseek(fd, 1234, SEEK_SET) == 1234, "lseek SEEK_SET");
	CHECK(read(fd, back, 100) == 100 && memcmp(back, buf + 1234, 100) == 0, "read after lseek");
	CHECK(lseek(fd, -1, SEEK_END) == 9999 && read(fd, back, 10) == 1 && back[0] == buf[9999],
	      "lseek SEEK_END");
	CHECK(read(fd, back, 10) == 0, "read at EOF");
	CHECK(pwrite(fd, "XYZ", 3, 5000) == 3 && pread(fd, back, 5, 4999) == 5 &&
	      memcmp(back, "hXYZl", 5) == 0, "pwrite/pread gave %.5s", back);
	CHECK(ftruncate(fd, 777) == 0 && fstat(fd, &st) == 0 && st.st_size == 777, "ftruncate");
	CHECK(close(fd) == 0, "close");
	CHECK(rename(path, path2) == 0 && stat(path, &st) == -1 && errno == ENOENT, "rename");
	fd = open(path2, O_RDONLY);
	CHECK(fd >= 0 && read(fd, back, sizeof back) == 777 && memcmp(back, buf, 777) == 0, "reopen");
	CHECK(write(fd, "x", 1) == -1 && errno == EBADF, "write to O_RDONLY: errno %d", errno);
	close(fd);
	CHECK(unlink(path2) == 0 && open(path2, O_RDONLY) == -1 && errno == ENOENT, "unlink");
	CHECK(read(-1, back, 1) == -1 && errno == EBADF, "read(-1) errno %d", errno);
	CHECK(close(12345) == -1 && errno == EBADF, "close(12345) errno %d", errno);
	printf("syscalls: files ok\n");
}

static void mappings(void)
{
	long page = sysconf(_SC_PAGESIZE);
	CHECK(page == 4096, "page size %ld", page);
	size_t len = 16 * (size_t)page;
	uint32_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(m != MAP_FAILED, "anonymous mmap: %s", strerror(errno));
	for (size_t i = 0; i < len / 4; i++)
		CHECK(m[i] == 0, "fresh anonymous page not zero at word %zu", i);
	for (size_t i = 0; i < len / 4; i++)
		m[i] = (uint32_t)i * 7;
	uint32_t sum = 0;
	for (size_t i = 0; i < len / 4; i++)
		sum += m[i];
	CHECK_EQ(sum, 7u * (16384u * 16383u / 2));
	CHECK(mprotect(m, len, PROT_READ) == 0 && m[100] == 700, "mprotect");
	CHECK(munmap(m, len) == 0, "munmap: %s", strerror(errno));

	char path[64];
	snprintf(path, sizeof path, "/tmp/disco-mmap.%d", (int)getpid());
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	CHECK(fd >= 0 && ftruncate(fd, 2 * page) == 0, "mmap file: %s", strerror(errno));
	char *f = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(f != MAP_FAILED, "file mmap: %s", strerror(errno));
	memcpy(f + page - 3, "shared!", 7);
	char back[8] = {0};
	CHECK(pread(fd, back, 7, page - 3) == 7 && memcmp(back, "shared!", 7) == 0,
	      "store through MAP_SHARED not seen by read: \"%s\"", back);
	CHECK(pwrite(fd, "W", 1, 10) == 1 && f[10] == 'W', "write not seen through the mapping");
	CHECK(msync(f, 2 * page, MS_SYNC) == 0 && munmap(f, 2 * page) == 0, "msync/munmap");
	close(fd);
	unlink(path);
	printf("syscalls: mmap ok\n");
}

static void heap(void)
{
	char *b0 = sbrk(0);
	CHECK(b0 != (char *)-1, "sbrk(0): %s", strerror(errno));
	CHECK(sbrk(65536) == b0 && sbrk(0) == b0 + 65536, "sbrk grow");
	for (int i = 0; i < 65536; i += 512)
		b0[i] = (char)i;
	for (int i = 0; i < 65536; i += 512)
		CHECK(b0[i] == (char)i, "brk memory at %d", i);
	CHECK(sbrk(-65536) == b0 + 65536 && sbrk(0) == b0, "sbrk shrink");
	printf("syscalls: brk ok\n");
}

int main(void)
{
	test_begin("syscalls");
	identity();
	clocks();
	files();
	mappings();
	heap();
	return test_pass();
}
