/*
 * A task awaits an nng asynchronous operation. Any nng operation that
 * completes an nng_aio (timers, sockets, contexts) becomes an await point
 * through syn_aio_alloc() and syn_await_aio(); here it is nng's timer.
 * While a task waits, its synchronizer serves other calls, so ten naps of
 * 200 ms take about 200 ms together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <synchronicity.h>

#include "example.h"

#define NAP_MS 200

/* [await_aio] */
static int
nng_nap(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t  ms;
	nng_aio *aio;
	int      rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc != 0 || (rc = syn_aio_alloc(t, &aio)) != 0) {
		return rc;
	}
	nng_sleep_aio((nng_duration) ms, aio); /* any nng operation */
	rc = syn_await_aio(t, aio); /* nng's code, or SYN_ECANCELED */
	syn_aio_free(t, aio);       /* from a task of this synchronizer */
	*ret = syn_int(ms);
	return rc;
}
/* [await_aio] */

int
main(void)
{
	syn_synchronizer   s;
	const syn_func_def def = {
		.name = "nng_nap", .kind = SYN_KIND_FUNCTION, .fn = nng_nap
	};
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(syn_register(s, &def), "syn_register");

	syn_future *fs[10];
	double      t0 = now_ms();
	for (int i = 0; i < 10; i++) {
		syn_value arg = syn_int(NAP_MS);
		check(syn_call_future(s, "nng_nap", &arg, 1, &fs[i]), "call");
	}
	check(syn_future_wait_all(fs, 10, SYN_DURATION_INFINITE), "wait_all");
	for (int i = 0; i < 10; i++) {
		check(syn_future_wait(fs[i]), "nng_nap");
		syn_future_free(fs[i]);
	}
	printf("ten naps of %d ms on nng's timer took %.0f ms together\n",
	    NAP_MS, now_ms() - t0);
	check(syn_synchronizer_destroy(s), "syn_synchronizer_destroy");
	return 0;
}
