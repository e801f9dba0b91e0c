/*
 * The first sections of synchronicity's README, in C.
 *
 * An asynchronous function f(x) sleeps, then returns x squared. It is
 * written once, runs on a synchronizer's own thread, and is called three
 * ways: blocking, as a future, and through an nng_aio. Then ten futures
 * resolve in parallel, in about the time of one call. Then the seed's
 * generator f(n), here "count", hands out 0 .. n-1: iterated blocking,
 * awaited item by item from a task of another synchronizer, and closed
 * early, which runs its cleanup once.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <synchronicity.h>

#include "example.h"

#define SLEEP_MS 500
#define ITEM_MS 100 /* count's sleep before each item */

static atomic_int closed_early; /* runs of count closed before their end */

/* [impl] */
/* The implementation: runs as a task on the synchronizer's thread. */
static int
f(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x;
	int     rc = syn_unpack(t, args, nargs, "i", &x);
	if (rc != 0) {
		return rc; /* a clear error: wrong count or type */
	}
	if ((rc = syn_sleep(t, SLEEP_MS)) != 0) {
		return rc; /* cancelled, or the synchronizer closes */
	}
	*ret = syn_int(x * x);
	return 0;
}
/* [impl] */

/* [gen_impl] */
/* The seed's generator f(n): sleeps, then hands out i, for i from 0 to
 * n-1. It runs only while its consumer asks for an item. */
static int
count(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = syn_sleep(t, ITEM_MS)) == 0) {
			syn_value item = syn_int(i);
			rc = syn_yield(t, &item, NULL); /* 0: asked again */
		}
	}
	/* Cleanup goes here: it runs however the stream ends. */
	if (rc == SYN_EITERCLOSED) { /* the consumer closed it early */
		atomic_fetch_add(&closed_early, 1);
		rc = 0; /* no error: nobody waits for an item */
	}
	return rc; /* 0 ends the stream: the consumer gets SYN_EEND */
}
/* [gen_impl] */

/* [gen_await] */
/* Runs on another synchronizer: iterates count(n) of the synchronizer in
 * its userdata, awaiting each item, and returns their sum. */
static int
sum_count(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const syn_synchronizer *src = syn_task_userdata(t);
	syn_iter               *it;
	int64_t                 sum = 0;
	int rc = syn_iter_open(*src, "count", args, nargs, NULL, &it);
	while (rc == 0) {
		syn_future      *f;
		const syn_value *item;
		if ((rc = syn_iter_next_future(it, NULL, &f)) != 0) {
			break;
		}
		rc = syn_await(t, f); /* this synchronizer goes on meanwhile */
		if (rc == 0 && (rc = syn_future_value(f, &item)) == 0) {
			sum += item->as.i;
		}
		syn_future_free(f);
	}
	syn_iter_close(it); /* NULL when the open failed: harmless */
	*ret = syn_int(sum);
	return rc == SYN_EEND ? 0 : rc; /* SYN_EEND: every item was seen */
}
/* [gen_await] */

static void
blocking(syn_synchronizer s)
{
	/* [blocking] */
	syn_value  arg = syn_int(42);
	syn_result res = SYN_RESULT_INIT;
	check(syn_call(s, "f", &arg, 1, &res), "f(42)"); /* blocks */
	printf("f(42) = %lld (blocking)\n", (long long) res.value.as.i);
	syn_result_fini(&res);
	/* [blocking] */
}

static void
future(syn_synchronizer s)
{
	/* [future] */
	syn_value        arg = syn_int(42);
	syn_future      *fut;
	const syn_value *v;
	check(syn_call_future(s, "f", &arg, 1, &fut), "f(42) future");
	check(syn_future_wait(fut), "wait"); /* or poll, or a timeout */
	check(syn_future_value(fut, &v), "value");
	printf("f(42) = %lld (future)\n", (long long) v->as.i);
	syn_future_free(fut);
	/* [future] */
}

static void
with_aio(syn_synchronizer s)
{
	/* [aio] */
	nng_aio   *aio;
	syn_value  arg = syn_int(42);
	syn_result res = SYN_RESULT_INIT;
	check(nng_aio_alloc(&aio, NULL, NULL), "nng_aio_alloc");
	syn_call_aio(s, "f", &arg, 1, aio); /* returns at once */
	nng_aio_wait(aio);                  /* or give the aio a callback */
	check(syn_aio_result(aio, &res), "f(42) aio");
	printf("f(42) = %lld (nng_aio)\n", (long long) res.value.as.i);
	syn_result_fini(&res);
	nng_aio_free(aio);
	/* [aio] */
}

