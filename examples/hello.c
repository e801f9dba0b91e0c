/*
 * The smallest whole program: an asynchronous function, written once,
 * called blocking, as a future and through an nng_aio. README.md quotes
 * it whole. Exits 1, naming the step and the error, if any step fails.
 */
/* [hello] */
#include <stdio.h>
#include <stdlib.h>
#include <synchronicity.h>

#define CALC(F0, F1, F2, F3, F4, C) F1(C, FUNC, square, int64_t, int64_t, x)
SYN_FUNCTIONS_DECLARE(calc, CALC)
SYN_FUNCTIONS_DEFINE(calc, CALC)

int /* runs as a task on the synchronizer's own thread */
calc_square_impl(syn_task *t, int64_t x, int64_t *ret)
{
	*ret = x * x;
	return syn_sleep(t, 100); /* suspends the task, not the thread */
}

static void
check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, syn_strerror(rc));
		exit(1);
	}
}

int
main(void)
{
	syn_synchronizer      s;
	calc_square_future_t *f;
	nng_aio              *aio;
	int64_t               a, b, c;
	check(syn_synchronizer_new(&s, NULL), "new");
	check(calc_register(s), "register");
	check(calc_square(s, 3, &a), "square(3)");        /* blocks */
	check(calc_square_future(s, 4, &f), "square(4)"); /* returns at once */
	check(calc_square_get(f, &b), "get"); /* waits for the future */
	calc_square_free(f);
	check(nng_aio_alloc(&aio, NULL, NULL) ? SYN_ENOMEM : 0, "aio");
	calc_square_aio(s, 5, aio); /* completes the aio */
	nng_aio_wait(aio);
	check(calc_square_aio_get(aio, &c), "square(5)");
	nng_aio_free(aio);
	printf("%lld %lld %lld\n", (long long) a, (long long) b, (long long) c);
	check(syn_synchronizer_destroy(s), "destroy");
	return 0;
}
/* [hello] */
