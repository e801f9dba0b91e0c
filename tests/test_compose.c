/*
 * Synchronizers composed: tasks awaiting other synchronizers (chains and
 * cycles), their own synchronizer, blocking calls made from tasks (and
 * the hook that reports them), cancellation down a chain, destroying a
 * synchronizer others await, and many threads on several synchronizers.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* The arguments (x, id1, id2, ...) of the next level of a chain, into
 * rest: first, then id2, ... (8 at most); how many. */
static size_t
next_level(
    const syn_value *args, size_t nargs, syn_value first, syn_value rest[8])
{
	size_t n = nargs - 1 < 8 ? nargs - 1 : 8;
	rest[0]  = first;
	memcpy(&rest[1], &args[2], (n - 1) * sizeof(rest[0]));
	return n;
}

/*
 * relay(x, id1, id2, ...): with no ids, returns x * x; else awaits
 * relay(x, id2, ...) on synchronizer id1 and returns its result.
 */
static int
relay(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	if (nargs == 0 || args[0].type != SYN_TYPE_INT) {
		return syn_raise(t, SYN_EINVAL, "relay(x, ids...)");
	}
	if (nargs == 1) {
		*ret = syn_int(args[0].as.i * args[0].as.i);
		return 0;
	}
	syn_synchronizer next = { (uint32_t) args[1].as.i };
	syn_value        rest[8];
	size_t           n = next_level(args, nargs, args[0], rest);
	syn_future      *f;
	int              rc = syn_call_future(next, "relay", rest, n, &f);
	if (rc != 0) {
		return rc;
	}
	if ((rc = syn_await(t, f)) == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = syn_int(v->as.i);
	}
	syn_future_free(f);
	return rc;
}

/* The order in which the levels of a chain cleaned up. */
static atomic_int cleanup_log[8];
static atomic_int cleanup_n;

/*
 * hold(level, id1, ...): with no ids, sleeps until cancelled; else awaits
 * hold(level + 1, id2, ...) on id1. Each level logs its level when its
 * await is cancelled, after a short cleanup that itself awaits.
 */
static int
hold(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t level = args[0].as.i;
	int     rc;
	if (nargs == 1) {
		rc = syn_sleep(t, SYN_DURATION_INFINITE);
	} else {
		syn_synchronizer next = { (uint32_t) args[1].as.i };
		syn_value        rest[8];
		size_t n = next_level(args, nargs, syn_int(level + 1), rest);
		syn_future *f;
		if ((rc = syn_call_future(next, "hold", rest, n, &f)) != 0) {
			return rc;
		}
		rc = syn_await(t, f);
		syn_future_free(f);
	}
	if (rc == SYN_ECANCELED) {
		usleep(2000); /* cleanup that takes a while */
		int i = atomic_fetch_add(&cleanup_n, 1);
		atomic_store(&cleanup_log[i & 7], (int) level);
	}
	return rc;
}

/* call_blocking(id, x): square(x) on id (which takes D), as a blocking
 * call: it waits, whatever the timing. */
static int
call_blocking(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t id, x;
	int     rc = syn_unpack(t, args, nargs, "ii", &id, &x);
	if (rc != 0) {
		return rc;
	}
	syn_synchronizer other = { (uint32_t) id };
	syn_value        arg   = syn_int(x);
	syn_result       res   = SYN_RESULT_INIT;
	if ((rc = syn_call(other, "square", &arg, 1, &res)) == 0) {
		*ret = syn_int(res.value.as.i);
	}
	syn_result_fini(&res);
	return rc == 0 ? 0 : syn_raise(t, rc, "blocking call failed");
}

/* call_now_n(id, n): n blocking calls of square_now on synchronizer id. */
static int
call_now_n(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t id, n;
	int     rc = syn_unpack(t, args, nargs, "ii", &id, &n);
	for (int64_t i = 0; i < n && rc == 0; i++) {
		syn_value  arg = syn_int(i);
		syn_result res = SYN_RESULT_INIT;
		rc             = syn_call((syn_synchronizer) { (uint32_t) id },
		                "square_now", &arg, 1, &res);
		syn_result_fini(&res);
	}
	*ret = syn_int(n);
	return rc;
}

/* How brelay_with blocks for the next level. */
typedef enum block_how {
	BY_CALL,     /* a blocking call */
	BY_WAIT,     /* a future, syn_future_wait */
	BY_WAIT_ALL, /* a future, syn_future_wait_all */
	BY_WAIT_ANY, /* a future, syn_future_wait_any */
} block_how;

