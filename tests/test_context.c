/*
 * The call context (synchronicity/context.h): what a caller sets reaches
 * the tasks of the calls it makes, copied at each call, as the reference
 * library's contextvars do.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* The string the current context holds under key, in t's memory; raises
 * SYN_ENOENT when there is none. */
static int
context_str(syn_task *t, const char *key, syn_value *ret)
{
	syn_result res = SYN_RESULT_INIT;
	int        rc  = syn_context_get(key, &res);
	if (rc != 0) {
		return syn_raise(t, rc, "no %s in the context", key);
	}
	if (res.value.type == SYN_TYPE_STR) {
		*ret = syn_task_printf(t, "%s", res.value.as.str);
	} else if (res.value.type == SYN_TYPE_INT) {
		*ret = syn_int(res.value.as.i);
	} else {
		rc = syn_raise(t, SYN_EUSER(1), "%s is a %s", key,
		    syn_type_name(res.value.type));
	}
	syn_result_fini(&res);
	return rc;
}

/* get(key): the context's str or int under key. */
static int
get(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const char *key;
	int         rc = syn_unpack(t, args, nargs, "s", &key);
	return rc != 0 ? rc : context_str(t, key, ret);
}

/* get_later(ms, key): sleeps ms, then as get(key). */
static int
get_later(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t     ms;
	const char *key;
	int         rc = syn_unpack(t, args, nargs, "is", &ms, &key);
	if (rc != 0 || (rc = syn_sleep(t, ms)) != 0) {
		return rc;
	}
	return context_str(t, key, ret);
}

/* set_get(key, value): sets key to value (a str) in the task's context
 * and returns what the context then holds under key. */
static int
set_get(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const char      *key;
	const syn_value *v;
	int              rc = syn_unpack(t, args, nargs, "sv", &key, &v);
	if (rc != 0 || (rc = syn_context_set(key, v)) != 0) {
		return rc;
	}
	return context_str(t, key, ret);
}

/* Awaits get(key) on s from task t: its str or int answer into *ret
 * (in t's memory), or its error, raised again. */
static int
await_get(syn_task *t, syn_synchronizer s, const char *key, syn_value *ret)
{
	syn_value   a = syn_str(key);
	syn_future *f;
	int         rc = syn_call_future(s, "get", &a, 1, &f);
	if (rc != 0) {
		return rc;
	}
	if ((rc = syn_await(t, f)) == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = v->type == SYN_TYPE_STR
		    ? syn_task_printf(t, "%s", v->as.str)
		    : syn_int(v->as.i);
	} else {
		rc = syn_raise(t, rc, "%s", syn_future_error(f)->message);
	}
	syn_future_free(f);
	return rc;
}

/* relay(id, key): sets "relay" to "on" in its own context, then calls
 * get(key) on synchronizer id and returns its answer. */
static int
relay(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t     id;
	const char *key;
	int         rc = syn_unpack(t, args, nargs, "is", &id, &key);
	if (rc != 0 ||
	    (rc = syn_context_set("relay", (syn_value[]) { syn_str("on") })) !=
	        0) {
		return rc;
	}
	return await_get(t, (syn_synchronizer) { (uint32_t) id }, key, ret);
}

/* items(key, n): yields the context's value under key n times. */
static int
items(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	const char *key;
	int64_t     n;
	int         rc = syn_unpack(t, args, nargs, "si", &key, &n);
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		syn_value item;
		if ((rc = context_str(t, key, &item)) == 0) {
			rc = syn_yield(t, &item, NULL);
		}
	}
	return rc == SYN_EEND ? 0 : rc;
}

/* The job of in_job: reads "request" on the pool thread, and sets
 * "job". */
typedef struct job_seen {
	int  get_rc;
	char request[32];
	int  set_rc;
} job_seen;

static int
job(void *arg)
{
	job_seen  *seen = arg;
	syn_result res  = SYN_RESULT_INIT;
	seen->get_rc    = syn_context_get("request", &res);
	if (seen->get_rc == 0 && res.value.type == SYN_TYPE_STR) {
		snprintf(seen->request, sizeof(seen->request), "%s",
		    res.value.as.str);
	}
	syn_result_fini(&res);
	seen->set_rc = syn_context_set("job", (syn_value[]) { syn_int(7) });
	return 0;
}

