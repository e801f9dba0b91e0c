/*
 * Each synchronizer has its own thread. A task that blocks its thread (a
 * bug: it should await) delays every call of its own synchronizer, and no
 * other synchronizer's, nor the caller's thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"

/* [buggy] */
static int
buggy(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	usleep(500 * 1000); /* blocks the thread: should be syn_sleep() */
	return 0;
}
/* [buggy] */

static int
quick(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	*ret = syn_int(42);
	return 0;
}

static syn_synchronizer
make(const char *name)
{
	syn_synchronizer   s;
	syn_config         cfg     = { .name = name };
	const syn_func_def defs[2] = {
		{ .name = "buggy", .kind = SYN_KIND_FUNCTION, .fn = buggy },
		{ .name = "quick", .kind = SYN_KIND_FUNCTION, .fn = quick },
	};
	check(syn_synchronizer_new(&s, &cfg), name);
	check(syn_register(s, &defs[0]), "buggy");
	check(syn_register(s, &defs[1]), "quick");
	return s;
}

int
main(void)
{
	syn_synchronizer lib = make("lib"), other = make("other");

	/* [isolation] */
	syn_future *slow;
	check(syn_call_future(lib, "buggy", NULL, 0, &slow), "buggy");
	usleep(50 * 1000); /* buggy now blocks lib's thread */

	double t0 = now_ms();
	check(syn_call(other, "quick", NULL, 0, NULL), "other quick");
	double other_ms = now_ms() - t0; /* about 0: another thread */

	t0 = now_ms();
	check(syn_call(lib, "quick", NULL, 0, NULL), "lib quick");
	double lib_ms = now_ms() - t0; /* about 450: waits behind buggy */
	/* [isolation] */

	printf("quick on another synchronizer: %.1f ms; on the blocked one: "
	       "%.1f ms\n",
	    other_ms, lib_ms);
	check(syn_future_wait(slow), "buggy");
	syn_future_free(slow);
	check(syn_synchronizer_destroy(lib), "destroy lib");
	check(syn_synchronizer_destroy(other), "destroy other");
	return 0;
}
