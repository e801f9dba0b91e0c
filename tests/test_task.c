/*
 * Tasks: the await points (sleep, futures, nng aios), cancellation at
 * each of them, and what a task may use (its memory, its stack).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>

#include "helpers.h"

/* syn_await_aio on nng's own timer: the task sleeps through nng. */
static int
nng_sleeper(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t  ms;
	nng_aio *aio;
	int      rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc != 0 || (rc = syn_aio_alloc(t, &aio)) != 0) {
		return rc;
	}
	nng_sleep_aio((nng_duration) ms, aio);
	rc = syn_await_aio(t, aio);
	if (rc == SYN_ECANCELED) {
		atomic_fetch_add(&th_cleanups, 1);
	}
	/* The aio is still usable after an await, cancelled or not. */
	int rc2 = rc;
	if (rc == 0) {
		nng_sleep_aio(1, aio);
		rc2 = syn_await_aio(t, aio);
	}
	syn_aio_free(t, aio);
	*ret = syn_int(rc2);
	return rc;
}

START_TEST(await_aio_resumes_on_completion)
{
	syn_synchronizer s = th_new();
	th_register(s, "nng_sleeper", nng_sleeper, NULL);
	double t0 = th_now_ms();
	ck_assert_int_eq(th_call_int(s, "nng_sleeper", D_MS), 0);
	double took = th_now_ms() - t0;
	ck_assert_msg(took >= D_MS - 1 && took < 2 * D_MS, "took %.1f", took);

	/* Ten of them overlap: the actor serves others while they wait. */
	syn_future *fs[10];
	t0 = th_now_ms();
	for (int i = 0; i < 10; i++) {
		syn_value arg = syn_int(D_MS);
		ck_assert_syn_ok(
		    syn_call_future(s, "nng_sleeper", &arg, 1, &fs[i]));
	}
	ck_assert_syn_ok(syn_future_wait_all(fs, 10, SYN_DURATION_INFINITE));
	ck_assert_msg(th_now_ms() - t0 < 2 * D_MS, "aio waits were serial");
	for (int i = 0; i < 10; i++) {
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		syn_future_free(fs[i]);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Cancelling a task that awaits an aio cancels the operation. */
START_TEST(cancel_during_await_aio)
{
	syn_synchronizer s = th_new();
	th_register(s, "nng_sleeper", nng_sleeper, NULL);
	syn_value   arg = syn_int(20 * D_MS);
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "nng_sleeper", &arg, 1, &f));
	usleep(D_MS * 1000 / 5);
	double t0 = th_now_ms();
	syn_future_cancel(f);
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	ck_assert_msg(th_now_ms() - t0 < D_MS, "cancel was slow");
	ck_assert_int_eq(atomic_load(&th_cleanups), 1);
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The receiving end for recv_then_sleep, and what its await gave. */
static nng_socket recv_sock;
static atomic_int recv_rc = -1;

/* recv_then_sleep(): starts a receive (a message waits already), sleeps
 * until cancelled, then awaits the receive and takes its message. */
static int
recv_then_sleep(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args;
	(void) nargs;
	(void) ret;
	nng_aio *aio;
	int      rc = syn_aio_alloc(t, &aio);
	if (rc != 0) {
		return rc;
	}
	nng_recv_aio(recv_sock, aio);
	rc      = syn_sleep(t, SYN_DURATION_INFINITE); /* (cancelled) */
	int got = syn_await_aio(t, aio);
	atomic_store(&recv_rc, got);
	if (got == 0) {
		nng_msg_free(nng_aio_get_msg(aio));
	}
	syn_aio_free(t, aio);
	return rc;
}

/* A task cancelled after its receive completed still gets the message
 * from syn_await_aio (0), to free: the await said SYN_ECANCELED and the
 * message leaked (found by review: LeakSanitizer reported it). */
START_TEST(cancel_keeps_a_completed_receive)
{
	nng_socket tx;
	ck_assert_int_eq(nng_pair1_open(&recv_sock), 0);
	ck_assert_int_eq(nng_pair1_open(&tx), 0);
	ck_assert_int_eq(
	    nng_listen(recv_sock, "inproc://keep-recv", NULL, 0), 0);
	ck_assert_int_eq(nng_dial(tx, "inproc://keep-recv", NULL, 0), 0);
	ck_assert_int_eq(nng_send(tx, "hello", 5, 0), 0);
	syn_synchronizer s = th_new();
	th_register(s, "recv_then_sleep", recv_then_sleep, NULL);
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "recv_then_sleep", NULL, 0, &f));
	usleep(100000); /* (the receive completed meanwhile) */
	syn_future_cancel(f);
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	ck_assert_int_eq(atomic_load(&recv_rc), 0);
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	nng_close(tx);
	nng_close(recv_sock);
}
END_TEST

