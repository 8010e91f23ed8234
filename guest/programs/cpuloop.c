/* cpuloop: a CPU-bound loop whose instruction count is known by construction, for
 * bench/boot-bench. The loop is 16 MIPS32r2 instructions in inline assembly (load, store, add,
 * multiply, rotate, shifts, set-less-than, a branch with its delay slot) over a 16 KiB ring, so
 * N iterations execute exactly 16 N user instructions whatever the compiler does.
 *   cpuloop          test: 200000 iterations checked against a C model (~7 M instructions)
 *   cpuloop N        benchmark: the check, then the lines "disco-bench: begin" and
 *                    "disco-bench: end instructions=<16 N> checksum=<hex>" around N iterations;
 *                    the host timestamps the two lines (they carry no timing themselves). */
#include <stdint.h>
#include <string.h>

#include "disco_test.h"

enum { RING_WORDS = 4096, CHECK_ITERS = 200000, LOOP_INSNS = 16 };

static uint32_t ring[RING_WORDS];

struct loop_state {
	uint32_t x, y;
};

/* iters >= 1: the count is decremented before the branch tests it */
static void loop_asm(struct loop_state *s, uint32_t iters)
{
	uint32_t i = iters, p = 0, x = s->x, y = s->y, t0, t1, t2;
	__asm__ volatile(".set push\n\t.set noreorder\n"
	                 "1:\taddu  %[t0], %[ring], %[p]\n\t"
	                 "lw    %[t1], 0(%[t0])\n\t"
	                 "addu  %[x], %[x], %[t1]\n\t"
	                 "mul   %[t2], %[x], %[y]\n\t"
	                 "rotr  %[x], %[x], 7\n\t"
	                 "xor   %[x], %[x], %[t2]\n\t"
	                 "srl   %[t2], %[x], 3\n\t"
	                 "addu  %[y], %[y], %[t2]\n\t"
	                 "sltu  %[t2], %[x], %[y]\n\t"
	                 "addu  %[y], %[y], %[t2]\n\t"
	                 "sw    %[x], 0(%[t0])\n\t"
	                 "addiu %[p], %[p], 4\n\t"
	                 "andi  %[p], %[p], 0x3ffc\n\t"
	                 "addiu %[i], %[i], -1\n\t"
	                 "bnez  %[i], 1b\n\t"
	                 " xori %[y], %[y], 0x5a5\n"
	                 ".set pop"
	                 : [i] "+r"(i), [p] "+r"(p), [x] "+r"(x), [y] "+r"(y), [t0] "=&r"(t0),
	                   [t1] "=&r"(t1), [t2] "=&r"(t2)
	                 : [ring] "r"(ring)
	                 : "memory");
	s->x = x;
	s->y = y;
}

/* the same loop in C, the reference for loop_asm */
static void loop_model(struct loop_state *s, uint32_t *r, uint32_t iters)
{
	uint32_t x = s->x, y = s->y;
	for (uint32_t k = 0; k < iters; k++) {
		uint32_t *w = &r[k % RING_WORDS];
		x += *w;
		uint32_t prod = x * y;
		x = (x >> 7) | (x << 25);
		x ^= prod;
		y += x >> 3;
		y += x < y;
		*w = x;
		y ^= 0x5a5;
	}
	s->x = x;
	s->y = y;
}

static void fill_ring(uint32_t *r)
{
	for (uint32_t k = 0; k < RING_WORDS; k++)
		r[k] = k * 0x9e3779b9u;
}

static uint32_t checksum(const struct loop_state *s, const uint32_t *r)
{
	uint32_t h = s->x ^ (s->y * 31);
	for (uint32_t k = 0; k < RING_WORDS; k++)
		h = (h ^ r[k]) * 16777619u;
	return h;
}

int main(int argc, char **argv)
{
	test_begin("cpuloop");
	static uint32_t model_ring[RING_WORDS];
	struct loop_state a = {1, 0x9e3779b9u}, m = a;
	fill_ring(ring);
	fill_ring(model_ring);
	loop_asm(&a, CHECK_ITERS);
	loop_model(&m, model_ring, CHECK_ITERS);
	uint32_t h = checksum(&a, ring);
	CHECK(a.x == m.x && a.y == m.y && memcmp(ring, model_ring, sizeof ring) == 0,
	      "assembly loop (x 0x%08x y 0x%08x) differs from the C model (x 0x%08x y 0x%08x)", a.x, a.y,
	      m.x, m.y);
	CHECK_EQ(h, 0x49c4c0b4u); /* computed on x86-64 from the C model */
	printf("cpuloop: %d iterations match the C model, checksum 0x%08x\n", CHECK_ITERS, h);

	if (argc > 1) {
		char *end;
		unsigned long n = strtoul(argv[1], &end, 0);
		CHECK(*end == '\0' && n >= 1 && n <= UINT32_MAX / LOOP_INSNS, "bad iteration count '%s'",
		      argv[1]);
		struct loop_state b = {1, 0x9e3779b9u};
		fill_ring(ring);
		printf("disco-bench: begin\n");
		loop_asm(&b, (uint32_t)n);
		printf("disco-bench: end instructions=%lu checksum=0x%08x\n", n * LOOP_INSNS,
		       checksum(&b, ring));
	}
	return test_pass();
}