/* Blocks until f completes, as how says. */
static int
block_for(syn_future *f, block_how how)
{
	size_t index;
	return how == BY_WAIT ? syn_future_wait(f)
	    : how == BY_WAIT_ALL
	    ? syn_future_wait_all(&f, 1, SYN_DURATION_INFINITE)
	    : syn_future_wait_any(&f, 1, SYN_DURATION_INFINITE, &index);
}

/*
 * brelay(x, id1, id2, ...): relay with blocking calls: with no ids,
 * returns x * x; else calls brelay(x, id2, ...) on id1, blocking the
 * thread (or as a future it blocks for: brelay_wait, brelay_all,
 * brelay_any).
 */
static int
brelay_with(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret,
    const char *self, block_how how)
{
	if (nargs == 1) {
		*ret = syn_int(args[0].as.i * args[0].as.i);
		return 0;
	}
	syn_synchronizer next = { (uint32_t) args[1].as.i };
	syn_value        rest[8];
	size_t           n   = next_level(args, nargs, args[0], rest);
	syn_result       res = SYN_RESULT_INIT;
	syn_future      *f   = NULL;
	int rc = how == BY_CALL ? syn_call(next, self, rest, n, &res)
	                        : syn_call_future(next, self, rest, n, &f);
	if (rc == 0 && f != NULL && (rc = block_for(f, how)) == 0 &&
	    (rc = syn_future_wait(f)) == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = syn_int(v->as.i);
	} else if (rc == 0 && f == NULL) {
		*ret = syn_int(res.value.as.i);
	}
	syn_future_free(f);
	syn_result_fini(&res);
	return rc == 0 ? 0 : syn_raise(t, rc, "a blocking relay failed");
}

/* The four brelays, by name: each is registered with its own as
 * userdata. */
typedef struct brelay_kind {
	const char *name;
	block_how   how;
} brelay_kind;

static const brelay_kind brelays[] = {
	{ "brelay", BY_CALL },
	{ "brelay_wait", BY_WAIT },
	{ "brelay_all", BY_WAIT_ALL },
	{ "brelay_any", BY_WAIT_ANY },
};

static int
brelay(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const brelay_kind *k = syn_task_userdata(t);
	return brelay_with(t, args, nargs, ret, k->name, k->how);
}

/*
 * either(x, b, c, back): blocks with syn_future_wait_any for whichever
 * comes first of brelay_wait(x, this one) on b, and on c either the same
 * (back true) or square(x); returns its result, or raises its error.
 */
static int
either(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x, b, c;
	bool    back;
	int     rc = syn_unpack(t, args, nargs, "iiib", &x, &b, &c, &back);
	if (rc != 0) {
		return rc;
	}
	syn_value   relay[2] = { syn_int(x),
		  syn_int(syn_task_synchronizer(t).id) };
	syn_future *fs[2]    = { NULL, NULL };
	size_t      index    = 0;
	if ((rc = syn_call_future((syn_synchronizer) { (uint32_t) b },
	         "brelay_wait", relay, 2, &fs[0])) == 0 &&
	    (rc = syn_call_future((syn_synchronizer) { (uint32_t) c },
	         back ? "brelay_wait" : "square", relay, back ? 2 : 1,
	         &fs[1])) == 0 &&
	    (rc = syn_future_wait_any(fs, 2, SYN_DURATION_INFINITE, &index)) ==
	        0 &&
	    (rc = syn_future_wait(fs[index])) == 0) {
		const syn_value *v;
		syn_future_value(fs[index], &v);
		*ret = syn_int(v->as.i);
	}
	syn_future_free(fs[0]);
	syn_future_free(fs[1]);
	return rc == 0 ? 0 : syn_raise(t, rc, "either failed");
}

/*
 * many_any(x, b, n, copies): blocks with syn_future_wait_any for n futures
 * that all wait for b: brelay_wait(x, this one) and n - 1 squares queued
 * behind it (copies true: the first future listed n times); returns the
 * first result, or raises its error.
 */