static int
bad_aio_use(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	nng_aio *foreign;
	if (nng_aio_alloc(&foreign, NULL, NULL) != 0) {
		return SYN_ENOMEM;
	}
	int rc = syn_await_aio(t, foreign);
	nng_aio_free(foreign);
	*ret = syn_int(rc);
	return 0;
}

START_TEST(await_aio_checks_its_aio)
{
	syn_synchronizer s = th_new();
	th_register(s, "bad_aio_use", bad_aio_use, NULL);
	ck_assert_int_eq(th_call_int(s, "bad_aio_use", 0), SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A task awaiting a call on another synchronizer; cancelling the outer
 * call cancels the inner one, whose cleanup runs. */
START_TEST(cancel_propagates_to_awaited_call)
{
	syn_synchronizer a = th_new(), b = th_new();
	syn_value        args[3] = { syn_int(b.id), syn_str("sleep_ms"),
		       syn_int(20 * D_MS) };
	syn_future      *f;
	ck_assert_syn_ok(syn_call_future(a, "nested", args, 3, &f));
	usleep(D_MS * 1000 / 5);
	double t0 = th_now_ms();
	syn_future_cancel(f);
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	ck_assert_msg(th_now_ms() - t0 < D_MS, "cancel was slow");
	ck_assert_int_eq(atomic_load(&th_cleanups), 1); /* the inner one */
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

/* Synchronizers compose: a task awaits calls of another without blocking
 * its own actor. */
START_TEST(await_another_synchronizer)
{
	syn_synchronizer a = th_new(), b = th_new();
	syn_future      *fs[10];
	double           t0 = th_now_ms();
	for (int i = 0; i < 10; i++) {
		syn_value args[3] = { syn_int(b.id), syn_str("square"),
			syn_int(i) };
		ck_assert_syn_ok(syn_call_future(a, "nested", args, 3, &fs[i]));
	}
	for (int i = 0; i < 10; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->as.i, i * i);
		syn_future_free(fs[i]);
	}
	ck_assert_msg(th_now_ms() - t0 < 2 * D_MS, "nested calls were serial");
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

/* A task that blocks its thread delays only its own synchronizer. */
START_TEST(blocked_actor_does_not_delay_others)
{
	syn_synchronizer a = th_new(), b = th_new();
	syn_future      *slow;
	syn_value        arg = syn_int(4 * D_MS);
	ck_assert_syn_ok(syn_call_future(a, "block_ms", &arg, 1, &slow));
	usleep(D_MS * 1000 / 10);
	double t0 = th_now_ms();
	ck_assert_int_eq(th_call_int(b, "square_now", 7), 49);
	double took = th_now_ms() - t0;
	ck_assert_msg(took < 50, "the other synchronizer took %.1f ms", took);
	ck_assert_syn_rc(syn_future_poll(slow), SYN_EAGAIN);
	ck_assert_syn_ok(syn_future_wait(slow));
	syn_future_free(slow);
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

typedef struct order {
	int log[16];
	int n;
	int started;
} order;

static int
yielder(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	order  *o = syn_task_userdata(t);
	int64_t id;
	int     rc = syn_unpack(t, args, nargs, "i", &id);
	o->started++;
	while (rc == 0 && o->started < 2) {
		rc = syn_sleep(t, 0); /* wait until both run */
	}
	for (int i = 0; rc == 0 && i < 3; i++) {
		o->log[o->n++] = (int) id;
		rc             = syn_sleep(t, 0); /* yield */
	}
	return rc;
}

/* syn_sleep(t, 0) yields: two tasks interleave step by step. */
START_TEST(sleep_zero_yields)
{
	static order     o;
	syn_synchronizer s = th_new();
	th_register(s, "yielder", yielder, &o);
	syn_future *f1, *f2;
	syn_value   a1 = syn_int(1), a2 = syn_int(2);
	ck_assert_syn_ok(syn_call_future(s, "yielder", &a1, 1, &f1));
	ck_assert_syn_ok(syn_call_future(s, "yielder", &a2, 1, &f2));
	ck_assert_syn_ok(syn_future_wait(f1));
	ck_assert_syn_ok(syn_future_wait(f2));
	ck_assert_int_eq(o.n, 6);
	for (int i = 1; i < 6; i++) {
		ck_assert_int_ne(o.log[i], o.log[i - 1]);
	}
	syn_future_free(f1);
	syn_future_free(f2);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Set while a test's task has started. */
static atomic_int started;

/* stubborn(): sleeps 1 s again and again, ignoring its cancellation,
 * until another call (square_now) counts in th_calls (or 10 s pass). */
static int
stubborn(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs, (void) ret;
	double t0 = th_now_ms();
	atomic_store(&started, 1);
	while (atomic_load(&th_calls) == 0 && th_now_ms() - t0 < 10000) {
		(void) syn_sleep(t, 1000);
	}
	return 0;
}

/*
 * A task that ignores its cancellation and awaits again and again does
 * not keep its synchronizer from serving other calls (each await point
 * returned SYN_ECANCELED at once and nothing else ran; found by review).
 */
START_TEST(ignored_cancel_serves_others)
{
	syn_synchronizer s = th_new();
	th_register(s, "stubborn", stubborn, NULL);
	atomic_store(&th_calls, 0);
	atomic_store(&started, 0);
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "stubborn", NULL, 0, &f));
	double t0 = th_now_ms();
	while (!atomic_load(&started)) {
		ck_assert_msg(
		    th_now_ms() - t0 < 10000, "stubborn did not start");
		usleep(1000);
	}
	ck_assert_syn_ok(syn_future_cancel(f));
	syn_value two = syn_int(2);
	ck_assert_syn_ok(
	    syn_call_timeout(s, "square_now", &two, 1, 5000, NULL));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* await_timeouts(): once cancelled, awaits a call of the synchronizer in
 * its userdata 200 times with timeouts of 0 and 1 ms, ignoring that each
 * is refused. */
static int
await_timeouts(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs, (void) ret;
	const syn_synchronizer *other = syn_task_userdata(t);
	atomic_store(&started, 1);
	while (syn_sleep(t, 10000) != SYN_ECANCELED) { }
	syn_value   ms = syn_int(100);
	syn_future *f;
	int         rc = syn_call_future(*other, "sleep_ms", &ms, 1, &f);
	for (int i = 0; rc == 0 && i < 200; i++) {
		(void) syn_await_timeout(t, f, i % 2);
	}
	syn_future_free(f);
	return 0;
}

/*
 * Await points refused again and again with a timeout: the timer of a
 * refused syn_await_timeout resumed the task during its loop turn, while
 * its wake was still in the mailbox (the loop then read an ended task,
 * or spun on a wake queued twice: found by review).
 */
START_TEST(refused_await_timeouts)
{
	static syn_synchronizer other;
	other              = th_new();
	syn_synchronizer s = th_new();
	th_register(s, "await_timeouts", await_timeouts, &other);
	atomic_store(&started, 0);
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "await_timeouts", NULL, 0, &f));
	double t0 = th_now_ms();
	while (!atomic_load(&started)) {
		ck_assert_msg(th_now_ms() - t0 < 10000, "it did not start");
		usleep(1000);
	}
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait_timeout(f, 10000), SYN_ECANCELED);
	syn_future_free(f);
	syn_value two = syn_int(2);
	ck_assert_syn_ok(
	    syn_call_timeout(s, "square_now", &two, 1, 5000, NULL));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_syn_ok(syn_synchronizer_destroy(other));
}
END_TEST

static int
recurse(int n)
{
	volatile char pad[512];
	memset((char *) pad, n, sizeof(pad));
	if (n == 0) {
		return 0;
	}
	int below = recurse(n - 1); /* not a tail call: frames stay */
	return below + (pad[511] == (char) n ? 0 : 1);
}

static int
deep_stack(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	if (rc == 0) {
		*ret = syn_int(recurse((int) n));
		rc   = syn_sleep(t, 1); /* and suspend with a used stack */
	}
	return rc;
}

/* A task may use most of its stack (about 100 KiB of 256 KiB here). */
START_TEST(tasks_have_real_stacks)
{
	syn_synchronizer s = th_new();
	th_register(s, "deep_stack", deep_stack, NULL);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(th_call_int(s, "deep_stack", 180), 0);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static int
allocating(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_value *items = syn_task_alloc(t, 3 * sizeof(syn_value));
	char      *text  = syn_task_alloc(t, 100000);
	if (items == NULL || text == NULL) {
		return SYN_ENOMEM;
	}
	memset(text, 'a', 99999);
	text[99999] = '\0';
	int rc      = syn_sleep(t, 1); /* memory survives a suspension */
	items[0]    = syn_str(text);
	items[1]    = syn_task_printf(t, "%d-%s", 42, "x");
	items[2]    = syn_int(rc);
	*ret        = syn_list(items, 3);
	return rc;
}

/* printf_null(): returns syn_task_printf(t, NULL). */
static int
printf_null(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs;
	const char *no_format = NULL; /* (hidden from the format check) */
	*ret                  = syn_task_printf(t, no_format);
	return 0;
}

/* Results may point into syn_task_alloc() memory, which outlives the
 * function until the reply is encoded. */
START_TEST(task_memory_backs_results)
{
	syn_synchronizer s = th_new();
	th_register(s, "allocating", allocating, NULL);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "allocating", NULL, 0, &res));
	ck_assert_int_eq(res.value.type, SYN_TYPE_LIST);
	ck_assert_int_eq(res.value.len, 3);
	ck_assert_int_eq(res.value.as.list[0].len, 99999);
	ck_assert_str_eq(res.value.as.list[1].as.str, "42-x");
	syn_result_fini(&res);
	th_register(s, "printf_null", printf_null, NULL);
	ck_assert_syn_rc(syn_call(s, "printf_null", NULL, 0, NULL), SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Task functions refuse a task pointer that is not the running task. */
START_TEST(task_api_outside_a_task)
{
	nng_aio *aio;
	ck_assert_syn_rc(syn_sleep(NULL, 1), SYN_ESTATE);
	ck_assert_syn_rc(syn_await(NULL, NULL), SYN_ESTATE);
	ck_assert_syn_rc(syn_aio_alloc(NULL, &aio), SYN_ESTATE);
	ck_assert_syn_rc(syn_await_aio(NULL, NULL), SYN_ESTATE);
	ck_assert_syn_rc(syn_unpack(NULL, NULL, 0, ""), SYN_ESTATE);
	ck_assert(!syn_task_cancelled(NULL));
	ck_assert_ptr_null(syn_task_alloc(NULL, 1));
	ck_assert_ptr_null(syn_task_userdata(NULL));
	ck_assert_int_eq(syn_task_synchronizer(NULL).id, 0);
	ck_assert_int_eq(syn_raise(NULL, SYN_EINVAL, "x"), SYN_EINVAL);
}
END_TEST

static int
unpack_all(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	bool             b;
	int64_t          i;
	uint64_t         u;
	double           d;
	const char      *s;
	const void      *y;
	size_t           ylen;
	const syn_value *l, *m, *v = NULL;
	int rc = syn_unpack(t, args, nargs, "biudsylm|v", &b, &i, &u, &d, &s,
	    &y, &ylen, &l, &m, &v);
	if (rc == 0) {
		*ret = syn_task_printf(t, "%d %lld %llu %g %s %zu %u %u %s", b,
		    (long long) i, (unsigned long long) u, d, s, ylen, l->len,
		    m->len, v != NULL ? syn_type_name(v->type) : "none");
	}
	return rc;
}

/* unpack_null(letter): reads argument 0 with that letter into NULL. */
static int
unpack_null(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	char fmt[2] = { args[nargs - 1].as.str[0], '\0' };
	return fmt[0] == 'y' ? syn_unpack(t, args, 1, fmt, NULL, NULL)
	                     : syn_unpack(t, args, 1, fmt, NULL);
}

/* unpack_kept(letter): reads argument 0 (an int) with that letter (h, p,
 * o or P: the wrong type) into a pointer set beforehand; true when the
 * failure left it alone, as documented. */
static int
unpack_kept(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	char  fmt[2] = { args[nargs - 1].as.str[0], '\0' };
	void *out    = &out;
	int   rc     = syn_unpack(t, args, 1, fmt, &out);
	*ret         = syn_bool(rc == SYN_EBADTYPE && out == &out);
	return 0;
}

START_TEST(unpack_reads_and_checks)
{
	syn_synchronizer s = th_new();
	th_register(s, "unpack_all", unpack_all, NULL);
	syn_value  list[1] = { syn_int(1) };
	syn_pair   pair[1] = { { syn_str("a"), syn_nil() } };
	syn_value  args[]  = { syn_bool(true), syn_int(-2), syn_int(3),
		  syn_int(4), syn_str("five"), syn_bytes("xy", 2),
		  syn_list(list, 1), syn_map(pair, 1), syn_double(0.5) };
	syn_result res     = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "unpack_all", args, 9, &res));
	ck_assert_str_eq(res.value.as.str, "1 -2 3 4 five 2 1 1 double");
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_call(s, "unpack_all", args, 8, &res));
	ck_assert_str_eq(res.value.as.str, "1 -2 3 4 five 2 1 1 none");
	syn_result_fini(&res);
	ck_assert_syn_rc(syn_call(s, "unpack_all", args, 7, NULL), SYN_EINVAL);
	ck_assert_str_eq(syn_last_error()->message,
	    "unpack_all takes at least 8 arguments, got 7");
	args[2] = syn_int(-3);
	ck_assert_syn_rc(syn_call(s, "unpack_all", args, 9, NULL), SYN_ERANGE);
	ck_assert_str_eq(syn_last_error()->message,
	    "unpack_all: argument 2 does not fit unsigned int");
	/* every letter with a NULL pointer to read into: a clear error */
	th_register(s, "unpack_null", unpack_null, NULL);
	static const char letters[] = "biudsylmvhpoP";
	for (const char *c = letters; *c != '\0'; c++) {
		char      name[2] = { *c, '\0' };
		syn_value a[2]    = { syn_int(1), syn_str(name) };
		ck_assert_syn_rc(
		    syn_call(s, "unpack_null", a, 2, NULL), SYN_EINVAL);
		ck_assert_ptr_nonnull(
		    strstr(syn_last_error()->message, "is NULL"));
	}
	th_register(s, "unpack_kept", unpack_kept, NULL);
	for (const char *c = "hpoP"; *c != '\0'; c++) {
		char       name[2] = { *c, '\0' };
		syn_value  a[2]    = { syn_int(1), syn_str(name) };
		syn_result r       = SYN_RESULT_INIT;
		ck_assert_syn_ok(syn_call(s, "unpack_kept", a, 2, &r));
		ck_assert_msg(r.value.as.b, "%c overwrote its output", *c);
		syn_result_fini(&r);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Many tasks suspended at once, each on its own stack. */
START_TEST(ten_thousand_suspended_tasks)
{
	enum { N = 10000 };
	syn_synchronizer s  = th_new();
	syn_future     **fs = malloc(N * sizeof(*fs));
	double           t0 = th_now_ms();
	for (int i = 0; i < N; i++) {
		syn_value arg = syn_int(D_MS);
		ck_assert_syn_ok(
		    syn_call_future(s, "sleep_ms", &arg, 1, &fs[i]));
	}
	ck_assert_syn_ok(syn_future_wait_all(fs, N, SYN_DURATION_INFINITE));
	double took = th_now_ms() - t0;
	for (int i = 0; i < N; i++) {
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		syn_future_free(fs[i]);
	}
	free(fs);
	ck_assert_msg(took < 8 * D_MS, "took %.1f ms", took);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static syn_synchronizer other; /* for the two tests below */

static int
await_call_aio(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	nng_aio         *aio;
	const syn_value *x;
	const char      *name;
	int              rc = syn_unpack(t, args, nargs, "sv", &name, &x);
	if (rc != 0 || (rc = syn_aio_alloc(t, &aio)) != 0) {
		return rc;
	}
	syn_call_aio(other, name, x, 1, aio);
	rc = syn_await_aio(t, aio);
	syn_aio_result(aio, NULL);
	syn_aio_free(t, aio);
	return rc;
}

/* A task awaiting a call of its own synchronizer through an aio, then
 * cancelled: its actor must not wait on itself (it used to hang). */
START_TEST(cancel_await_of_own_call_aio)
{
	syn_synchronizer s = th_new();
	other              = s;
	th_register(s, "await_call_aio", await_call_aio, NULL);
	syn_value args[2] = { syn_str("sleep_ms"), syn_int(20 * D_MS) };
	double    t0      = th_now_ms();
	ck_assert_syn_rc(
	    syn_call_timeout(s, "await_call_aio", args, 2, D_MS / 5, NULL),
	    SYN_ETIMEDOUT);
	ck_assert_msg(th_now_ms() - t0 < 4 * D_MS, "cancellation was slow");
	for (int i = 0; i < 1000 && atomic_load(&th_cleanups) == 0; i++) {
		usleep(1000); /* the inner call's cleanup runs on its own */
	}
	ck_assert_int_eq(atomic_load(&th_cleanups), 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A's task awaits, through an aio, a call on B that destroys A: A's
 * destruction must not wait for B, which waits for A (it used to hang). */
START_TEST(destroy_from_an_awaited_aio_call)
{
	syn_synchronizer a = th_new(), b = th_new();
	other = b;
	th_register(a, "await_call_aio", await_call_aio, NULL);
	syn_value   args[2] = { syn_str("destroy"), syn_int(a.id) };
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(a, "await_call_aio", args, 2, &f));
	int rc = syn_future_wait(f);
	ck_assert_msg(rc == SYN_ECLOSED || rc == SYN_ECANCELED, "got %s",
	    syn_errname(rc));
	syn_future_free(f);
	syn_value none = syn_int(1);
	ck_assert_syn_rc(
	    syn_call(a, "square_now", &none, 1, NULL), SYN_ECLOSED);
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

/* waiter(): sleeps 1 ms at a time until its flag is set (2 s at most);
 * setter(): sets it. */
static int
waiter(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs;
	atomic_int *flag = syn_task_userdata(t);
	int         rc   = 0;
	for (int i = 0; rc == 0 && i < 2000 && !atomic_load(flag); i++) {
		rc = syn_sleep(t, 1);
	}
	*ret = syn_bool(atomic_load(flag) != 0);
	return rc;
}

static int
setter(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs, (void) ret;
	atomic_store((atomic_int *) syn_task_userdata(t), 1);
	return 0;
}

/* Calls taken from the mailbox together: the first suspends (it started
 * on the loop's own stack, which it then keeps), the next must still run
 * at once, and every call after it too; with small stacks (the loop on
 * the thread's own stack) the same. */
static void
loop_goes_on_with(const syn_config *cfg)
{
	static atomic_int flag;
	atomic_store(&flag, 0);
	syn_synchronizer s = th_new_cfg(cfg);
	th_register(s, "waiter", waiter, &flag);
	th_register(s, "setter", setter, &flag);
	syn_future *block, *w, *set, *sq[64];
	syn_value   ms = syn_int(50);
	ck_assert_syn_ok(syn_call_future(s, "block_ms", &ms, 1, &block));
	usleep(5000); /* the loop is in block_ms: the rest arrive together */
	/* (an argument too big to travel inside the future: the call's
	 * message goes, the other way of a call of this process) */
	char big[200];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	syn_value bigv       = syn_str(big);
	ck_assert_syn_ok(syn_call_future(s, "waiter", &bigv, 1, &w));
	for (int i = 0; i < 32; i++) {
		syn_value x = syn_int(i);
		ck_assert_syn_ok(
		    syn_call_future(s, "square_now", &x, 1, &sq[i]));
	}
	ck_assert_syn_ok(syn_call_future(s, "setter", NULL, 0, &set));
	for (int i = 32; i < 64; i++) {
		syn_value x = syn_int(i);
		ck_assert_syn_ok(syn_call_future(
		    s, i % 2 ? "square_now" : "sleep_ms", &x, 1, &sq[i]));
	}
	const syn_value *v;
	ck_assert_syn_ok(syn_future_wait(block));
	ck_assert_syn_ok(syn_future_wait_timeout(w, 1000));
	ck_assert_syn_ok(syn_future_value(w, &v));
	ck_assert_int_eq(v->type, SYN_TYPE_BOOL);
	ck_assert(v->as.b);
	ck_assert_syn_ok(syn_future_wait(set));
	for (int i = 0; i < 64; i++) {
		ck_assert_syn_ok(syn_future_wait_timeout(sq[i], 1000));
		ck_assert_syn_ok(syn_future_value(sq[i], &v));
		if (i < 32 || i % 2) {
			ck_assert_int_eq(v->as.i, i * i);
		}
		syn_future_free(sq[i]);
	}
	syn_future_free(block);
	syn_future_free(w);
	syn_future_free(set);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}

START_TEST(loop_goes_on)
{
	loop_goes_on_with(NULL);
	syn_config small = { .stack_size = 16 * 1024 };
	loop_goes_on_with(&small);
}
END_TEST

/* ---- values nested deeper than a small stack holds ------------------ */

enum { DEEP = 64 };

/* deep(): a list nested DEEP levels, an int at the bottom. */
static int
deep_value(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs;
	syn_value *levels = syn_task_alloc(t, DEEP * sizeof(syn_value));
	if (levels == NULL) {
		return SYN_ENOMEM;
	}
	levels[0] = syn_int(7);
	for (int i = 1; i < DEEP; i++) {
		levels[i] = syn_list(&levels[i - 1], 1);
	}
	*ret = levels[DEEP - 1];
	return 0;
}

/* How deep v is nested: 1 for a scalar. */
static int
depth_of(const syn_value *v)
{
	return v->type == SYN_TYPE_LIST && v->len == 1
	    ? 1 + depth_of(&v->as.list[0])
	    : 1;
}

/*
 * fetch_deep(id, pad): with pad bytes of its stack used, awaits deep() on
 * synchronizer id and checks the value, then sends it back to id's echo
 * (the encoder's turn); returns 0, or the error of either, whose message
 * must name the stack when it is SYN_ENOMEM.
 */
static int
fetch_deep(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t id, pad;
	int     rc = syn_unpack(t, args, nargs, "ii", &id, &pad);
	if (rc != 0) {
		return rc;
	}
	volatile char *used = __builtin_alloca((size_t) pad + 1);
	memset((char *) used, 1, (size_t) pad + 1);
	syn_synchronizer to = { (uint32_t) id };
	syn_future      *f  = NULL;
	const syn_value *v;
	if ((rc = syn_call_future(to, "deep", NULL, 0, &f)) == 0 &&
	    (rc = syn_await(t, f)) == 0 && syn_future_value(f, &v) == 0) {
		rc            = depth_of(v) == DEEP ? 0 : SYN_EUSER(1);
		syn_future *g = NULL;
		if (rc == 0 &&
		    (rc = syn_call_future(to, "echo", v, 1, &g)) == 0) {
			rc = syn_await(t, g);
		}
		syn_future_free(g);
	}
	if (rc == SYN_ENOMEM &&
	    strstr(syn_last_error()->message, "stack_size") == NULL) {
		rc = SYN_EUSER(2); /* (an ENOMEM that does not say why) */
	}
	syn_future_free(f);
	return rc + used[pad] - 1;
}

/*
 * A value nested 64 levels deep, read and written by a task with a
 * 16 KiB stack of which it uses some: a clear SYN_ENOMEM that names
 * config.stack_size when the stack has no room for it (the decoder ran
 * off the stack before), or the value; with the default stack, the value.
 */
START_TEST(deep_values_on_small_stacks)
{
	syn_config small = { .stack_size = 16 * 1024, .max_depth = DEEP };
	syn_config big   = { .max_depth = DEEP };
	for (int k = 0; k < 2; k++) {
		syn_synchronizer s = th_new_cfg(k == 0 ? &small : &big);
		syn_synchronizer o = th_new_cfg(k == 0 ? &small : &big);
		th_register(o, "deep", deep_value, NULL);
		th_register(s, "fetch_deep", fetch_deep, NULL);
		for (int64_t pad = 0; pad <= 6000; pad += 2000) {
			syn_value args[2] = { syn_int(o.id), syn_int(pad) };
			int       rc = syn_call(s, "fetch_deep", args, 2, NULL);
			ck_assert_msg(rc == 0 || (k == 0 && rc == SYN_ENOMEM),
			    "stack %s, pad %d: %s %s",
			    k == 0 ? "16 KiB" : "256 KiB", (int) pad,
			    syn_errname(rc), syn_last_error()->message);
		}
		ck_assert_syn_ok(syn_synchronizer_destroy(s));
		ck_assert_syn_ok(syn_synchronizer_destroy(o));
	}
}
END_TEST

/* A function whose frame is twice a 16 KiB stack: its lowest byte lies
 * 17 KiB below the end of the stack, beyond a one-page guard. */
__attribute__((noinline, no_sanitize_address)) static int
big_frame(void)
{
	volatile char buf[32 * 1024];
	buf[0] = 1;
	return buf[0];
}

static int
clasher(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs, (void) ret;
	int rc = syn_sleep(t, 50); /* the victim's stack is mapped by now */
	return rc != 0 ? rc : big_frame() == 1 ? 0 : SYN_EUSER(1);
}

/* In a child: a task whose frame runs past its 16 KiB stack while the
 * next stack down holds a suspended task. */
static void
clash_in_child(void)
{
	syn_synchronizer s;
	syn_config       cfg = { .no_door = true, .stack_size = 16 * 1024 };
	if (syn_synchronizer_new(&s, &cfg) != 0) {
		_exit(90);
	}
	th_register_std(s);
	th_register(s, "clasher", clasher, NULL);
	syn_future *c, *v;
	syn_value   ms = syn_int(300);
	if (syn_call_future(s, "clasher", NULL, 0, &c) != 0 ||
	    syn_call_future(s, "sleep_ms", &ms, 1, &v) != 0) {
		_exit(91);
	}
	syn_future_wait(c);
	syn_future_wait(v);
	_exit(0); /* it wrote into the other task's stack unnoticed */
}

/* A frame larger than a page that runs past the end of its stack faults
 * on the guard; it used to write into the stack mapped below (a suspended
 * task's record) and go on. */
START_TEST(guard_stops_big_frames)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		clash_in_child();
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	/* (a fault ends it by the signal, or by a sanitizer's exit code;
	 * 0 means it went on, 90 and 91 that it could not start) */
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	ck_assert_msg(code != 0 && code != 90 && code != 91, "the child %s %d",
	    WIFEXITED(status) ? "exited with" : "died of",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}
END_TEST

/* Memory mapped where a destroyed synchronizer's stacks were is the
 * program's own: AddressSanitizer's marks of frames never left (the ends
 * of tasks, the loop's) went with the stacks. Fails only under it. */
START_TEST(unmapped_stacks_leave_no_marks)
{
	syn_config       cfg = { .no_door = true };
	syn_synchronizer s   = th_new_cfg(&cfg);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(th_call_int(s, "square_now", 3), 9);
		ck_assert_int_eq(th_call_int(s, "sleep_ms", 1), 1);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s)); /* unmaps them */
	/* (mappings of a stack's size, 256 + 64 KiB, fill its hole) */
	size_t len = (256 + 64) * 1024;
	char  *m[8];
	for (int i = 0; i < 8; i++) {
		m[i] = mmap(NULL, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert(m[i] != MAP_FAILED);
		memset(m[i], 0, len);
	}
	for (int i = 0; i < 8; i++) {
		munmap(m[i], len);
	}
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("await_aio", await_aio_resumes_on_completion),
		TH_CASE("await_aio_cancel", cancel_during_await_aio),
		TH_CASE("await_aio_checks", await_aio_checks_its_aio),
		TH_CASE(
		    "cancel_keeps_receive", cancel_keeps_a_completed_receive),
		TH_CASE("cancel_propagates", cancel_propagates_to_awaited_call),
		TH_CASE("await_other", await_another_synchronizer),
		TH_CASE("isolation", blocked_actor_does_not_delay_others),
		TH_CASE("yield", sleep_zero_yields),
		TH_CASE("ignored_cancel", ignored_cancel_serves_others),
		TH_CASE("refused_await_timeouts", refused_await_timeouts),
		TH_CASE("deep_stack", tasks_have_real_stacks),
		TH_CASE("task_memory", task_memory_backs_results),
		TH_CASE("outside_task", task_api_outside_a_task),
		TH_CASE("unpack", unpack_reads_and_checks),
		TH_CASE("many_suspended", ten_thousand_suspended_tasks),
		TH_CASE("cancel_own_call_aio", cancel_await_of_own_call_aio),
		TH_CASE(
		    "destroy_via_aio_call", destroy_from_an_awaited_aio_call),
		TH_CASE("loop_goes_on", loop_goes_on),
		TH_CASE("guard", guard_stops_big_frames),
		TH_CASE("deep_small_stack", deep_values_on_small_stacks),
		TH_CASE("unmapped_stacks", unmapped_stacks_leave_no_marks),
	};
	return TH_SUITE("task", cases);
}
