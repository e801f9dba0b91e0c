/*
 * Wrapped functions, called blocking, as futures and through nng_aio: the
 * behaviour of the reference library's README and tests, in C.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* f sleeps D and returns x squared: blocking f(42) takes D, not 2D. */
START_TEST(blocking_call_returns_after_the_sleep)
{
	syn_synchronizer s  = th_new();
	double           t0 = th_now_ms();
	ck_assert_int_eq(th_call_int(s, "square", 42), 1764);
	double took = th_now_ms() - t0;
	ck_assert_msg(took >= D_MS - 1, "took %.1f ms", took);
	ck_assert_msg(took < 2 * D_MS, "took %.1f ms", took);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* 100 futures of f resolve together, in under 2D. */
START_TEST(hundred_futures_resolve_together)
{
	syn_synchronizer s = th_new();
	syn_future      *fs[100];
	double           t0 = th_now_ms();
	for (int i = 0; i < 100; i++) {
		syn_value arg = syn_int(i);
		ck_assert_syn_ok(syn_call_future(s, "square", &arg, 1, &fs[i]));
	}
	ck_assert_syn_ok(syn_future_wait_all(fs, 100, SYN_DURATION_INFINITE));
	double took = th_now_ms() - t0;
	for (int i = 0; i < 100; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->as.i, (int64_t) i * i);
		syn_future_free(fs[i]);
	}
	ck_assert_msg(
	    took >= D_MS - 1 && took < 2 * D_MS, "took %.1f ms", took);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static atomic_int aio_done;

static void
aio_cb(void *arg)
{
	(void) arg;
	atomic_fetch_add(&aio_done, 1);
}

/* The aio form completes the caller's aio with the result. */
START_TEST(aio_call_completes_the_callers_aio)
{
	syn_synchronizer s = th_new();
	nng_aio         *aio;
	syn_value        arg = syn_int(42);
	syn_result       res = SYN_RESULT_INIT;
	ck_assert_int_eq(nng_aio_alloc(&aio, aio_cb, NULL), 0);
	double t0 = th_now_ms();
	syn_call_aio(s, "square", &arg, 1, aio);
	ck_assert_msg(th_now_ms() - t0 < D_MS / 2, "the aio form blocked");
	nng_aio_wait(aio);
	ck_assert_int_eq(atomic_load(&aio_done), 1);
	ck_assert_syn_ok(nng_aio_result(aio));
	ck_assert_syn_ok(syn_aio_result(aio, &res));
	ck_assert_int_eq(res.value.as.i, 1764);
	syn_result_fini(&res);
	nng_aio_free(aio);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Echoes a string of n bytes by each form; checks what comes back. */
static void
echo_every_form(syn_synchronizer s, size_t n)
{
	char text[400];
	memset(text, 'a' + (int) (n % 26), n);
	text[n]         = '\0';
	syn_value   arg = syn_str(text);
	syn_result  res = SYN_RESULT_INIT;
	syn_future *f;
	nng_aio    *aio;
	ck_assert_syn_ok(syn_call(s, "echo", &arg, 1, &res));
	ck_assert_str_eq(res.value.as.str, text);
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_call_future(s, "echo", &arg, 1, &f));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_wait(f));
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_uint_eq(v->len, n);
	ck_assert_int_eq(memcmp(v->as.str, text, n), 0);
	syn_future_free(f);
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	syn_call_aio(s, "echo", &arg, 1, aio);
	nng_aio_wait(aio);
	ck_assert_syn_ok(syn_aio_result(aio, &res));
	ck_assert_str_eq(res.value.as.str, text);
	syn_result_fini(&res);
	nng_aio_free(aio);
}

/*
 * Small calls and replies travel inside the future, bigger ones in an
 * nng_msg: every size on either side of the boundary crosses intact, by
 * every form, going up and then down (a thread's recycled futures carry
 * what the last call left).
 */
