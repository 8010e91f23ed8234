/* threads: pthreads and atomics. Four threads each add 1 20000 times to a mutex-protected
 * counter, a GCC __atomic counter, a C11 atomic counter and a compare-and-swap counter (all LL/SC
 * loops on MIPS; a yield every 1024 adds interleaves the threads) and must end exactly at 80000;
 * each thread's __thread variable (TLS through rdhwr $29) stays its own; join returns each
 * thread's value; a barrier lines the threads up; and two threads ping-pong 1000 turns over a
 * mutex and condition variables. ~13 M instructions. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "disco_test.h"

enum { THREADS = 4, ITERS = 20000, TURNS = 1000 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t barrier;
static uint32_t locked_count;
static uint32_t gcc_count;
static atomic_uint c11_count;
static uint32_t cas_count;
static __thread uintptr_t my_id;

static void *adder(void *arg)
{
	my_id = (uintptr_t)arg;
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&lock);
		locked_count++;
		pthread_mutex_unlock(&lock);
		__atomic_fetch_add(&gcc_count, 1, __ATOMIC_SEQ_CST);
		atomic_fetch_add_explicit(&c11_count, 1, memory_order_relaxed);
		uint32_t old = __atomic_load_n(&cas_count, __ATOMIC_RELAXED);
		while (!__atomic_compare_exchange_n(&cas_count, &old, old + 1, 1, __ATOMIC_ACQ_REL,
		                                    __ATOMIC_RELAXED))
			;
		if ((i & 1023) == 0)
			sched_yield();
		if (my_id != (uintptr_t)arg)
			return (void *)-1; /* another thread's TLS leaked into ours */
	}
	return (void *)(my_id * 100);
}

static void counters(void)
{
	pthread_t t[THREADS];
	CHECK(pthread_barrier_init(&barrier, NULL, THREADS) == 0, "pthread_barrier_init");
	my_id = 99;
	for (uintptr_t i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, adder, (void *)(i + 1)) == 0, "pthread_create %u",
		      (unsigned)i);
	uintptr_t sum = 0;
	for (int i = 0; i < THREADS; i++) {
		void *r;
		CHECK(pthread_join(t[i], &r) == 0, "pthread_join");
		CHECK(r != (void *)-1, "thread %d saw another thread's TLS", i);
		sum += (uintptr_t)r;
	}
	CHECK_EQ(sum, 100 * (1 + 2 + 3 + 4));
	CHECK_EQ(my_id, 99);
	CHECK_EQ(locked_count, THREADS * ITERS);
	CHECK_EQ(gcc_count, THREADS * ITERS);
	CHECK_EQ(atomic_load(&c11_count), THREADS * ITERS);
	CHECK_EQ(cas_count, THREADS * ITERS);
	pthread_barrier_destroy(&barrier);
	printf("threads: %d threads x %d: mutex %u, __atomic %u, C11 %u, CAS %u\n", THREADS, ITERS,
	       locked_count, gcc_count, atomic_load(&c11_count), cas_count);
}

static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn, turns_taken[2];

static void *player(void *arg)
{
	int me = (int)(intptr_t)arg;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < TURNS; i++) {
		while (turn != me)
			pthread_cond_wait(&turn_changed, &lock);
		turns_taken[me]++;
		turn = 1 - me;
		pthread_cond_signal(&turn_changed);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void ping_pong(void)
{
	pthread_t a, b;
	CHECK(pthread_create(&a, NULL, player, (void *)0) == 0 &&
	      pthread_create(&b, NULL, player, (void *)1) == 0, "pthread_create");
	CHECK(pthread_join(a, NULL) == 0 && pthread_join(b, NULL) == 0, "pthread_join");
	CHECK(turns_taken[0] == TURNS && turns_taken[1] == TURNS && turn == 0, "turns %d %d, turn %d",
	      turns_taken[0], turns_taken[1], turn);
	printf("threads: condition variable ping-pong %d turns each\n", TURNS);
}

int main(void)
{
	test_begin("threads");
	counters();
	ping_pong();
	return test_pass();
}