static void
ten_futures(syn_synchronizer s)
{
	/* [fanout] */
	syn_future *futs[10];
	double      t0 = now_ms();
	for (int i = 0; i < 10; i++) {
		syn_value arg = syn_int(i);
		check(syn_call_future(s, "f", &arg, 1, &futs[i]), "call");
	}
	check(syn_future_wait_all(futs, 10, SYN_DURATION_INFINITE), "wait_all");
	printf("first ten squares:");
	for (int i = 0; i < 10; i++) {
		const syn_value *v;
		check(syn_future_value(futs[i], &v), "value");
		printf(" %lld", (long long) v->as.i);
		syn_future_free(futs[i]);
	}
	printf("\n(ten calls of %d ms each took %.0f ms together)\n", SLEEP_MS,
	    now_ms() - t0);
	/* [fanout] */
}

static void
gen_blocking(syn_synchronizer s)
{
	/* [gen_blocking] */
	syn_value  n = syn_int(3);
	syn_iter  *it;
	syn_result item  = SYN_RESULT_INIT;
	int64_t    items = 0;
	int        rc;
	check(syn_iter_open(s, "count", &n, 1, NULL, &it), "open count(3)");
	printf("count(3):");
	while ((rc = syn_iter_next(it, &item)) == 0) { /* blocks */
		printf(" %lld", (long long) item.value.as.i);
		expect(item.value.as.i == items++, "count hands out 0, 1, 2");
		syn_result_fini(&item);
	}
	printf(" (then %s)\n", syn_errname(rc)); /* SYN_EEND: it returned */
	check(syn_iter_close(it), "close");
	/* [gen_blocking] */
	expect(rc == SYN_EEND && items == 3, "three items, then SYN_EEND");
}

static void
gen_await(syn_synchronizer s)
{
	syn_synchronizer app;
	syn_value        n   = syn_int(3);
	syn_result       res = SYN_RESULT_INIT;
	/* sum_count's userdata: the synchronizer that serves count */
	const syn_func_def def = { "sum_count", SYN_KIND_FUNCTION, sum_count,
		&s };
	check(syn_synchronizer_new(&app, NULL), "syn_synchronizer_new");
	check(syn_register(app, &def), "syn_register");
	check(syn_call(app, "sum_count", &n, 1, &res), "sum_count(3)");
	printf("count(3) awaited by another synchronizer: sum %lld\n",
	    (long long) res.value.as.i);
	expect(res.value.as.i == 0 + 1 + 2, "the items of count(3) sum to 3");
	syn_result_fini(&res);
	check(syn_synchronizer_destroy(app), "syn_synchronizer_destroy");
}

static void
gen_close(syn_synchronizer s)
{
	/* [gen_close] */
	syn_value n = syn_int(1000);
	syn_iter *it;
	check(syn_iter_open(s, "count", &n, 1, NULL, &it), "open count(1000)");
	check(syn_iter_next(it, NULL), "item 0"); /* NULL: drop the item */
	check(syn_iter_close(it), "close"); /* count sees SYN_EITERCLOSED */
	/* [gen_close] */
	printf("count(1000) closed after one item: %d cleanup\n",
	    atomic_load(&closed_early));
	expect(atomic_load(&closed_early) == 1,
	    "the cleanup ran once, before syn_iter_close() returned");
}

int
main(void)
{
	/* [setup] */
	syn_synchronizer   s;
	const syn_func_def def = {
		.name = "f", .kind = SYN_KIND_FUNCTION, .fn = f
	};
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(syn_register(s, &def), "syn_register");
	/* [setup] */
	blocking(s);
	future(s);
	with_aio(s);
	ten_futures(s);
	/* [gen_register] */
	const syn_func_def gen = {
		.name = "count", .kind = SYN_KIND_GENERATOR, .fn = count
	};
	check(syn_register(s, &gen), "syn_register");
	/* [gen_register] */
	gen_blocking(s);
	gen_await(s);
	gen_close(s);
	check(syn_synchronizer_destroy(s), "syn_synchronizer_destroy");
	return failures == 0 ? 0 : 1;
}