static int
many_any(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x, b, n;
	bool    copies;
	int     rc = syn_unpack(t, args, nargs, "iiib", &x, &b, &n, &copies);
	if (rc != 0 || n < 1 || n > 32) {
		return rc != 0 ? rc : syn_raise(t, SYN_EINVAL, "n: 1 to 32");
	}
	syn_synchronizer to       = { (uint32_t) b };
	syn_value        relay[2] = { syn_int(x),
		       syn_int(syn_task_synchronizer(t).id) };
	syn_future      *fs[32]   = { NULL };
	size_t           made = 0, index = 0;
	rc = syn_call_future(to, "brelay_wait", relay, 2, &fs[made++]);
	while (rc == 0 && made < (size_t) n) {
		if (copies) {
			fs[made++] = fs[0];
		} else {
			rc = syn_call_future(
			    to, "square", relay, 1, &fs[made++]);
		}
	}
	if (rc == 0 &&
	    (rc = syn_future_wait_any(
	         fs, made, SYN_DURATION_INFINITE, &index)) == 0 &&
	    (rc = syn_future_wait(fs[index])) == 0) {
		const syn_value *v;
		syn_future_value(fs[index], &v);
		*ret = syn_int(v->as.i);
	}
	for (size_t i = 0; i < made; i++) {
		if (i == 0 || !copies) {
			syn_future_free(fs[i]);
		}
	}
	return rc == 0 ? 0 : syn_raise(t, rc, "many_any failed");
}

/* deadline(ms, id, fn, x): awaits fn(x) on id for ms at most. */
static int
deadline(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t          ms, id;
	const char      *fn;
	const syn_value *x;
	syn_future      *f;
	int rc = syn_unpack(t, args, nargs, "iisv", &ms, &id, &fn, &x);
	if (rc != 0 ||
	    (rc = syn_call_future(
	         (syn_synchronizer) { (uint32_t) id }, fn, x, 1, &f)) != 0) {
		return rc;
	}
	double t0 = th_now_ms();
	rc        = syn_await_timeout(t, f, (syn_duration) ms);
	if (rc == SYN_ETIMEDOUT && atomic_load(&cleanup_n) != 1) {
		rc = syn_raise(t, SYN_EUSER(1), "returned before the cleanup");
	} else if (rc == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = syn_int(v->as.i);
	} else if (rc == SYN_ETIMEDOUT && th_now_ms() - t0 < (double) ms) {
		rc = syn_raise(t, SYN_EUSER(2), "timed out early");
	}
	syn_future_free(f);
	return rc;
}

static syn_synchronizer
compose_sync(const syn_config *cfg)
{
	syn_synchronizer s = cfg != NULL ? th_new_cfg(cfg) : th_new();
	th_register(s, "relay", relay, NULL);
	th_register(s, "hold", hold, NULL);
	th_register(s, "call_blocking", call_blocking, NULL);
	th_register(s, "call_now_n", call_now_n, NULL);
	th_register(s, "deadline", deadline, NULL);
	for (size_t i = 0; i < sizeof(brelays) / sizeof(brelays[0]); i++) {
		th_register(s, brelays[i].name, brelay, (void *) &brelays[i]);
	}
	th_register(s, "either", either, NULL);
	th_register(s, "many_any", many_any, NULL);
	return s;
}

/* fn(x, ids...) on s: its result, or the error code (as a negative). */
static int64_t
call_or_code(
    syn_synchronizer s, const char *fn, const syn_value *args, size_t n)
{
	syn_result res = SYN_RESULT_INIT;
	int        rc  = syn_call(s, fn, args, n, &res);
	int64_t    v   = rc == 0 ? res.value.as.i : -(int64_t) rc;
	syn_result_fini(&res);
	return v;
}

/* As call_or_code, failing the test when no answer comes within ms. */
static int64_t
call_or_code_within(syn_synchronizer s, const char *fn, const syn_value *args,
    size_t n, syn_duration ms)
{
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, fn, args, n, &f));
	int rc = syn_future_wait_timeout(f, ms);
	ck_assert_msg(rc != SYN_ETIMEDOUT, "%s: no answer (a hang)", fn);
	const syn_value *v;
	int64_t          out =
            rc == 0 && syn_future_value(f, &v) == 0 ? v->as.i : -(int64_t) rc;
	syn_future_free(f);
	return out;
}

/* relay(args) on s, which must succeed: its result. */
static int64_t
relay_call(syn_synchronizer s, const syn_value *args, size_t n)
{
	int64_t v = call_or_code(s, "relay", args, n);
	ck_assert_int_ge(v, 0);
	return v;
}

/* A -> B -> C, and cycles: A -> B -> A, A -> B -> A -> B -> A. */
START_TEST(chains_and_cycles)
{
	syn_synchronizer a = compose_sync(NULL), b = compose_sync(NULL),
	                 c = compose_sync(NULL);
	syn_value chain[4] = { syn_int(7), syn_int(b.id), syn_int(c.id) };
	ck_assert_int_eq(relay_call(a, chain, 3), 49);
	syn_value cycle[3] = { syn_int(8), syn_int(b.id), syn_int(a.id) };
	ck_assert_int_eq(relay_call(a, cycle, 3), 64);
	syn_value longer[5] = { syn_int(9), syn_int(b.id), syn_int(a.id),
		syn_int(b.id), syn_int(a.id) };
	ck_assert_int_eq(relay_call(a, longer, 5), 81);
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	ck_assert_syn_ok(syn_synchronizer_destroy(c));
}
END_TEST

