/* memory: loads and stores of every width and alignment. memcpy/memset at every source and
 * destination alignment 0..7 over lengths around glibc's word/block thresholds (checked byte by
 * byte, guard bytes included), memmove with overlap in both directions, string functions at odd
 * addresses, a packed struct (gcc uses lwl/lwr/swl/swr), a plainly misaligned lw/sw/lh/sh (the
 * kernel emulates it after the address error) and a 2 MiB malloc'd array written, then walked
 * with a large odd stride (512 fresh pages, cache- and TLB-hostile). ~16 M instructions. */
#include <stdint.h>
#include <string.h>

#include "disco_test.h"

enum { BUF = 1200, GUARD = 16 };
static const size_t lengths[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                                 127, 128, 255, 256, 1000};

static uint8_t pattern(size_t i, unsigned salt)
{
	return (uint8_t)(i * 131 + salt * 7 + (i >> 8));
}

/* Byte-by-byte checks through a volatile pointer, independent of the libc routines under test. */
static void expect_bytes(const volatile uint8_t *p, size_t n, unsigned salt, size_t base,
                         const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pattern(base + i, salt))
			test_fail("%s: byte %zu is 0x%02x, want 0x%02x", what, i, p[i], pattern(base + i, salt));
}

static void expect_fill(const volatile uint8_t *p, size_t n, uint8_t v, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			test_fail("%s: byte %zu is 0x%02x, want 0x%02x", what, i, p[i], v);
}

static void copies(void)
{
	static uint8_t src[BUF + 16], dst[BUF + 2 * GUARD + 16];
	for (size_t i = 0; i < sizeof src; i++)
		src[i] = pattern(i, 1);
	unsigned n = 0;
	for (size_t so = 0; so < 8; so++)
		for (size_t dof = 0; dof < 8; dof++)
			for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
				size_t len = lengths[li];
				memset(dst, 0xee, len + 2 * GUARD + 8);
				memcpy(dst + GUARD + dof, src + so, len);
				expect_fill(dst, GUARD + dof, 0xee, "memcpy guard before");
				expect_bytes(dst + GUARD + dof, len, 1, so, "memcpy");
				expect_fill(dst + GUARD + dof + len, GUARD, 0xee, "memcpy guard after");
				memset(dst + GUARD + dof, 0x5a, len);
				expect_fill(dst + GUARD + dof, len, 0x5a, "memset");
				expect_fill(dst + GUARD + dof + len, GUARD, 0xee, "memset guard after");
				n++;
			}
	printf("memcpy/memset: %u alignment x length cases ok\n", n);
}

static void moves(void)
{
	static uint8_t buf[600];
	unsigned n = 0;
	for (int shift = -37; shift <= 37; shift++)
		for (size_t len = 1; len <= 300; len = len * 3 + 1) {
			for (size_t i = 0; i < sizeof buf; i++)
				buf[i] = pattern(i, 2);
			memmove(buf + 150 + shift, buf + 150, len);
			expect_bytes(buf + 150 + shift, len, 2, 150, "memmove");
			n++;
		}
	printf("memmove: %u overlapping cases ok\n", n);
}

static void strings(void)
{
	static char buf[64];
	for (size_t off = 0; off < 8; off++) {
		char *s = buf + off;
		strcpy(s, "disco on a numa machine");
		CHECK_EQ(strlen(s), 23);
		CHECK(strchr(s, 'n') == s + 7, "strchr at offset %zu", off);
		CHECK(strrchr(s, 'm') == s + 16, "strrchr at offset %zu", off);
		CHECK(strcmp(s, "disco on a numa machinf") < 0, "strcmp at offset %zu", off);
		CHECK(memcmp(s, "disco on b", 10) < 0 && memcmp(s, "disco", 5) == 0, "memcmp");
		CHECK(memchr(s, 'h', 23) == s + 19, "memchr at offset %zu", off);
	}
	printf("strings: ok at 8 alignments\n");
}

struct __attribute__((packed)) record {
	uint8_t tag;
	uint32_t word;
	uint16_t half;
	uint64_t dword;
	double real;
	int16_t shalf;
};

static void unaligned(void)
{
	static struct record recs[5];
	static volatile uint32_t idx = 1;
	for (uint32_t i = 0; i < 5; i++) {
		recs[i].tag = (uint8_t)i;
		recs[i].word = 0x89abcdefu ^ i;
		recs[i].half = (uint16_t)(0xbeef + i);
		recs[i].dword = 0x0123456789abcdefull * (i + 1);
		recs[i].real = 1.25 * i;
		recs[i].shalf = (int16_t)(-1000 - (int)i);
	}
	uint64_t sum = 0;
	for (uint32_t i = idx - 1; i < 5; i++)
		sum += recs[i].word + recs[i].half + recs[i].dword + (uint64_t)recs[i].real + recs[i].shalf;
	CHECK_EQ(sizeof(struct record), 25u);
	CHECK_EQ(sum, 0x11111113c16fbdd0ull);
	CHECK_EQ(recs[idx + 2].dword, 0x0123456789abcdefull * 4);
	printf("unaligned: packed struct ok\n");

	/* misaligned plain loads and stores: the CPU raises an address error, the kernel emulates */
	if (skip_under_user_emulator("misaligned word/half"))
		return;
	static uint8_t raw[16] __attribute__((aligned(8)));
	for (int i = 0; i < 16; i++)
		raw[i] = (uint8_t)(0x10 + i);
	volatile uint32_t *w = (volatile uint32_t *)(raw + idx);
	volatile uint16_t *h = (volatile uint16_t *)(raw + idx + 4);
	CHECK_EQ(*w, 0x14131211u);
	CHECK_EQ(*h, 0x1615u);
	*w = 0xa1b2c3d4u;
	*h = 0xe5f6u;
	CHECK_EQ(raw[1], 0xd4);
	CHECK_EQ(raw[4], 0xa1);
	CHECK_EQ(raw[5], 0xf6);
	CHECK_EQ(raw[6], 0xe5);
	CHECK_EQ(raw[0], 0x10);
	CHECK_EQ(raw[7], 0x17);
	printf("unaligned: misaligned word/half ok\n");
}

static void big_array(void)
{
	enum { N = 1 << 19 }; /* 2 MiB of uint32_t */
	uint32_t *a = malloc(N * sizeof *a);
	CHECK(a != NULL, "malloc of 2 MiB failed");
	for (uint32_t i = 0; i < N; i++)
		a[i] = i * 2654435761u;
	/* the stride 524287 is odd, so j = i * stride mod 2^19 visits every element once */
	uint32_t sum = 0, x = 0;
	for (uint32_t i = 0, j = 0; i < N; i++, j = (j + 524287) & (N - 1)) {
		sum += a[j];
		x ^= a[j] + j;
	}
	uint32_t want_sum = 0, want_x = 0;
	for (uint32_t j = 0; j < N; j++) {
		want_sum += j * 2654435761u;
		want_x ^= j * 2654435761u + j;
	}
	CHECK_EQ(sum, want_sum);
	CHECK_EQ(x, want_x);
	a = realloc(a, 2 * N * sizeof *a);
	CHECK(a != NULL && a[N - 1] == (N - 1) * 2654435761u, "realloc lost the contents");
	free(a);
	printf("big array: 2 MiB walked, sum 0x%08x xor 0x%08x\n", sum, x);
}

int main(void)
{
	test_begin("memory");
	copies();
	moves();
	strings();
	unaligned();
	big_array();
	return test_pass();
}
