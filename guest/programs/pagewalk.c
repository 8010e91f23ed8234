/* pagewalk: a TLB-heavy user program. It walks an array of many more pages than the JTLB maps
 * (16 MiB: 4096 pages, against 32 that 16 entries map), one word per page per step, so nearly
 * every access needs a TLB refill; each round adds to every word it visits, and the sum is
 * checked against what the rounds must have made.
 *   pagewalk          test: 4 rounds over the array (~100 k TLB refills)
 *   pagewalk N        benchmark: N rounds, between "disco-bench: begin" and "disco-bench: end" */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "disco_test.h"

enum { PAGE = 4096, PAGES = 4096, WORDS_PER_PAGE = PAGE / 4 };

int main(int argc, char **argv)
{
	test_begin("pagewalk");
	const unsigned rounds = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 4;
	uint32_t *a = malloc((size_t)PAGES * PAGE);
	CHECK(a != NULL, "malloc of %d pages", PAGES);
	memset(a, 0, (size_t)PAGES * PAGE);
	if (argc > 1) printf("disco-bench: begin\n");
	/* Round r visits word (r % WORDS_PER_PAGE) of every page, pages in a stride that is odd, so
	 * consecutive accesses never share a TLB entry pair. */
	for (unsigned r = 0; r < rounds; ++r)
		for (unsigned i = 0; i < PAGES; ++i) {
			const unsigned page = (i * 1031u) % PAGES;
			a[(size_t)page * WORDS_PER_PAGE + r % WORDS_PER_PAGE] += page + r;
		}
	if (argc > 1) printf("disco-bench: end\n");
	uint64_t sum = 0, want = 0;
	for (size_t w = 0; w < (size_t)PAGES * WORDS_PER_PAGE; ++w) sum += a[w];
	for (unsigned r = 0; r < rounds; ++r) want += (uint64_t)PAGES * (PAGES - 1) / 2 + (uint64_t)PAGES * r;
	CHECK(sum == want, "sum %llu, want %llu", (unsigned long long)sum, (unsigned long long)want);
	printf("pagewalk: %u rounds over %d pages\n", rounds, PAGES);
	printf("PASS pagewalk\n");
	return 0;
}