/* in_job(): runs job on the pool; returns "<request>/<job>" as the job
 * saw "request" and the task then sees "job". */
static int
in_job(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args;
	(void) nargs;
	job_seen *seen = syn_task_alloc(t, sizeof(*seen));
	if (seen == NULL) {
		return SYN_ENOMEM;
	}
	memset(seen, 0, sizeof(*seen));
	int rc = syn_run_blocking(t, job, seen);
	if (rc != 0 || seen->get_rc != 0 || seen->set_rc != 0) {
		return syn_raise(t, SYN_EUSER(2), "job: %d %d %d", rc,
		    seen->get_rc, seen->set_rc);
	}
	syn_value n;
	if ((rc = context_str(t, "job", &n)) != 0) {
		return rc;
	}
	*ret = syn_task_printf(t, "%s/%lld", seen->request, (long long) n.as.i);
	return 0;
}

static syn_synchronizer
context_sync(void)
{
	syn_synchronizer s = th_new();
	th_register(s, "get", get, NULL);
	th_register(s, "get_later", get_later, NULL);
	th_register(s, "set_get", set_get, NULL);
	th_register(s, "relay", relay, NULL);
	th_register(s, "in_job", in_job, NULL);
	syn_func_def d = { "items", SYN_KIND_GENERATOR, items, NULL };
	ck_assert_syn_ok(syn_register(s, &d));
	return s;
}

/* The string (or int, printed) that a blocking get(key) returns, into
 * buf; or the error code. */
static int
call_get(syn_synchronizer s, const char *key, char *buf, size_t size)
{
	syn_value  a   = syn_str(key);
	syn_result res = SYN_RESULT_INIT;
	int        rc  = syn_call(s, "get", &a, 1, &res);
	if (rc == 0) {
		syn_value_format(&res.value, buf, size);
	}
	syn_result_fini(&res);
	return rc;
}

static void
set_str(const char *key, const char *value)
{
	ck_assert_syn_ok(
	    syn_context_set(key, (syn_value[]) { syn_str(value) }));
}

/* A thread's context reaches the task of each call it makes: blocking,
 * as a future, and through an aio; a key it has not set is SYN_ENOENT
 * there. */
START_TEST(reaches_the_task)
{
	syn_synchronizer s = context_sync();
	char             buf[64];
	ck_assert_syn_rc(call_get(s, "request", buf, sizeof(buf)), SYN_ENOENT);
	set_str("request", "r-42");
	ck_assert_syn_ok(
	    syn_context_set("tenant", (syn_value[]) { syn_int(12) }));
	ck_assert_syn_ok(call_get(s, "request", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "\"r-42\"");
	ck_assert_syn_ok(call_get(s, "tenant", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "12");

	syn_value   a = syn_str("request");
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "get", &a, 1, &f));
	ck_assert_syn_ok(syn_future_wait(f));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_str_eq(v->as.str, "r-42");
	syn_future_free(f);

	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	syn_call_aio(s, "get", &a, 1, aio);
	nng_aio_wait(aio);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_aio_result(aio, &res));
	ck_assert_str_eq(res.value.as.str, "r-42");
	syn_result_fini(&res);
	nng_aio_free(aio);

	ck_assert_syn_ok(syn_context_unset("request"));
	ck_assert_syn_rc(call_get(s, "request", buf, sizeof(buf)), SYN_ENOENT);
	ck_assert_str_eq(
	    syn_last_error()->message, "no request in the context");
	ck_assert_syn_ok(call_get(s, "tenant", buf, sizeof(buf)));
	syn_context_clear();
	ck_assert_syn_rc(call_get(s, "tenant", buf, sizeof(buf)), SYN_ENOENT);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A call carries the context as it was when the call was made: what the
 * caller sets while the call runs does not reach it. */
