/*
 * Watching a synchronizer: its counts (syn_synchronizer_stats), a hook
 * for tasks that hold its thread too long (the seed's most common
 * pitfall: a blocking call inside an async function), and SYN_DEBUG=1,
 * which says where each error was raised.
 *
 * The program serves two functions: fetch(ms), which awaits as it
 * should, and parse(ms), which computes on the thread (here: a plain
 * sleep) and starves every other task meanwhile. It calls both, reads the
 * counts, and checks what the hook saw.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"

static int
fetch(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc == 0 && (rc = syn_sleep(t, (syn_duration) ms)) == 0) {
		*ret = syn_int(ms);
	}
	return rc;
}

static int
parse(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc == 0 && ms < 0) {
		return syn_raise(
		    t, SYN_EUSER(1), "no parse of %lld ms", (long long) ms);
	}
	usleep((useconds_t) ms * 1000); /* holds the thread */
	*ret = syn_int(ms);
	return rc;
}

/* [hook] */
/* Runs on the synchronizer's thread once the slow task lets go of it:
 * it must not block. */
static atomic_int slow_seen;

static void
on_slow_task(syn_synchronizer s, const char *what, uint64_t us, void *arg)
{
	(void) s, (void) arg;
	fprintf(stderr, "slow task: %s held the thread %llu us\n", what,
	    (unsigned long long) us);
	atomic_fetch_add(&slow_seen, 1);
}
/* [hook] */

static syn_synchronizer
start(void)
{
	/* [config] */
	syn_config cfg = {
		.name            = "parser",
		.slow_task_us    = 20000, /* 20 ms between two awaits */
		.on_slow_task    = on_slow_task,
		.measure_latency = true,
	};
	syn_synchronizer s;
	check(syn_synchronizer_new(&s, &cfg), "syn_synchronizer_new");
	/* [config] */
	const syn_func_def defs[] = {
		{ .name = "fetch", .kind = SYN_KIND_FUNCTION, .fn = fetch },
		{ .name = "parse", .kind = SYN_KIND_FUNCTION, .fn = parse },
	};
	for (size_t i = 0; i < 2; i++) {
		check(syn_register(s, &defs[i]), defs[i].name);
	}
	return s;
}

/* Calls name(ms) count times as futures and waits for them all. */
static void
call_many(syn_synchronizer s, const char *name, int64_t ms, int count)
{
	syn_future *fs[16];
	syn_value   a = syn_int(ms);
	for (int i = 0; i < count; i++) {
		check(syn_call_future(s, name, &a, 1, &fs[i]), name);
	}
	check(syn_future_wait_all(fs, (size_t) count, SYN_DURATION_INFINITE),
	    "wait_all");
	for (int i = 0; i < count; i++) {
		syn_future_free(fs[i]);
	}
}

/* Prints the counts, and returns the calls served. */
static uint64_t
print_stats(syn_synchronizer s)
{
	/* [stats] */
	syn_stats st;
	check(syn_synchronizer_stats(s, &st), "syn_synchronizer_stats");
	printf("served %llu, in flight %llu, suspended %llu, "
	       "mailbox %llu, slow %llu\n",
	    (unsigned long long) st.calls_served,
	    (unsigned long long) st.calls_in_flight,
	    (unsigned long long) st.tasks_suspended,
	    (unsigned long long) st.mailbox_depth,
	    (unsigned long long) st.slow_tasks);
	for (int i = 0; i < SYN_LATENCY_BUCKETS; i++) {
		if (st.latency_us[i] > 0) { /* under 2^i us */
			printf("  under %8llu us: %llu\n", 1ull << i,
			    (unsigned long long) st.latency_us[i]);
		}
	}
	/* [stats] */
	expect(st.slow_tasks == 2, "two slow tasks counted");
	return st.calls_served;
}

int
main(void)
{
	syn_synchronizer s = start();

	/* Ten fetches of 30 ms await side by side: nothing is slow. Two
	 * parses of 30 ms each hold the thread: both are reported. */
	call_many(s, "fetch", 30, 10);
	expect(atomic_load(&slow_seen) == 0, "awaiting is not slow");
	call_many(s, "parse", 30, 2);
	for (int i = 0; i < 200 && atomic_load(&slow_seen) < 2; i++) {
		usleep(1000); /* the hook runs after the reply went */
	}
	expect(atomic_load(&slow_seen) == 2, "two slow tasks reported");
	expect(print_stats(s) == 12, "twelve calls served");

	/* [debug] */
	/* With SYN_DEBUG=1 (usually set in the shell), an error's message
	 * ends with the file and line that raised it. */
	setenv("SYN_DEBUG", "1", 1);
	syn_value  bad = syn_int(-1);
	syn_result res = SYN_RESULT_INIT;
	int        rc  = syn_call(s, "parse", &bad, 1, &res);
	printf("%s: %s\n", syn_errname(rc), syn_last_error()->message);
	/* SYN_EUSER(1): no parse of -1 ms [raised at observe.c:39] */
	/* [debug] */
	expect(rc == SYN_EUSER(1), "parse(-1) fails");
	expect(
	    strstr(syn_last_error()->message, "[raised at observe.c:") != NULL,
	    "the message says where");
	unsetenv("SYN_DEBUG");

	check(syn_synchronizer_destroy(s), "destroy");
	return failures == 0 ? 0 : 1;
}
