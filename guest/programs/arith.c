/* arith: integer arithmetic. Known answers for 32- and 64-bit multiply, divide and remainder
 * (signed and unsigned; 64-bit division is libgcc's __udivdi3/__divdi3 on MIPS32), the MIPS32r2
 * bit instructions gcc emits (clz, seb/seh, rotr, wsbh, ext/ins), then a 64-bit FNV-style checksum
 * over 20000 pseudo-random operand pairs whose value was computed on x86-64 from this same file.
 * ~10 M instructions. */
#include <stdint.h>
#include <string.h>

#include "disco_test.h"

/* volatile: operands unknown to the compiler, so the instructions under test really run */
static volatile uint32_t v_ffff = 0xffffffffu, v_seven = 7, v_three = 3;
static volatile int32_t v_minus7 = -7, v_two = 2;
static volatile uint64_t v_big = 1000000000000000000ull;
static volatile int64_t v_neg = -1000000000000000007ll;

/* FNV-1a taken a 64-bit word at a time, plus a shift to fold high bits down */
static uint64_t fnv(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s;
}

/* bit-field extract and insert: gcc emits MIPS32r2 ext/ins for these */
struct fields {
	uint32_t lo : 5, mid : 11, hi : 16;
};

static void known_answers(void)
{
	CHECK_EQ((uint64_t)v_ffff * v_ffff, 0xfffffffe00000001ull);
	CHECK_EQ(v_ffff * v_ffff, 1u);
	CHECK_EQ(v_ffff / v_seven, 613566756u);
	CHECK_EQ(v_ffff % v_seven, 3u);
	CHECK_EQ((int64_t)(v_minus7 / v_two), -3); /* C truncates toward zero */
	CHECK_EQ((int64_t)(v_minus7 % v_two), -1);
	CHECK_EQ((int64_t)v_minus7 * (int64_t)(int32_t)v_ffff, 7); /* (-7) * (-1) */
	CHECK_EQ(v_big / v_seven, 142857142857142857ull);
	CHECK_EQ(v_big % v_seven, 1u);
	CHECK_EQ(v_neg / v_three, -333333333333333335ll);
	CHECK_EQ(v_neg % v_three, -2ll);
	CHECK_EQ(v_big * v_seven, 7000000000000000000ull);
	CHECK_EQ((int64_t)v_neg >> 33, -116415322ll); /* arithmetic shift rounds down */
	CHECK_EQ((uint64_t)v_neg >> 60, 0xfull);
	CHECK_EQ((uint64_t)v_big << 3, 8000000000000000000ull);

	uint64_t f = 1;
	for (uint32_t i = 2; i <= 20; i++)
		f *= i;
	CHECK_EQ(f, 2432902008176640000ull); /* 20! */
	uint64_t a = 0, b = 1;
	for (int i = 0; i < 90; i++) {
		uint64_t t = a + b;
		a = b;
		b = t;
	}
	CHECK_EQ(a, 2880067194370816120ull); /* fib(90) */

	volatile uint32_t vx = 0x00f0a5c3u;
	uint32_t x = vx;
	CHECK_EQ(__builtin_clz(x), 8u);
	CHECK_EQ(__builtin_ctz(x), 0u);
	CHECK_EQ(__builtin_popcount(x), 12u);
	CHECK_EQ(__builtin_bswap32(x), 0xc3a5f000u);
	CHECK_EQ((x >> 12) | (x << 20), 0x5c300f0au); /* rotr */
	CHECK_EQ((int32_t)(int8_t)x, -61);              /* seb */
	CHECK_EQ((int32_t)(int16_t)x, -23101);          /* seh */
	CHECK_EQ(__builtin_bswap64(0x0102030405060708ull), 0x0807060504030201ull);

	volatile struct fields fl;
	uint32_t raw = 0;
	memcpy((void *)&fl, &raw, sizeof raw);
	fl.mid = 0x5a5;
	fl.lo = 0x13;
	fl.hi = 0xbeef;
	memcpy(&raw, (const void *)&fl, sizeof raw);
	CHECK_EQ(raw, 0xbeefb4b3u);
	CHECK_EQ(fl.mid, 0x5a5u);
	printf("arith: known answers ok\n");
}

static void checksum(void)
{
	uint32_t s = 12345;
	uint64_t h = 0xcbf29ce484222325ull;
	for (int i = 0; i < 20000; i++) {
		uint32_t a = lcg(&s), b = lcg(&s) | 1;
		int32_t sa = (int32_t)a, sb = (int32_t)b;
		uint64_t wa = ((uint64_t)a << 32) | lcg(&s), wb = ((uint64_t)(b >> (i & 31)) << 16) | 1;
		h = fnv(h, a + b);
		h = fnv(h, a - b);
		h = fnv(h, (uint64_t)a * b);
		h = fnv(h, (uint64_t)((int64_t)sa * sb));
		h = fnv(h, a / b);
		h = fnv(h, a % b);
		if (sa != INT32_MIN || sb != -1) {
			h = fnv(h, (uint32_t)(sa / sb));
			h = fnv(h, (uint32_t)(sa % sb));
		}
		h = fnv(h, wa / wb);
		h = fnv(h, wa % wb);
		h = fnv(h, (uint64_t)((int64_t)wa / (int64_t)wb));
		h = fnv(h, a << (b & 31));
		h = fnv(h, (uint32_t)(sa >> (b & 31)));
		h = fnv(h, wa >> (b & 63));
		h = fnv(h, a < b);
		h = fnv(h, sa < sb);
	}
	printf("arith: checksum 0x%016llx\n", (unsigned long long)h);
	CHECK_EQ(h, 0xe7e0fc8804043243ull);
}

int main(void)
{
	test_begin("arith");
	known_answers();
	checksum();
	return test_pass();
}