START_TEST(every_size_crosses)
{
	syn_synchronizer s = th_new();
	for (size_t n = 0; n <= 120; n++) {
		echo_every_form(s, n);
	}
	echo_every_form(s, 399);
	for (size_t n = 120; n-- > 0;) {
		echo_every_form(s, n);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct caller_arg {
	syn_synchronizer  s;
	int               n;
	syn_future       *fs[160];
	pthread_barrier_t started, freed;
} caller_arg;

/* Starts n calls, then stays until they are freed elsewhere. */
static void *
start_and_leave(void *arg)
{
	caller_arg *c = arg;
	for (int i = 0; i < c->n; i++) {
		syn_value x = syn_int(i);
		ck_assert_syn_ok(
		    syn_call_future(c->s, "square_now", &x, 1, &c->fs[i]));
	}
	pthread_barrier_wait(&c->started);
	pthread_barrier_wait(&c->freed);
	return NULL;
}

/*
 * Futures are freed by another thread than the one that made them, and
 * that thread ends afterwards. (A thread cuts its futures from blocks of
 * sixteen and keeps up to 128 freed ones: the counts straddle a block's
 * end, and the last, 160, has whole blocks freed before their thread
 * ends; ASan checks the frees.)
 */
START_TEST(futures_outlive_their_thread)
{
	syn_synchronizer s        = th_new();
	const int        counts[] = { 1, 15, 16, 17, 40, 160 };
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		caller_arg *c = calloc(1, sizeof(*c));
		c->s          = s;
		c->n          = counts[k];
		pthread_barrier_init(&c->started, NULL, 2);
		pthread_barrier_init(&c->freed, NULL, 2);
		pthread_t th;
		pthread_create(&th, NULL, start_and_leave, c);
		pthread_barrier_wait(&c->started);
		for (int i = 0; i < c->n; i++) {
			const syn_value *v;
			ck_assert_syn_ok(syn_future_wait(c->fs[i]));
			ck_assert_syn_ok(syn_future_value(c->fs[i], &v));
			ck_assert_int_eq(v->as.i, (int64_t) i * i);
			syn_future_free(c->fs[i]);
		}
		pthread_barrier_wait(&c->freed);
		pthread_join(th, NULL);
		pthread_barrier_destroy(&c->started);
		pthread_barrier_destroy(&c->freed);
		free(c);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The aio's timeout cancels the call, whose cleanup runs first. */
START_TEST(aio_timeout_cancels_the_call)
{
	syn_synchronizer s = th_new();
	nng_aio         *aio;
	syn_value        arg = syn_int(10 * D_MS);
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	nng_aio_set_timeout(aio, D_MS / 5);
	double t0 = th_now_ms();
	syn_call_aio(s, "sleep_ms", &arg, 1, aio);
	nng_aio_wait(aio);
	ck_assert_msg(th_now_ms() - t0 < 2 * D_MS, "timeout not honoured");
	ck_assert_syn_rc(nng_aio_result(aio), SYN_ETIMEDOUT);
	ck_assert_syn_rc(syn_aio_result(aio, NULL), SYN_ETIMEDOUT);
	for (int i = 0; i < 1000 && atomic_load(&th_cleanups) == 0; i++) {
		usleep(1000); /* the call's cleanup runs on its synchronizer */
	}
	ck_assert_int_eq(atomic_load(&th_cleanups), 1);
	nng_aio_free(aio);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * The caller cancels its aio just as the call ends, thousands of times:
 * each aio ends once, with the result or SYN_ECANCELED, and the future
 * behind it is freed once (a cancellation that freed it under the
 * callback's feet corrupted the heap).
 */
START_TEST(aio_cancel_races_the_end)
{
	syn_synchronizer s    = th_new();
	unsigned         seed = 1;
	for (int i = 0; i < 40000; i++) {
		nng_aio *aio;
		ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
		syn_value a = syn_int(i);
		syn_call_aio(s, "square_now", &a, 1, aio);
		for (volatile unsigned k = rand_r(&seed) % 4000; k > 0; k--) { }
		nng_aio_cancel(aio);
		nng_aio_wait(aio);
		syn_result res = SYN_RESULT_INIT;
		int        rc  = syn_aio_result(aio, &res);
		ck_assert_msg(
		    rc == 0 || rc == SYN_ECANCELED, "got %s", syn_errname(rc));
		if (rc == 0) {
			ck_assert_int_eq(res.value.as.i, (int64_t) i * i);
			syn_result_fini(&res);
		}
		nng_aio_free(aio);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* An aio whose callback starts the next call as soon as one ends. */
typedef struct call_loop {
	nng_aio         *aio;
	syn_synchronizer s;
	atomic_int       ended; /* callbacks run */
} call_loop;

static void
call_loop_cb(void *arg)
{
	call_loop *l   = arg;
	syn_result res = SYN_RESULT_INIT;
	int        rc  = syn_aio_result(l->aio, &res);
	syn_result_fini(&res);
	atomic_fetch_add(&l->ended, 1);
	if (rc == 0) {
		syn_value a = syn_int(2);
		syn_call_aio(l->s, "square_now", &a, 1, l->aio);
	}
}

/*
 * The thread that tears a loop down stops its aio while the callback
 * starts the next call, thousands of times: once syn_aio_stop() returned,
 * no callback runs, and the aio can be freed. (With nng_aio_stop(), a
 * stop between nng_aio_begin and nng_aio_defer went unseen, and the call
 * completed the freed aio.)
 */
START_TEST(aio_stop_races_the_next_call)
{
	syn_synchronizer s    = th_new();
	unsigned         seed = 1;
	for (int i = 0; i < 3000; i++) {
		call_loop l = { .s = s };
		ck_assert_int_eq(nng_aio_alloc(&l.aio, call_loop_cb, &l), 0);
		syn_value a = syn_int(2);
		syn_call_aio(s, "square_now", &a, 1, l.aio);
		for (volatile unsigned k = rand_r(&seed) % 20000; k > 0; k--) {
		}
		syn_aio_stop(l.aio);
		int ended = atomic_load(&l.ended);
		usleep(i % 64 == 0 ? 2000 : 20);
		ck_assert_msg(atomic_load(&l.ended) == ended,
		    "round %d: a callback ran after the stop", i);
		nng_aio_free(l.aio);
	}
	syn_aio_stop(NULL);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static int
blocking_inside(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_value  arg = syn_int(3);
	syn_result res = SYN_RESULT_INIT;
	int        rc =
	    syn_call(syn_task_synchronizer(t), "square_now", &arg, 1, &res);
	*ret = syn_int(rc);
	return 0;
}

static int
future_inside(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_value   arg = syn_int(3);
	syn_future *f;
	int         rc =
	    syn_call_future(syn_task_synchronizer(t), "square", &arg, 1, &f);
	if (rc != 0) {
		return rc;
	}
	if ((rc = syn_future_wait(f)) != SYN_EDEADLK) {
		syn_future_free(f);
		return syn_raise(t, SYN_EUSER(1), "wait gave %d", rc);
	}
	size_t index; /* a poll never waits: no SYN_EDEADLK for it */
	int    polls[3] = { syn_future_wait_timeout(f, SYN_DURATION_ZERO),
		   syn_future_wait_all(&f, 1, SYN_DURATION_ZERO),
		   syn_future_wait_any(&f, 1, SYN_DURATION_ZERO, &index) };
	for (int i = 0; i < 3; i++) {
		if (polls[i] != SYN_ETIMEDOUT) {
			syn_future_free(f);
			return syn_raise(t, SYN_EUSER(2), "poll %d gave %s", i,
			    syn_errname(polls[i]));
		}
	}
	if ((rc = syn_await(t, f)) == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = syn_int(v->as.i);
	}
	syn_future_free(f);
	return rc;
}

/* A blocking call from inside a task of the same synchronizer is a clear
 * SYN_EDEADLK at once; awaiting the call's future there works. */
START_TEST(blocking_call_inside_task_is_deadlock_error)
{
	syn_synchronizer s = th_new();
	th_register(s, "blocking_inside", blocking_inside, NULL);
	th_register(s, "future_inside", future_inside, NULL);
	double t0 = th_now_ms();
	ck_assert_int_eq(th_call_int(s, "blocking_inside", 0), SYN_EDEADLK);
	ck_assert_msg(th_now_ms() - t0 < D_MS, "EDEADLK was not immediate");
	ck_assert_int_eq(th_call_int(s, "future_inside", 0), 9);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static void
check_boom(int rc, const syn_error *e)
{
	ck_assert_syn_rc(rc, SYN_EUSER(7));
	ck_assert_int_eq(e->code, SYN_EUSER(7));
	ck_assert_str_eq(e->message, "boom 7");
	ck_assert_str_eq(e->where, "fail");
}

/* An error raised inside reaches the blocking caller, the future and the
 * aio, with its code and message. */
START_TEST(errors_reach_every_caller)
{
	syn_synchronizer s   = th_new();
	syn_value        arg = syn_int(7);
	syn_result       res = SYN_RESULT_INIT;
	int              rc  = syn_call(s, "fail", &arg, 1, &res);
	check_boom(rc, syn_last_error());
	ck_assert_int_eq(res.value.type, SYN_TYPE_NIL);

	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "fail", &arg, 1, &f));
	rc = syn_future_wait(f);
	check_boom(rc, syn_future_error(f));
	const syn_value *v;
	ck_assert_syn_rc(syn_future_value(f, &v), SYN_EUSER(7));
	syn_future_free(f);

	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	syn_call_aio(s, "fail", &arg, 1, aio);
	nng_aio_wait(aio);
	ck_assert_int_eq(nng_aio_result(aio), SYN_EUSER(7));
	rc = syn_aio_result(aio, &res);
	check_boom(rc, syn_last_error());
	nng_aio_free(aio);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* An error crossing a second call keeps its message and grows its path. */
START_TEST(error_path_names_the_calls_crossed)
{
	syn_synchronizer a = th_new(), b = th_new();
	syn_value args[3] = { syn_int(b.id), syn_str("fail"), syn_int(3) };
	ck_assert_syn_rc(syn_call(a, "nested", args, 3, NULL), SYN_EUSER(3));
	ck_assert_str_eq(syn_last_error()->message, "boom 3");
	ck_assert_str_eq(syn_last_error()->where, "fail <- nested");
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
}
END_TEST

/* Bad inputs give clear errors, and the synchronizer goes on. */
START_TEST(bad_inputs_give_clear_errors)
{
	syn_synchronizer s   = th_new();
	syn_value        str = syn_str("x");
	ck_assert_syn_rc(syn_call(s, "square", &str, 1, NULL), SYN_EBADTYPE);
	ck_assert_str_eq(syn_last_error()->message,
	    "square: argument 0 is str, expected int");
	ck_assert_syn_rc(syn_call(s, "square", NULL, 0, NULL), SYN_EINVAL);
	ck_assert_str_eq(
	    syn_last_error()->message, "square takes 1 argument, got 0");
	ck_assert_syn_rc(syn_call(s, "nope", NULL, 0, NULL), SYN_ENOENT);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "nope"));
	ck_assert_syn_rc(syn_call(s, NULL, NULL, 0, NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_call(s, "", NULL, 0, NULL), SYN_EINVAL);
	syn_value bad = syn_strn("\xff\xfe", 2);
	ck_assert_syn_rc(syn_call(s, "echo", &bad, 1, NULL), SYN_EINVAL);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "UTF-8"));
	syn_value null_str = syn_str(NULL);
	ck_assert_syn_rc(syn_call(s, "echo", &null_str, 1, NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_call(s, "square", NULL, 1, NULL), SYN_EINVAL);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "NULL"));
	syn_value no_items = syn_list(NULL, 2); /* refused, not a crash */
	ck_assert_syn_rc(syn_call(s, "echo", &no_items, 1, NULL), SYN_EINVAL);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "no items"));
	syn_value loop[1], cycle = syn_list(loop, 1);
	loop[0] = cycle;
	ck_assert_syn_rc(syn_call(s, "echo", &cycle, 1, NULL), SYN_EINVAL);
	syn_iter *it;
	ck_assert_syn_rc(
	    syn_iter_open(s, "square", NULL, 2, NULL, &it), SYN_EINVAL);
	syn_synchronizer none = { 0 };
	ck_assert_syn_rc(syn_call(none, "echo", NULL, 0, NULL), SYN_ECLOSED);
	ck_assert_int_eq(th_call_int(s, "square_now", 5), 25);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static int
returns_bad_code(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	return -1;
}

static int
returns_bad_utf8(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	*ret = syn_strn("\xc0\x80", 2);
	return 0;
}

static int
returns_formatted(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	*ret = syn_task_printf(t, "hello %s", "world");
	return 0;
}

/* What an implementation returns is checked as well. */
START_TEST(implementation_results_are_checked)
{
	syn_synchronizer s = th_new();
	th_register(s, "bad_code", returns_bad_code, NULL);
	th_register(s, "bad_utf8", returns_bad_utf8, NULL);
	th_register(s, "formatted", returns_formatted, NULL);
	ck_assert_syn_rc(syn_call(s, "bad_code", NULL, 0, NULL), SYN_EBADCODE);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "-1"));
	ck_assert_syn_rc(syn_call(s, "bad_utf8", NULL, 0, NULL), SYN_EINVAL);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "result"));
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "formatted", NULL, 0, &res));
	ck_assert_str_eq(res.value.as.str, "hello world");
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * Values of every kind cross the boundary and come back equal; a handle
 * comes back as a proxy of the object it names (class.h).
 */
