/*
 * The first sections of synchronicity's README, in C.
 *
 * An asynchronous function f(x) sleeps, then returns x squared. It is
 * written once, runs on a synchronizer's own thread, and is called three
 * ways: blocking, as a future, and through an nng_aio. Then ten futures
 * resolve in parallel, in about the time of one call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <synchronicity.h>

#include "example.h"

#define SLEEP_MS 500

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
	check(syn_synchronizer_destroy(s), "syn_synchronizer_destroy");
	return 0;
}