START_TEST(copied_when_called)
{
	syn_synchronizer s = context_sync();
	set_str("k", "before");
	syn_value   a[] = { syn_int(D_MS), syn_str("k") };
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "get_later", a, 2, &f));
	set_str("k", "after");
	ck_assert_syn_ok(syn_future_wait(f));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_str_eq(v->as.str, "before");
	syn_future_free(f);
	syn_context_clear();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* What a task sets stays in the task: its caller's context, and the next
 * call's, are as before. */
START_TEST(task_changes_stay_inside)
{
	syn_synchronizer s = context_sync();
	set_str("k", "outer");
	syn_value  a[] = { syn_str("k"), syn_str("inner") };
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "set_get", a, 2, &res));
	ck_assert_str_eq(res.value.as.str, "inner");
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_context_get("k", &res));
	ck_assert_str_eq(res.value.as.str, "outer");
	syn_result_fini(&res);
	char buf[64];
	ck_assert_syn_ok(call_get(s, "k", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "\"outer\"");
	syn_context_clear();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A task's calls carry its context on: the caller's keys, and what the
 * task set, reach a task of another synchronizer. */
START_TEST(nested_calls_carry_it)
{
	syn_synchronizer s1 = context_sync(), s2 = context_sync();
	set_str("request", "r-7");
	const char *keys[] = { "request", "relay" };
	const char *want[] = { "r-7", "on" };
	for (int i = 0; i < 2; i++) {
		syn_value  a[] = { syn_int(s2.id), syn_str(keys[i]) };
		syn_result res = SYN_RESULT_INIT;
		ck_assert_syn_ok(syn_call(s1, "relay", a, 2, &res));
		ck_assert_str_eq(res.value.as.str, want[i]);
		syn_result_fini(&res);
	}
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_rc(syn_context_get("relay", &res), SYN_ENOENT);
	syn_context_clear();
	ck_assert_syn_ok(syn_synchronizer_destroy(s1));
	ck_assert_syn_ok(syn_synchronizer_destroy(s2));
}
END_TEST

/* A generator has the context of the call that opened it, for all its
 * items. */
START_TEST(generator_keeps_its_opening_context)
{
	syn_synchronizer s = context_sync();
	set_str("k", "opened");
	syn_value a[] = { syn_str("k"), syn_int(3) };
	syn_iter *it;
	ck_assert_syn_ok(syn_iter_open(s, "items", a, 2, NULL, &it));
	set_str("k", "changed");
	syn_result item = SYN_RESULT_INIT;
	for (int i = 0; i < 3; i++) {
		ck_assert_syn_ok(syn_iter_next(it, &item));
		ck_assert_str_eq(item.value.as.str, "opened");
		syn_result_fini(&item);
	}
	ck_assert_syn_rc(syn_iter_next(it, &item), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));
	syn_context_clear();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A syn_run_blocking job works on its task's context from the pool
 * thread. */
START_TEST(pool_job_shares_the_task_context)
{
	syn_synchronizer s = context_sync();
	set_str("request", "r-9");
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "in_job", NULL, 0, &res));
	ck_assert_str_eq(res.value.as.str, "r-9/7");
	syn_result_fini(&res);
	ck_assert_syn_rc(syn_context_get("job", &res), SYN_ENOENT);
	syn_context_clear();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct thread_arg {
	syn_synchronizer s;
	const char      *value; /* what this thread sets, or NULL */
	char             seen[64];
	int              rc;
} thread_arg;

static void *
thread_calls(void *p)
{
	thread_arg *ta = p;
	for (int i = 0; i < 100; i++) {
		if (ta->value != NULL) {
			ta->rc = syn_context_set(
			    "who", (syn_value[]) { syn_str(ta->value) });
		}
		if (ta->rc == 0) {
			ta->rc =
			    call_get(ta->s, "who", ta->seen, sizeof(ta->seen));
		}
		if (ta->rc != 0 && ta->value != NULL) {
			break;
		}
	}
	return NULL; /* (its context is freed as it exits) */
}