/* A task awaiting its own synchronizer runs the call as another task; a
 * blocking call to its own synchronizer is refused with SYN_EDEADLK. */
START_TEST(own_synchronizer)
{
	syn_synchronizer a       = compose_sync(NULL);
	syn_value        self[3] = { syn_int(5), syn_int(a.id), syn_int(a.id) };
	ck_assert_int_eq(relay_call(a, self, 3), 25);
	syn_value  args[2] = { syn_int(a.id), syn_int(3) };
	syn_result res     = SYN_RESULT_INIT;
	ck_assert_syn_rc(
	    syn_call(a, "call_blocking", args, 2, &res), SYN_EDEADLK);
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
}
END_TEST

/*
 * Blocking calls between synchronizers, made by their tasks: a chain
 * works (each thread waits for the next), but a cycle would wait for
 * good (A's thread waits for B, whose task waits for A's thread): the
 * call that would close it is refused with SYN_EDEADLK, which reaches
 * the outer caller, and the synchronizers serve on. The same for a
 * future waited for with syn_future_wait, and for longer cycles.
 */
START_TEST(blocking_cycles_refused)
{
	syn_synchronizer a = compose_sync(NULL), b = compose_sync(NULL),
	                 c = compose_sync(NULL);
	syn_value chain[3] = { syn_int(7), syn_int(b.id), syn_int(c.id) };
	ck_assert_int_eq(call_or_code(a, "brelay", chain, 3), 49);
	ck_assert_int_eq(call_or_code(a, "brelay_wait", chain, 3), 49);
	syn_value cycle[3] = { syn_int(8), syn_int(b.id), syn_int(a.id) };
	ck_assert_int_eq(call_or_code(a, "brelay", cycle, 3), -SYN_EDEADLK);
	ck_assert_int_eq(
	    call_or_code(a, "brelay_wait", cycle, 3), -SYN_EDEADLK);
	/* (wait_all and wait_any took no part in the search, and hung) */
	ck_assert_int_eq(call_or_code(a, "brelay_all", cycle, 3), -SYN_EDEADLK);
	ck_assert_int_eq(call_or_code(a, "brelay_any", cycle, 3), -SYN_EDEADLK);
	ck_assert_int_eq(call_or_code(a, "brelay_all", chain, 3), 49);
	ck_assert_int_eq(call_or_code(a, "brelay_any", chain, 3), 49);
	syn_value three[4] = { syn_int(9), syn_int(b.id), syn_int(c.id),
		syn_int(a.id) };
	ck_assert_int_eq(call_or_code(a, "brelay", three, 4), -SYN_EDEADLK);
	ck_assert_int_eq(relay_call(a, cycle, 3), 64); /* awaited: works */
	ck_assert_int_eq(call_or_code(a, "brelay", chain, 3), 49);
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	ck_assert_syn_ok(syn_synchronizer_destroy(c));
}
END_TEST

/*
 * A thread that blocks until any one of several calls answers waits for
 * good only when every one of them waits for it: A blocks for either of
 * B and C, B blocks for A. With C free, B may wait (C answers, A's task
 * ends, A serves B); with C blocking for A too, the last of the three to
 * block is refused.
 */
