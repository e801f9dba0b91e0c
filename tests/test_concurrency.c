/*
 * Many threads at once: nothing lost, nothing duplicated, nothing hangs.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

enum { THREADS = 8, CALLS = 10000 };

typedef struct worker {
	syn_synchronizer s;
	int              id;
	int              wrong;
	int              failed;
} worker;

static void *
adder(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < CALLS; i++) {
		syn_value  args[2] = { syn_int(w->id * 1000000), syn_int(i) };
		syn_result res     = SYN_RESULT_INIT;
		if (syn_call(w->s, "add", args, 2, &res) != 0) {
			w->failed++;
		} else if (res.value.as.i != w->id * 1000000 + i) {
			w->wrong++;
		}
		syn_result_fini(&res);
	}
	return NULL;
}

static int
count_call(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t *seen = syn_task_userdata(t); /* actor thread only: no lock */
	int64_t  x;
	int      rc = syn_unpack(t, args, nargs, "i", &x);
	if (rc == 0) {
		seen[x]++;
		*ret = syn_int(x);
	}
	return rc;
}

/* 8 threads making 10,000 blocking calls each: every result is right. */
START_TEST(eight_threads_ten_thousand_calls)
{
	syn_synchronizer s = th_new();
	pthread_t        th[THREADS];
	worker           ws[THREADS];
	for (int i = 0; i < THREADS; i++) {
		ws[i] = (worker) { s, i + 1, 0, 0 };
		pthread_create(&th[i], NULL, adder, &ws[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(ws[i].failed, 0);
		ck_assert_int_eq(ws[i].wrong, 0);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct futurer {
	syn_synchronizer s;
	int              base;
	int              failed;
} futurer;

static void *
future_caller(void *arg)
{
	futurer    *w = arg;
	syn_future *fs[100];
	for (int round = 0; round < CALLS / 100; round++) {
		for (int i = 0; i < 100; i++) {
			syn_value a = syn_int(w->base + round * 100 + i);
			if (syn_call_future(w->s, "count", &a, 1, &fs[i]) !=
			    0) {
				fs[i] = NULL;
				w->failed++;
			}
		}
		for (int i = 0; i < 100; i++) {
			if (fs[i] != NULL && syn_future_wait(fs[i]) != 0) {
				w->failed++;
			}
			syn_future_free(fs[i]);
		}
	}
	return NULL;
}

/* Futures from 8 threads: each call runs exactly once. */
START_TEST(every_call_runs_exactly_once)
{
	int64_t         *seen = calloc(THREADS * CALLS, sizeof(*seen));
	syn_synchronizer s    = th_new();
	th_register(s, "count", count_call, seen);
	pthread_t th[THREADS];
	futurer   ws[THREADS];
	for (int i = 0; i < THREADS; i++) {
		ws[i] = (futurer) { s, i * CALLS, 0 };
		pthread_create(&th[i], NULL, future_caller, &ws[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(ws[i].failed, 0);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	for (int i = 0; i < THREADS * CALLS; i++) {
		ck_assert_msg(seen[i] == 1, "call %d ran %lld times", i,
		    (long long) seen[i]);
	}
	free(seen);
}
END_TEST

typedef struct racer {
	syn_synchronizer s;
	atomic_int       ok;
	int              closed;
	int              other;
} racer;

static void *
racing_caller(void *arg)
{
	racer *r = arg;
	/* Calls until the synchronizer is gone (or a minute passed). */
	double end = th_now_ms() + 60000;
	while (r->closed == 0 && th_now_ms() < end) {
		syn_value a  = syn_int(2);
		int       rc = syn_call(r->s, "square_now", &a, 1, NULL);
		if (rc == 0) {
			atomic_fetch_add(&r->ok, 1);
		} else if (rc == SYN_ECLOSED) {
			r->closed++;
		} else {
			r->other++;
		}
	}
	return NULL;
}

/* Destroying while threads keep calling: calls succeed or say
 * SYN_ECLOSED, nothing hangs or crashes. */
START_TEST(destroy_while_calling)
{
	for (int round = 0; round < 5; round++) {
		syn_synchronizer s = th_new();
		pthread_t        th[4];
		racer            rs[4];
		for (int i = 0; i < 4; i++) {
			rs[i] = (racer) { s, 0, 0, 0 };
			pthread_create(&th[i], NULL, racing_caller, &rs[i]);
		}
		while (atomic_load(&rs[0].ok) + atomic_load(&rs[3].ok) < 100) {
			usleep(1000);
		}
		ck_assert_syn_ok(syn_synchronizer_destroy(s));
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			ck_assert_int_eq(rs[i].other, 0);
			ck_assert_int_eq(rs[i].closed, 1);
		}
	}
}
END_TEST

typedef struct pinger {
	syn_synchronizer a, b;
	int              failed;
} pinger;

static void *
cross_caller(void *arg)
{
	pinger *p = arg;
	for (int i = 0; i < 500; i++) {
		syn_value  args[3] = { syn_int(p->b.id), syn_str("square_now"),
			 syn_int(i) };
		syn_result res     = SYN_RESULT_INIT;
		if (syn_call(p->a, "nested", args, 3, &res) != 0 ||
		    res.value.as.i != (int64_t) i * i) {
			p->failed++;
		}
		syn_result_fini(&res);
	}
	return NULL;
}

/* Two synchronizers calling each other's functions from many threads. */
START_TEST(synchronizers_call_each_other)
{
	syn_synchronizer a = th_new(), b = th_new();
	pthread_t        th[4];
	pinger           ps[4];
	for (int i = 0; i < 4; i++) {
		ps[i] = (pinger) { i % 2 ? a : b, i % 2 ? b : a, 0 };
		pthread_create(&th[i], NULL, cross_caller, &ps[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(ps[i].failed, 0);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("eight_threads", eight_threads_ten_thousand_calls),
		TH_CASE("exactly_once", every_call_runs_exactly_once),
		TH_CASE("destroy_racing", destroy_while_calling),
		TH_CASE("cross_calls", synchronizers_call_each_other),
	};
	return TH_SUITE("concurrency", cases);
}