/* Each thread has a context of its own. */
START_TEST(threads_have_their_own)
{
	syn_synchronizer s     = context_sync();
	thread_arg       ta[3] = { { s, "one", "", 0 }, { s, "two", "", 0 },
		      { s, NULL, "", 0 } };
	pthread_t        th[3];
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(
		    pthread_create(&th[i], NULL, thread_calls, &ta[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
	}
	ck_assert_syn_ok(ta[0].rc);
	ck_assert_str_eq(ta[0].seen, "\"one\"");
	ck_assert_syn_ok(ta[1].rc);
	ck_assert_str_eq(ta[1].seen, "\"two\"");
	ck_assert_syn_rc(ta[2].rc, SYN_ENOENT);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_rc(syn_context_get("who", &res), SYN_ENOENT);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Every bad input is refused with SYN_EINVAL or SYN_EMSGSIZE, and leaves
 * the context as it was. */
START_TEST(bad_inputs)
{
	syn_synchronizer s   = context_sync();
	syn_value        one = syn_int(1);
	char             key[SYN_CONTEXT_KEY_MAX + 2];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	set_str("keep", "me");
	ck_assert_syn_rc(syn_context_set(NULL, &one), SYN_EINVAL);
	ck_assert_syn_rc(syn_context_set("", &one), SYN_EINVAL);
	ck_assert_syn_rc(syn_context_set(key, &one), SYN_EINVAL);
	ck_assert_syn_rc(syn_context_set("\xff\xfe", &one), SYN_EINVAL);
	ck_assert_syn_rc(syn_context_set("k", NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_context_unset(NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_context_unset(key), SYN_EINVAL);
	key[SYN_CONTEXT_KEY_MAX] = '\0'; /* the longest key */
	ck_assert_syn_ok(syn_context_set(key, &one));
	ck_assert_syn_ok(syn_context_unset(key));
	ck_assert_syn_ok(syn_context_unset(key)); /* not set: fine */

	int       x;
	syn_value ptr = syn_ptr(&x);
	ck_assert_syn_rc(syn_context_set("p", &ptr), SYN_EINVAL);
	syn_handle h   = { 1, 2 };
	syn_value  hv  = syn_handle_value(&h);
	syn_value  in  = syn_list(&hv, 1);
	syn_value  out = syn_list(&in, 1);
	ck_assert_syn_rc(syn_context_set("h", &out), SYN_EINVAL);
	syn_value deep[40];
	deep[0] = syn_int(0);
	for (int i = 1; i < 40; i++) {
		deep[i] = syn_list(&deep[i - 1], 1);
	}
	ck_assert_syn_rc(syn_context_set("deep", &deep[39]), SYN_EINVAL);
	ck_assert_syn_ok(syn_context_set("deep", &deep[29]));

	static char big[SYN_CONTEXT_MAX];
	syn_value   bv = syn_bytes(big, sizeof(big));
	ck_assert_syn_rc(syn_context_set("big", &bv), SYN_EMSGSIZE);
	bv = syn_bytes(big, SYN_CONTEXT_MAX / 2);
	ck_assert_syn_ok(syn_context_set("big", &bv));
	ck_assert_syn_rc(syn_context_set("big2", &bv), SYN_EMSGSIZE);
	ck_assert_syn_ok(syn_context_unset("big"));
	for (int i = 0; i < SYN_CONTEXT_KEYS_MAX + 1; i++) {
		char many[16];
		snprintf(many, sizeof(many), "key%d", i);
		/* ("keep" and "deep" are set: 62 more fit) */
		ck_assert_syn_rc(syn_context_set(many, &one),
		    i < SYN_CONTEXT_KEYS_MAX - 2 ? 0 : SYN_EMSGSIZE);
	}
	ck_assert_syn_ok(syn_context_set("key0", &one)); /* (replaced) */
	for (int i = 0; i < SYN_CONTEXT_KEYS_MAX; i++) {
		char many[16];
		snprintf(many, sizeof(many), "key%d", i);
		ck_assert_syn_ok(syn_context_unset(many));
	}
	ck_assert_syn_ok(syn_context_set("big", &bv));

	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_rc(syn_context_get(NULL, &res), SYN_EINVAL);
	ck_assert_syn_rc(syn_context_get("keep", NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_context_get("big2", &res), SYN_ENOENT);
	ck_assert_int_eq(res.value.type, SYN_TYPE_NIL);
	ck_assert_syn_ok(syn_context_get("big", &res));
	ck_assert_int_eq(res.value.len, SYN_CONTEXT_MAX / 2);
	syn_result_fini(&res);
	char buf[64];
	ck_assert_syn_ok(call_get(s, "keep", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "\"me\"");
	syn_context_clear();
	ck_assert_syn_rc(syn_context_get("keep", &res), SYN_ENOENT);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A context near its limit still fits the call that carries it; a value
 * as deep as a context takes goes through. */
START_TEST(large_context_travels)
{
	syn_synchronizer s = context_sync();
	static char      big[SYN_CONTEXT_MAX - 64];
	memset(big, 'x', sizeof(big) - 1);
	set_str("big", big);
	syn_value deep[31];
	deep[0] = syn_int(0);
	for (int i = 1; i < 31; i++) {
		deep[i] = syn_list(&deep[i - 1], 1);
	}
	ck_assert_syn_ok(syn_context_set("deep", &deep[30]));
	syn_value  a   = syn_str("big");
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "get", &a, 1, &res));
	ck_assert_uint_eq(res.value.len, sizeof(big) - 1);
	syn_result_fini(&res);
	syn_context_clear();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static syn_synchronizer deep_other;

/* deep_walk(): with 7,000 bytes of its small stack taken, reads, sets
 * and passes on a context whose first value is 31 levels deep; returns
 * what the call on deep_other read of "b". */
static int
deep_walk(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args;
	(void) nargs;
	volatile char burn[7000];
	burn[0] = 1;
	syn_value b;
	int       rc = context_str(t, "b", &b);
	if (rc != 0 || strcmp(b.as.str, "x") != 0 ||
	    (rc = syn_context_set("c", (syn_value[]) { syn_int(1) })) != 0 ||
	    (rc = context_str(t, "b", &b)) != 0 || strcmp(b.as.str, "x") != 0) {
		return syn_raise(t, rc != 0 ? rc : SYN_EUSER(3),
		    "the context misread: %d", burn[0]);
	}
	return await_get(t, deep_other, "b", ret);
}

/* A task on a small stack reads, changes and passes on a context as deep
 * as contexts go (the walk over it does not recurse). */
START_TEST(small_stack_deep_context)
{
	syn_config       cfg = { .stack_size = 16384 };
	syn_synchronizer s   = th_new_cfg(&cfg);
	deep_other           = context_sync();
	th_register(s, "deep_walk", deep_walk, NULL);
	syn_value deep[31];
	deep[0] = syn_int(0);
	for (int i = 1; i < 31; i++) {
		deep[i] = syn_list(&deep[i - 1], 1);
	}
	ck_assert_syn_ok(syn_context_set("a", &deep[30]));
	set_str("b", "x");
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "deep_walk", NULL, 0, &res));
	ck_assert_str_eq(res.value.as.str, "x");
	syn_result_fini(&res);
	syn_context_clear();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_syn_ok(syn_synchronizer_destroy(deep_other));
}
END_TEST

static pthread_key_t later_key;
static int           later_get_rc, later_set_rc;

/* The destructor of a key made after the thread's context: the context
 * is empty by then, and still usable. */
static void
later_destructor(void *p)
{
	(void) p;
	syn_result res = SYN_RESULT_INIT;
	later_get_rc   = syn_context_get("k", &res);
	later_set_rc   = syn_context_set("k", (syn_value[]) { syn_int(2) });
	syn_context_clear();
}

static void *
sets_then_makes_a_key(void *p)
{
	(void) p;
	set_str("k", "one");
	pthread_key_create(&later_key, later_destructor);
	pthread_setspecific(later_key, &later_key);
	return NULL;
}

/* A thread's context is freed as the thread exits, and a destructor that
 * runs after that finds it empty (not freed memory). */
START_TEST(thread_exit_frees_it)
{
	pthread_t th;
	later_get_rc = later_set_rc = -1;
	ck_assert_int_eq(
	    pthread_create(&th, NULL, sets_then_makes_a_key, NULL), 0);
	pthread_join(th, NULL);
	ck_assert_syn_rc(later_get_rc, SYN_ENOENT);
	ck_assert_syn_ok(later_set_rc);
	pthread_key_delete(later_key);
}
END_TEST

typedef struct callback_seen {
	atomic_int done;
	int        task_key_rc;
	int        own_rc;
} callback_seen;

/* A completion callback: reads the key the task set, sets one of its
 * own and reads it back, clears. */
static void
on_done(syn_future *f, void *arg)
{
	(void) f;
	callback_seen *seen = arg;
	syn_result     res  = SYN_RESULT_INIT;
	seen->task_key_rc   = syn_context_get("k", &res);
	syn_result_fini(&res);
	seen->own_rc = syn_context_set("cb", (syn_value[]) { syn_int(1) });
	if (seen->own_rc == 0) {
		seen->own_rc = syn_context_get("cb", &res);
		syn_result_fini(&res);
	}
	syn_context_unset("cb");
	atomic_store(&seen->done, 1);
}

/* A completion callback that a task's reply runs works on the thread's
 * context, not on the task's. */
START_TEST(callbacks_use_the_thread_context)
{
	syn_synchronizer s = context_sync();
	for (int i = 0; i < 2; i++) {
		callback_seen seen = { 0, -1, -1 };
		syn_value     a[]  = { syn_str("k"), syn_str("task's") };
		syn_future   *f;
		ck_assert_syn_ok(syn_call_future(s, "set_get", a, 2, &f));
		ck_assert_syn_ok(syn_future_callback(f, on_done, &seen));
		ck_assert_syn_ok(syn_future_wait(f));
		while (!atomic_load(&seen.done)) {
			usleep(1000);
		}
		ck_assert_syn_rc(seen.task_key_rc, SYN_ENOENT);
		ck_assert_syn_ok(seen.own_rc);
		syn_future_free(f);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct snap_job {
	syn_synchronizer        s;
	const syn_context_snap *snap;
	int                     rc;
	char                    seen[64];
	atomic_int              done;
} snap_job;

/* A thread of the caller's own that runs with the snapshot it is handed. */
static void *
worker(void *p)
{
	snap_job *j = p;
	j->rc       = syn_context_install(j->snap);
	if (j->rc == 0) {
		j->rc = call_get(j->s, "request", j->seen, sizeof(j->seen));
	}
	return NULL; /* (what it installed is freed as it exits) */
}

/* A completion callback that installs the snapshot it was given. */
static void
install_in_callback(syn_future *f, void *arg)
{
	(void) f;
	snap_job  *j   = arg;
	syn_result res = SYN_RESULT_INIT;
	j->rc          = syn_context_install(j->snap);
	if (j->rc == 0 && (j->rc = syn_context_get("request", &res)) == 0) {
		syn_value_format(&res.value, j->seen, sizeof(j->seen));
	}
	syn_result_fini(&res);
	syn_context_clear();
	atomic_store(&j->done, 1);
}

typedef struct cb_sleep {
	syn_task *t;
	int64_t   ms;
	int       rc;
} cb_sleep;

/* A callback that makes the task that ran it sleep. */
static void
sleeping_callback(syn_future *f, void *arg)
{
	(void) f;
	cb_sleep *c = arg;
	c->rc       = syn_sleep(c->t, c->ms);
}

/* sleep_in_callback(ms): puts a callback that sleeps ms on a future
 * that is done, so the callback runs at once, in this task. */
static int
sleep_in_callback(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	cb_sleep   *c = syn_task_alloc(t, sizeof(*c));
	syn_value   a = syn_str("none");
	syn_future *f;
	int         rc;
	if (c == NULL) {
		return SYN_ENOMEM;
	}
	*c = (cb_sleep) { t, 0, -1 };
	if ((rc = syn_unpack(t, args, nargs, "i", &c->ms)) != 0 ||
	    (rc = syn_call_future(
	         syn_task_synchronizer(t), "get", &a, 1, &f)) != 0) {
		return rc;
	}
	(void) syn_await(t, f); /* (done: SYN_ENOENT) */
	if ((rc = syn_future_callback(f, sleeping_callback, c)) == 0) {
		rc = c->rc;
	}
	syn_future_free(f);
	*ret = syn_int(c->ms);
	return rc;
}

/* A task that waits inside a callback takes the callback's mark along:
 * the synchronizer's other tasks keep their own contexts meanwhile. */
START_TEST(await_in_callback_keeps_others)
{
	syn_synchronizer s = context_sync();
	th_register(s, "sleep_in_callback", sleep_in_callback, NULL);
	set_str("who", "A");
	syn_value   ms = syn_int(6 * D_MS / 5);
	syn_future *fa, *fb;
	ck_assert_syn_ok(syn_call_future(s, "sleep_in_callback", &ms, 1, &fa));
	usleep(D_MS * 1000 / 5); /* (A sleeps in its callback) */
	set_str("who", "B");
	syn_value b[] = { syn_int(D_MS / 5), syn_str("who") };
	ck_assert_syn_ok(syn_call_future(s, "get_later", b, 2, &fb));
	ck_assert_syn_ok(syn_future_wait(fb));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(fb, &v));
	ck_assert_str_eq(v->as.str, "B");
	ck_assert_syn_ok(syn_future_wait(fa));
	syn_future_free(fa);
	syn_future_free(fb);
	syn_context_clear();
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A snapshot carries a context where no call carries it: to a thread of
 * the caller's own, and into a completion callback; an empty one
 * installed empties the context. */
START_TEST(snapshot_carries_it)
{
	syn_synchronizer  s = context_sync();
	syn_context_snap *snap, *empty;
	ck_assert_syn_ok(syn_context_capture(&empty));
	set_str("request", "r-1");
	ck_assert_syn_ok(syn_context_capture(&snap));
	syn_context_clear();

	snap_job  j = { s, snap, -1, "", 0 };
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, worker, &j), 0);
	pthread_join(th, NULL);
	ck_assert_syn_ok(j.rc);
	ck_assert_str_eq(j.seen, "\"r-1\"");

	snap_job    k = { s, snap, -1, "", 0 };
	syn_value   a = syn_str("request");
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "get", &a, 1, &f));
	ck_assert_syn_ok(syn_future_callback(f, install_in_callback, &k));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ENOENT); /* (none here) */
	while (!atomic_load(&k.done)) {
		usleep(1000);
	}
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_syn_ok(k.rc);
	ck_assert_str_eq(k.seen, "\"r-1\"");

	ck_assert_syn_ok(syn_context_install(snap));
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_context_get("request", &res));
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_context_install(empty));
	ck_assert_syn_rc(syn_context_get("request", &res), SYN_ENOENT);
	ck_assert_syn_rc(syn_context_capture(NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_context_install(NULL), SYN_EINVAL);
	syn_context_snap_free(NULL);
	syn_context_snap_free(snap);
	syn_context_snap_free(empty);
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("reaches_the_task", reaches_the_task),
		TH_CASE("copied_when_called", copied_when_called),
		TH_CASE("task_changes_stay_inside", task_changes_stay_inside),
		TH_CASE("nested_calls_carry_it", nested_calls_carry_it),
		TH_CASE(
		    "generator_keeps_it", generator_keeps_its_opening_context),
		TH_CASE("pool_job_shares_it", pool_job_shares_the_task_context),
		TH_CASE("threads_have_their_own", threads_have_their_own),
		TH_CASE("bad_inputs", bad_inputs),
		TH_CASE("large_context_travels", large_context_travels),
		TH_CASE("small_stack_deep_context", small_stack_deep_context),
		TH_CASE("thread_exit_frees_it", thread_exit_frees_it),
		TH_CASE("callbacks_use_the_thread_context",
		    callbacks_use_the_thread_context),
		TH_CASE("snapshot_carries_it", snapshot_carries_it),
		TH_CASE("await_in_callback_keeps_others",
		    await_in_callback_keeps_others),
	};
	return TH_SUITE("context", cases);
}