START_TEST(values_round_trip_through_a_call)
{
	syn_synchronizer s       = th_new();
	syn_handle       h       = { 7, 9 };
	syn_error        e       = { SYN_EUSER(2), "m", "w" };
	syn_value        list[]  = { syn_nil(), syn_bool(true), syn_int(-5),
		        syn_uint(UINT64_MAX), syn_double(2.5), syn_str("héllo"),
		        syn_bytes("\0\1\2", 3), syn_handle_value(&h),
		        syn_error_value(&e), syn_ptr(&h) };
	syn_pair         pairs[] = { { syn_str("k"), syn_list(list, 10) } };
	syn_value        arg     = syn_map(pairs, 1);
	syn_result       res     = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "echo", &arg, 1, &res));
	const syn_value *back = &res.value.as.map[0].value.as.list[7];
	ck_assert_int_eq(back->type, SYN_TYPE_PROXY);
	ck_assert_int_eq(syn_proxy_synchronizer(back->as.proxy).id, 7);
	list[7] = *back; /* the rest is as it was */
	ck_assert(syn_value_equal(&arg, &res.value));
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Registration: names are checked and unique. */
START_TEST(registration_is_checked)
{
	syn_synchronizer s   = th_new();
	syn_func_def     def = { "echo", SYN_KIND_FUNCTION, returns_bad_code,
		    NULL };
	ck_assert_syn_rc(syn_register(s, &def), SYN_EEXIST);
	def.name = "";
	ck_assert_syn_rc(syn_register(s, &def), SYN_EINVAL);
	def.name = "ok";
	def.kind = 99;
	ck_assert_syn_rc(syn_register(s, &def), SYN_EINVAL);
	def.kind = SYN_KIND_FUNCTION;
	def.fn   = NULL;
	ck_assert_syn_rc(syn_register(s, &def), SYN_EINVAL);
	ck_assert_syn_rc(syn_register(s, NULL), SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	def.fn = returns_bad_code;
	ck_assert_syn_rc(syn_register(s, &def), SYN_ECLOSED);
}
END_TEST

static int
get_userdata(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	*ret = syn_int(*(int *) syn_task_userdata(t));
	return 0;
}

START_TEST(userdata_reaches_the_implementation)
{
	static int       answer = 42;
	syn_synchronizer s      = th_new();
	th_register(s, "ud", get_userdata, &answer);
	ck_assert_int_eq(th_call_int(s, "ud", 0), 42);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A call with a timeout is cancelled, and its cleanup runs, before the
 * caller gets SYN_ETIMEDOUT. */
START_TEST(call_timeout_cancels_and_waits_for_cleanup)
{
	syn_synchronizer s   = th_new();
	syn_value        arg = syn_int(10 * D_MS);
	double           t0  = th_now_ms();
	ck_assert_syn_rc(
	    syn_call_timeout(s, "sleep_ms", &arg, 1, D_MS / 5, NULL),
	    SYN_ETIMEDOUT);
	ck_assert_msg(th_now_ms() - t0 < D_MS, "timeout not honoured");
	ck_assert_int_eq(atomic_load(&th_cleanups), 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static int
deep_result(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t depth;
	int     rc = syn_unpack(t, args, nargs, "i", &depth);
	if (rc != 0) {
		return rc;
	}
	syn_value *v = syn_task_alloc(t, (size_t) depth * sizeof(syn_value));
	v[depth - 1] = syn_int(1);
	for (int64_t i = depth - 2; i >= 0; i--) {
		v[i] = syn_list(&v[i + 1], 1);
	}
	*ret = v[0];
	return 0;
}

/* A synchronizer configured for deep values sends deep results, and its
 * callers read them (replies used to be read 32 levels deep at most). */
START_TEST(deep_results_reach_the_caller)
{
	syn_config       c = { .max_depth = 64 };
	syn_synchronizer s = th_new_cfg(&c);
	th_register(s, "deep", deep_result, NULL);
	syn_value  arg = syn_int(60);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "deep", &arg, 1, &res));
	const syn_value *v = &res.value;
	int              n = 1;
	for (; v->type == SYN_TYPE_LIST; v = &v->as.list[0]) {
		n++;
	}
	ck_assert_int_eq(n, 60);
	syn_result_fini(&res);
	arg = syn_int(65); /* deeper than the synchronizer sends */
	ck_assert_syn_rc(syn_call(s, "deep", &arg, 1, NULL), SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("blocking", blocking_call_returns_after_the_sleep),
		TH_CASE("futures_together", hundred_futures_resolve_together),
		TH_CASE("aio", aio_call_completes_the_callers_aio),
		TH_CASE("aio_timeout", aio_timeout_cancels_the_call),
		TH_CASE("aio_cancel_race", aio_cancel_races_the_end),
		TH_CASE("aio_stop_race", aio_stop_races_the_next_call),
		TH_CASE("every_size", every_size_crosses),
		TH_CASE("outlive_thread", futures_outlive_their_thread),
		TH_CASE(
		    "deadlock", blocking_call_inside_task_is_deadlock_error),
		TH_CASE("errors", errors_reach_every_caller),
		TH_CASE("error_path", error_path_names_the_calls_crossed),
		TH_CASE("bad_inputs", bad_inputs_give_clear_errors),
		TH_CASE("results_checked", implementation_results_are_checked),
		TH_CASE("values", values_round_trip_through_a_call),
		TH_CASE("registration", registration_is_checked),
		TH_CASE("userdata", userdata_reaches_the_implementation),
		TH_CASE("deep_results", deep_results_reach_the_caller),
		TH_CASE(
		    "call_timeout", call_timeout_cancels_and_waits_for_cleanup),
	};
	return TH_SUITE("function", cases);
}