START_TEST(wait_any_rings)
{
	syn_synchronizer a = compose_sync(NULL), b = compose_sync(NULL),
	                 c = compose_sync(NULL);
	syn_value args[4]  = { syn_int(6), syn_int(b.id), syn_int(c.id),
		 syn_bool(false) };
	ck_assert_int_eq(call_or_code(a, "either", args, 4), 36);
	args[3] = syn_bool(true);
	ck_assert_int_eq(call_or_code(a, "either", args, 4), -SYN_EDEADLK);
	syn_value chain[3] = { syn_int(7), syn_int(b.id), syn_int(c.id) };
	ck_assert_int_eq(call_or_code(a, "brelay_any", chain, 3), 49);
	/* Many futures of one synchronizer are one wait: more than eight
	 * (the most synchronizers checked) did hang. */
	for (int64_t n = 1; n <= 20; n += 8) {
		for (int copies = 0; copies < 2; copies++) {
			syn_value many[4] = { syn_int(5), syn_int(b.id),
				syn_int(n), syn_bool(copies) };
			ck_assert_int_eq(
			    call_or_code_within(a, "many_any", many, 4, 3000),
			    -SYN_EDEADLK);
		}
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	ck_assert_syn_ok(syn_synchronizer_destroy(c));
}
END_TEST

/* Posted by a_post: a_callb's future, and the code of its call. */
static atomic_int  callb_rc;
static syn_future *posted;

/* a_callb(b): a blocking call of square(3) on b; its code noted. */
static int
a_callb(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t;
	(void) nargs;
	(void) ret;
	syn_synchronizer b   = { (uint32_t) args[0].as.i };
	syn_value        x   = syn_int(3);
	syn_result       res = SYN_RESULT_INIT;
	atomic_store(&callb_rc, syn_call(b, "square", &x, 1, &res));
	syn_result_fini(&res);
	return 0;
}

/* a_post(a, b): starts a_callb(b) on a (this synchronizer), and returns
 * without waiting for it. */
static int
a_post(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t;
	(void) nargs;
	(void) ret;
	syn_synchronizer a = { (uint32_t) args[0].as.i };
	return syn_call_future(a, "a_callb", &args[1], 1, &posted);
}

/* b_entry(a, b): a blocking call of a_post(a, b) on a. */
static int
b_entry(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t;
	(void) ret;
	syn_synchronizer a = { (uint32_t) args[0].as.i };
	return syn_call(a, "a_post", args, nargs, NULL);
}

/*
 * A wait that is over is no ring, though its thread has not woken yet:
 * B's task blocks for A's a_post, which starts a_callb on A and returns;
 * a_callb blocks for B at once, maybe before B's thread woke from its
 * answered wait. No spinning, so that B's thread sleeps. (A note read
 * without asking whether its wait was over refused 185 of 200.)
 */
START_TEST(answered_wait_is_no_ring)
{
	syn_config       cfg = { .spin_us = SYN_SPIN_OFF };
	syn_synchronizer a = compose_sync(&cfg), b = compose_sync(&cfg);
	th_register(a, "a_callb", a_callb, NULL);
	th_register(a, "a_post", a_post, NULL);
	th_register(b, "b_entry", b_entry, NULL);
	syn_value ids[2] = { syn_int(a.id), syn_int(b.id) };
	for (int i = 0; i < 200; i++) {
		atomic_store(&callb_rc, -1);
		ck_assert_syn_ok(syn_call(b, "b_entry", ids, 2, NULL));
		ck_assert_syn_ok(syn_future_wait(posted));
		syn_future_free(posted);
		ck_assert_syn_ok(atomic_load(&callb_rc));
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

/* b_calla(a): a blocking call of square(3) on a: its result. */
static int
b_calla(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) nargs;
	syn_synchronizer a   = { (uint32_t) args[0].as.i };
	syn_value        x   = syn_int(3);
	syn_result       res = SYN_RESULT_INIT;
	int              rc  = syn_call(a, "square", &x, 1, &res);
	if (rc == 0) {
		*ret = syn_int(res.value.as.i);
	}
	syn_result_fini(&res);
	return rc == 0 ? 0 : syn_raise(t, rc, "b_calla failed");
}

/* a_timed(a, b): b_calla(a) on b, waited for 500 ms blocking, then
 * awaited: its result. */
static int
a_timed(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) nargs;
	syn_synchronizer b = { (uint32_t) args[1].as.i };
	syn_future      *f;
	int              rc = syn_call_future(b, "b_calla", &args[0], 1, &f);
	if (rc != 0) {
		return rc;
	}
	if ((rc = syn_future_wait_timeout(f, 500)) == SYN_ETIMEDOUT) {
		rc = syn_await(t, f);
	}
	if (rc == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = syn_int(v->as.i);
	}
	syn_future_free(f);
	return rc == 0 ? 0 : syn_raise(t, rc, "a_timed failed");
}

/* A wait with a timeout ends by itself: it closes no ring. A's task
 * waits 500 ms for B, whose task blocks for A meanwhile; once A's wait
 * timed out, A awaits and serves B. (Counted as a ring, it was refused.) */
START_TEST(timed_wait_is_no_ring)
{
	syn_synchronizer a = compose_sync(NULL), b = compose_sync(NULL);
	th_register(a, "a_timed", a_timed, NULL);
	th_register(b, "b_calla", b_calla, NULL);
	syn_value ids[2] = { syn_int(a.id), syn_int(b.id) };
	ck_assert_int_eq(call_or_code(a, "a_timed", ids, 2), 9);
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

typedef struct blocking_log {
	atomic_int       count;
	syn_synchronizer who;
	char             what[64];
} blocking_log;

static void
on_blocking(syn_synchronizer s, const char *what, void *arg)
{
	blocking_log *log = arg;
	log->who          = s;
	snprintf(log->what, sizeof(log->what), "%s", what);
	atomic_fetch_add(&log->count, 1);
}

/* A blocking call from A's task to B works, stalls A, and A's hook
 * reports it; awaiting the same call reports nothing. */
START_TEST(blocking_in_task_is_reported)
{
	static blocking_log log;
	atomic_store(&log.count, 0);
	syn_config       cfg = { .on_blocking = on_blocking,
		      .on_blocking_arg        = &log };
	syn_synchronizer a = compose_sync(&cfg), b = compose_sync(NULL);
	syn_value        args[2] = { syn_int(b.id), syn_int(6) };
	syn_result       res     = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(a, "call_blocking", args, 2, &res));
	ck_assert_int_eq(res.value.as.i, 36);
	syn_result_fini(&res);
	ck_assert_int_eq(atomic_load(&log.count), 1);
	ck_assert_uint_eq(log.who.id, a.id);
	ck_assert_str_eq(log.what, "square");
	syn_value chain[2] = { syn_int(4), syn_int(b.id) };
	ck_assert_int_eq(relay_call(a, chain, 2), 16); /* awaited */
	ck_assert_int_eq(atomic_load(&log.count), 1);
	ck_assert_int_eq(th_call_int(b, "square_now", 2), 4); /* no actor */
	ck_assert_int_eq(atomic_load(&log.count), 1);
	/* Every blocking call, however soon its reply comes (found by
	 * review: one whose reply was there as the wait began went
	 * unreported, now and then). */
	syn_value fast[2] = { syn_int(b.id), syn_int(500) };
	ck_assert_syn_ok(syn_call(a, "call_now_n", fast, 2, &res));
	ck_assert_int_eq(atomic_load(&log.count), 501);
	ck_assert_str_eq(log.what, "square_now");
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

/* Cancelling the outer call of A -> B -> C cancels every level; each
 * level's cleanup runs, innermost first, before the caller is told. */
START_TEST(cancel_down_a_chain)
{
	syn_synchronizer a = compose_sync(NULL), b = compose_sync(NULL),
	                 c = compose_sync(NULL);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 8; i++) {
			atomic_store(&cleanup_log[i], 0);
		}
		atomic_store(&cleanup_n, 0);
		syn_value   args[3] = { syn_int(1), syn_int(b.id),
			  syn_int(c.id) };
		syn_future *f;
		ck_assert_syn_ok(syn_call_future(a, "hold", args, 3, &f));
		usleep(20000); /* the chain is built */
		ck_assert_syn_ok(syn_future_cancel(f));
		ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
		ck_assert_int_eq(atomic_load(&cleanup_n), 3);
		ck_assert_int_eq(atomic_load(&cleanup_log[0]), 3); /* C */
		ck_assert_int_eq(atomic_load(&cleanup_log[1]), 2); /* B */
		ck_assert_int_eq(atomic_load(&cleanup_log[2]), 1); /* A */
		syn_future_free(f);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	ck_assert_syn_ok(syn_synchronizer_destroy(c));
}
END_TEST

/* A task's await with a deadline: in time, the result; too late, the
 * awaited call is cancelled and cleaned up before SYN_ETIMEDOUT. */
START_TEST(await_with_deadline)
{
	syn_synchronizer a = compose_sync(NULL), b = compose_sync(NULL);
	atomic_store(&cleanup_n, 0);
	syn_value  late[4] = { syn_int(50), syn_int(b.id), syn_str("hold"),
		 syn_int(1) };
	syn_result res     = SYN_RESULT_INIT;
	ck_assert_syn_rc(syn_call(a, "deadline", late, 4, &res), SYN_ETIMEDOUT);
	ck_assert_int_eq(atomic_load(&cleanup_n), 1);
	syn_value in_time[4] = { syn_int(5000), syn_int(b.id), syn_str("relay"),
		syn_int(6) };
	ck_assert_syn_ok(syn_call(a, "deadline", in_time, 4, &res));
	ck_assert_int_eq(res.value.as.i, 36);
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

/* A cancel racing with completion, at every moment: the canceller always
 * gets SYN_ECANCELED. */
START_TEST(cancel_racing_completion_wins)
{
	syn_synchronizer a = compose_sync(NULL), b = compose_sync(NULL);
	for (int i = 0; i < 2000; i++) {
		syn_value   args[2] = { syn_int(i), syn_int(b.id) };
		syn_future *f;
		ck_assert_syn_ok(syn_call_future(a, "relay", args, 2, &f));
		for (int spin = 0; spin < i % 50; spin++) {
			__asm__ volatile("" ::: "memory");
		}
		ck_assert_syn_ok(syn_future_cancel(f));
		ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
		ck_assert_int_eq(syn_future_error(f)->code, SYN_ECANCELED);
		syn_future_free(f);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

/* Destroying B while A's tasks await it: their awaits fail with
 * SYN_ECLOSED, and A keeps serving. */
START_TEST(destroy_while_others_await)
{
	syn_synchronizer a = compose_sync(NULL), b = compose_sync(NULL);
	syn_future      *fs[8];
	for (int i = 0; i < 8; i++) {
		syn_value args[3] = { syn_int(b.id), syn_str("sleep_ms"),
			syn_int(60000) };
		ck_assert_syn_ok(syn_call_future(a, "nested", args, 3, &fs[i]));
	}
	usleep(20000);
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	for (int i = 0; i < 8; i++) {
		ck_assert_syn_rc(syn_future_wait(fs[i]), SYN_ECLOSED);
		syn_future_free(fs[i]);
	}
	ck_assert_int_eq(th_call_int(a, "square_now", 12), 144);
	syn_value  args[3] = { syn_int(b.id), syn_str("square_now"),
		 syn_int(2) };
	syn_result res     = SYN_RESULT_INIT;
	ck_assert_syn_rc(syn_call(a, "nested", args, 3, &res), SYN_ECLOSED);
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
}
END_TEST

/* ---- load: 16 threads, 4 synchronizers calling each other ------------- */

enum { NSYNC = 4, NTHREADS = 16 };

typedef struct loader {
	syn_synchronizer *syncs;
	unsigned          seed;
	double            until_ms;
	long              calls, wrong, failed;
} loader;

/* Calls relay on a random synchronizer through a random chain of 0 to 3
 * others, blocking or as a future, until time is up. */
static void *
load(void *arg)
{
	loader *l = arg;
	while (th_now_ms() < l->until_ms) {
		int64_t   x    = rand_r(&l->seed) % 100000;
		size_t    hops = (size_t) (rand_r(&l->seed) % 4);
		syn_value args[4];
		args[0] = syn_int(x);
		for (size_t h = 0; h < hops; h++) {
			args[1 + h] =
			    syn_int(l->syncs[rand_r(&l->seed) % NSYNC].id);
		}
		syn_synchronizer s   = l->syncs[rand_r(&l->seed) % NSYNC];
		syn_result       res = SYN_RESULT_INIT;
		int              rc;
		if (rand_r(&l->seed) % 2) {
			rc = syn_call(s, "relay", args, 1 + hops, &res);
		} else {
			syn_future *f;
			rc = syn_call_future(s, "relay", args, 1 + hops, &f);
			if (rc == 0) {
				const syn_value *v;
				rc = syn_future_wait(f);
				if (rc == 0 && syn_future_value(f, &v) == 0) {
					res.value = *v;
				}
				syn_future_free(f);
			}
		}
		l->calls++;
		if (rc != 0) {
			l->failed++;
		} else if (res.value.as.i != x * x) {
			l->wrong++;
		}
		syn_result_fini(&res);
	}
	return NULL;
}

START_TEST(sixteen_threads_four_synchronizers)
{
	syn_synchronizer syncs[NSYNC];
	for (int i = 0; i < NSYNC; i++) {
		syncs[i] = compose_sync(NULL);
	}
	pthread_t th[NTHREADS];
	loader    ls[NTHREADS];
	double    until = th_now_ms() + 1500;
	for (int i = 0; i < NTHREADS; i++) {
		ls[i] = (loader) { syncs, (unsigned) i * 7919u + 1, until, 0, 0,
			0 };
		pthread_create(&th[i], NULL, load, &ls[i]);
	}
	long total = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(ls[i].failed, 0);
		ck_assert_int_eq(ls[i].wrong, 0);
		ck_assert_int_gt(ls[i].calls, 0);
		total += ls[i].calls;
	}
	ck_assert_int_gt(total, NTHREADS);
	for (int i = 0; i < NSYNC; i++) {
		ck_assert_syn_ok(syn_synchronizer_destroy(syncs[i]));
	}
}
END_TEST

/* block_call(id, f, x): calls f(x) on synchronizer id, blocking the
 * thread; its int result. */
static int
block_call(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t     id;
	const char *f;
	int64_t     x;
	syn_result  r  = SYN_RESULT_INIT;
	int         rc = syn_unpack(t, args, nargs, "isi", &id, &f, &x);
	if (rc == 0) {
		syn_synchronizer to = { (uint32_t) id };
		syn_value        a  = syn_int(x);
		rc                  = syn_call(to, f, &a, 1, &r);
	}
	if (rc == 0) {
		*ret = syn_int(r.value.as.i);
		syn_result_fini(&r);
	}
	return rc;
}

/* register_on(id): syn_register() of a function on synchronizer id; its
 * code. */
static int
register_on(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t      id;
	syn_func_def def = { "registered", SYN_KIND_FUNCTION, block_call,
		NULL };
	int          rc  = syn_unpack(t, args, nargs, "i", &id);
	if (rc == 0) {
		syn_synchronizer to = { (uint32_t) id };
		*ret                = syn_int(syn_register(to, &def));
	}
	return rc;
}

/*
 * A's task blocks its thread for a call to B, and B's task destroys A,
 * or registers a function on A: A's thread would never read the stop
 * (or the registration), and both threads hung for ever (found by
 * review). Both now return SYN_EDEADLK at once, and A goes on.
 */
START_TEST(destroy_and_register_rings)
{
	syn_synchronizer a = th_new(), b = th_new();
	th_register(a, "block_call", block_call, NULL);
	th_register(b, "register_on", register_on, NULL);
	const char *calls[] = { "destroy", "register_on" };
	for (int i = 0; i < 2; i++) {
		syn_value   args[3] = { syn_int(b.id), syn_str(calls[i]),
			  syn_int(a.id) };
		syn_future *f;
		ck_assert_syn_ok(syn_call_future(a, "block_call", args, 3, &f));
		ck_assert_syn_ok(syn_future_wait_timeout(f, 5000));
		const syn_value *v;
		ck_assert_syn_ok(syn_future_value(f, &v));
		ck_assert_msg(v->as.i == SYN_EDEADLK, "%s: %s", calls[i],
		    syn_errname((int) v->as.i));
		syn_future_free(f);
		ck_assert_int_eq(th_call_int(a, "square_now", 3), 9);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
}
END_TEST

/*
 * A's task registers a function on X, busy for a moment; X runs the
 * registration and goes on to its next message, a blocking call to A:
 * no ring, since A's wait is answered and its thread only has to wake.
 * (The search saw A's wait until A woke, and refused the call with
 * SYN_EDEADLK in most rounds: found by review.)
 */
START_TEST(answered_registration_is_no_ring)
{
	for (int round = 0; round < 20; round++) {
		syn_synchronizer x = th_new(), a = th_new();
		th_register(a, "register_on", register_on, NULL);
		th_register(x, "block_call", block_call, NULL);
		syn_value   busy = syn_int(40), xid = syn_int(x.id);
		syn_value   bc[3] = { syn_int(a.id), syn_str("square_now"),
			  syn_int(3) };
		syn_future *f1, *f2, *f3;
		ck_assert_syn_ok(syn_call_future(x, "block_ms", &busy, 1, &f1));
		usleep(5000);
		ck_assert_syn_ok(
		    syn_call_future(a, "register_on", &xid, 1, &f2));
		usleep(15000); /* A's thread waits for the registration */
		ck_assert_syn_ok(syn_call_future(x, "block_call", bc, 3, &f3));
		ck_assert_msg(syn_future_wait(f3) == 0, "round %d: %s", round,
		    syn_errname(syn_future_wait(f3)));
		syn_future *all[] = { f1, f2, f3 };
		for (int i = 0; i < 3; i++) {
			ck_assert_syn_ok(syn_future_wait(all[i]));
			syn_future_free(all[i]);
		}
		ck_assert_syn_ok(syn_synchronizer_destroy(a));
		ck_assert_syn_ok(syn_synchronizer_destroy(x));
	}
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("chains_and_cycles", chains_and_cycles),
		TH_CASE("own_synchronizer", own_synchronizer),
		TH_CASE("blocking_cycles_refused", blocking_cycles_refused),
		TH_CASE("answered_wait_is_no_ring", answered_wait_is_no_ring),
		TH_CASE("wait_any_rings", wait_any_rings),
		TH_CASE("destroy_ring", destroy_and_register_rings),
		TH_CASE(
		    "answered_registration", answered_registration_is_no_ring),
		TH_CASE("timed_wait_is_no_ring", timed_wait_is_no_ring),
		TH_CASE("blocking_reported", blocking_in_task_is_reported),
		TH_CASE("cancel_chain", cancel_down_a_chain),
		TH_CASE("cancel_race", cancel_racing_completion_wins),
		TH_CASE("await_deadline", await_with_deadline),
		TH_CASE("destroy_awaited", destroy_while_others_await),
		TH_CASE("load_16_threads", sixteen_threads_four_synchronizers),
	};
	return TH_SUITE("compose", cases);
}
