/*
 * Observability: syn_synchronizer_stats() (calls served and in flight,
 * tasks suspended, mailbox depth, latency), the slow-task hook, and
 * SYN_DEBUG's where-raised notes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static syn_stats
stats_of(syn_synchronizer s)
{
	syn_stats st;
	ck_assert_syn_ok(syn_synchronizer_stats(s, &st));
	return st;
}

/* Waits (2 s at most) until s has in_flight calls, suspended ones. */
static syn_stats
wait_for(syn_synchronizer s, uint64_t in_flight, uint64_t suspended)
{
	syn_stats st = stats_of(s);
	for (int i = 0; i < 400 &&
	     (st.calls_in_flight != in_flight ||
	         st.tasks_suspended != suspended);
	     i++) {
		usleep(5000);
		st = stats_of(s);
	}
	ck_assert_uint_eq(st.calls_in_flight, in_flight);
	ck_assert_uint_eq(st.tasks_suspended, suspended);
	return st;
}

/* Calls served count up; calls running and waiting are seen as such. */
START_TEST(counts_follow_calls)
{
	syn_synchronizer s  = th_new();
	syn_stats        st = stats_of(s);
	ck_assert_uint_eq(st.calls_served, 0);
	ck_assert_uint_eq(st.calls_in_flight, 0);
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(th_call_int(s, "square_now", i), i * i);
	}
	st = wait_for(s, 0, 0);
	ck_assert_uint_eq(st.calls_served, 10);

	syn_future *fs[5];
	syn_value   ms = syn_int(60000);
	for (int i = 0; i < 5; i++) {
		ck_assert_syn_ok(
		    syn_call_future(s, "sleep_ms", &ms, 1, &fs[i]));
	}
	wait_for(s, 5, 5);
	for (int i = 0; i < 5; i++) {
		syn_future_cancel(fs[i]);
		ck_assert_syn_rc(syn_future_wait(fs[i]), SYN_ECANCELED);
		syn_future_free(fs[i]);
	}
	st = wait_for(s, 0, 0);
	ck_assert_uint_eq(st.calls_served, 15);
	ck_assert_uint_eq(st.slow_tasks, 0); /* not watched */
	for (int i = 0; i < SYN_LATENCY_BUCKETS; i++) {
		ck_assert_uint_eq(st.latency_us[i], 0); /* not measured */
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_syn_rc(syn_synchronizer_stats(s, &st), SYN_ECLOSED);
	ck_assert_syn_rc(syn_synchronizer_stats(s, NULL), SYN_EINVAL);
}
END_TEST

/* Calls posted while the thread is blocked wait in the mailbox. */
START_TEST(mailbox_depth_seen)
{
	syn_synchronizer s = th_new();
	syn_future      *block, *fs[20];
	syn_value        ms = syn_int(300);
	ck_assert_syn_ok(syn_call_future(s, "block_ms", &ms, 1, &block));
	wait_for(s, 1, 0); /* it holds the thread */
	for (int i = 0; i < 20; i++) {
		syn_value x = syn_int(i);
		ck_assert_syn_ok(
		    syn_call_future(s, "square_now", &x, 1, &fs[i]));
	}
	ck_assert_uint_ge(stats_of(s).mailbox_depth, 20);
	ck_assert_syn_ok(syn_future_wait(block));
	syn_future_free(block);
	for (int i = 0; i < 20; i++) {
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		syn_future_free(fs[i]);
	}
	syn_stats st = wait_for(s, 0, 0);
	ck_assert_uint_eq(st.mailbox_depth, 0);
	ck_assert_uint_eq(st.calls_served, 21);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct slow_seen {
	syn_synchronizer s;
	char             what[64];
	uint64_t         us;
	atomic_int       times;
} slow_seen;

static void
on_slow(syn_synchronizer s, const char *what, uint64_t us, void *arg)
{
	slow_seen *seen = arg;
	seen->s         = s;
	seen->us        = us;
	snprintf(seen->what, sizeof(seen->what), "%s", what);
	atomic_fetch_add(&seen->times, 1); /* last: the test reads on */
}

/* hog_then_sleep(ms): blocks the thread for ms, then sleeps 1 ms. */
static int
hog_then_sleep(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc == 0) {
		usleep((useconds_t) ms * 1000);
		rc = syn_sleep(t, 1);
	}
	return rc;
}

/* A task that holds the thread past the bound is reported, once per
 * hold; quick tasks and suspended ones are not. */
START_TEST(slow_task_reported)
{
	slow_seen        seen = { 0 };
	syn_config       cfg  = { .slow_task_us = 50000,
		       .on_slow_task            = on_slow,
		       .on_slow_task_arg        = &seen };
	syn_synchronizer s    = th_new_cfg(&cfg);
	ck_assert_int_eq(th_call_int(s, "square_now", 3), 9);
	ck_assert_int_eq(th_call_int(s, "sleep_ms", 120), 120); /* suspended */
	ck_assert_int_eq(atomic_load(&seen.times), 0);
	syn_value ms = syn_int(120);
	ck_assert_syn_ok(syn_call(s, "block_ms", &ms, 1, NULL));
	for (int i = 0; i < 400 && atomic_load(&seen.times) == 0; i++) {
		usleep(5000); /* the hook runs once the task let go */
	}
	ck_assert_int_eq(atomic_load(&seen.times), 1);
	ck_assert_uint_eq(seen.s.id, s.id);
	ck_assert_str_eq(seen.what, "block_ms");
	ck_assert_uint_ge(seen.us, 100000);
	ck_assert_uint_eq(stats_of(s).slow_tasks, 1);
	/* one that holds the thread, then suspends: its first run counts
	 * (a call started on the loop's stack missed it) */
	th_register(s, "hog_then_sleep", hog_then_sleep, NULL);
	ck_assert_syn_ok(syn_call(s, "hog_then_sleep", &ms, 1, NULL));
	for (int i = 0; i < 400 && atomic_load(&seen.times) == 1; i++) {
		usleep(5000);
	}
	ck_assert_int_eq(atomic_load(&seen.times), 2);
	ck_assert_str_eq(seen.what, "hog_then_sleep");
	ck_assert_uint_eq(stats_of(s).slow_tasks, 2);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* With measure_latency, each call lands in the bucket of its time. */
START_TEST(latency_histogram)
{
	syn_config       cfg = { .measure_latency = true };
	syn_synchronizer s   = th_new_cfg(&cfg);
	for (int i = 0; i < 50; i++) {
		th_call_int(s, "square_now", i);
	}
	ck_assert_int_eq(th_call_int(s, "sleep_ms", 20), 20);
	syn_stats st    = wait_for(s, 0, 0);
	uint64_t  total = 0, fast = 0, slow = 0;
	for (int i = 0; i < SYN_LATENCY_BUCKETS; i++) {
		total += st.latency_us[i];
		fast += i <= 10 ? st.latency_us[i] : 0; /* under 1.024 ms */
		slow +=
		    i >= 15 && i <= 17 ? st.latency_us[i] : 0; /* 16-131 ms */
	}
	ck_assert_uint_eq(total, 51);
	ck_assert_uint_ge(fast, 45); /* a loaded machine may delay a few */
	ck_assert_uint_eq(slow, 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A connection's handle names a synchronizer of another process. */
START_TEST(remote_has_no_stats)
{
	syn_synchronizer s = th_new();
	char             url[128];
	syn_synchronizer r;
	syn_stats        st;
	ck_assert_syn_ok(syn_synchronizer_url(s, url, sizeof(url)));
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	ck_assert_syn_rc(syn_synchronizer_stats(r, &st), SYN_ENOTSUP);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static int
raises(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs, (void) ret;
	return syn_raise(t, SYN_EUSER(4), "no row %d", 7); /* line matters */
}

/* SYN_DEBUG=1 adds where an error was raised: in a task, and in the
 * library (a bad argument). */
START_TEST(debug_names_where_raised)
{
	syn_synchronizer s = th_new();
	th_register(s, "raises", raises, NULL);
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "raises", NULL, 0, &f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_EUSER(4));
	ck_assert_str_eq(syn_future_error(f)->message, "no row 7");
	syn_future_free(f);
	setenv("SYN_DEBUG", "1", 1);
	ck_assert_syn_ok(syn_call_future(s, "raises", NULL, 0, &f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_EUSER(4));
	const char *m = syn_future_error(f)->message;
	ck_assert_msg(
	    strncmp(m, "no row 7 [raised at test_stats.c:", 33) == 0, "%s", m);
	syn_future_free(f);
	ck_assert_syn_rc(syn_synchronizer_stats(s, NULL), SYN_EINVAL);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "[raised at "));
	unsetenv("SYN_DEBUG");
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("counts_follow_calls", counts_follow_calls),
		TH_CASE("mailbox_depth_seen", mailbox_depth_seen),
		TH_CASE("slow_task_reported", slow_task_reported),
		TH_CASE("latency_histogram", latency_histogram),
		TH_CASE("remote_has_no_stats", remote_has_no_stats),
		TH_CASE("debug_names_where_raised", debug_names_where_raised),
	};
	return th_suite("stats", cases, sizeof(cases) / sizeof(cases[0]));
}
