/*
 * Blocking classes (SYN_CLASS_BLOCKING): plain blocking methods run on the
 * pool, one call at a time per object, in arrival order, while the
 * synchronizer serves other calls; the same blocking, future and aio
 * interfaces as any class.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <synchronicity/typed.h>

#include "helpers.h"

/* A journal: an object records the keys it was given, in order. */
typedef struct journal {
	int64_t    keys[64];
	int        n;
	atomic_int active; /* calls running on it now */
	bool       overlapped;
	bool       opened;
} journal;

static atomic_int puts_started; /* journal_put calls begun, all objects */

static int
journal_init(syn_task *t, void *self, const syn_value *args, size_t nargs)
{
	journal *j = self;
	int64_t  open_ms;
	int      rc = syn_unpack(t, args, nargs, "|i", &open_ms);
	if (rc == 0 && nargs == 1) {
		usleep((useconds_t) open_ms * 1000); /* a slow open */
	}
	j->opened = true;
	return rc;
}

/* put(key, ms): blocks ms, records key. */
static int
journal_put(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	journal *j = self;
	int64_t  key, ms;
	int      rc = syn_unpack(t, args, nargs, "ii", &key, &ms);
	if (rc != 0) {
		return rc;
	}
	atomic_fetch_add(&puts_started, 1);
	if (atomic_fetch_add(&j->active, 1) != 0) {
		j->overlapped = true;
	}
	usleep((useconds_t) ms * 1000);
	if (j->n < 64) {
		j->keys[j->n++] = key;
	}
	atomic_fetch_sub(&j->active, 1);
	*ret = syn_int(key);
	return j->overlapped ? syn_raise(t, SYN_EUSER(9), "calls overlapped")
	                     : 0;
}

/* keys(): the keys so far, as a list (task memory). */
static int
journal_keys(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	journal *j  = self;
	int      rc = syn_unpack(t, args, nargs, "");
	if (rc != 0) {
		return rc;
	}
	syn_value *items = syn_task_alloc(t, sizeof(*items) * 64);
	if (items == NULL) {
		return SYN_ENOMEM;
	}
	for (int i = 0; i < j->n; i++) {
		items[i] = syn_int(j->keys[i]);
	}
	*ret = syn_list(items, (size_t) j->n);
	return 0;
}

/* fail(): an error with a message, raised from the pool thread. */
static int
journal_fail(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self, (void) args, (void) nargs, (void) ret;
	return syn_raise(t, SYN_EUSER(3), "journal full");
}

/* try_await(): what an await point says on the pool (SYN_ESTATE). */
static int
journal_try_await(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self, (void) args, (void) nargs;
	*ret = syn_int(syn_sleep(t, 1));
	return 0;
}

/* call_home(x): a blocking call to its own synchronizer, from the pool. */
static int
journal_call_home(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self;
	syn_result res = SYN_RESULT_INIT;
	int        rc =
	    syn_call(syn_task_synchronizer(t), "square_now", args, nargs, &res);
	if (rc == 0) {
		*ret = syn_int(res.value.as.i);
	}
	syn_result_fini(&res);
	return rc;
}

static int
journal_version(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) t, (void) self, (void) args, (void) nargs;
	*ret = syn_int(7);
	return 0;
}

static const syn_method_def journal_methods[] = {
	{ "put", SYN_KIND_FUNCTION, journal_put, 0 },
	{ "keys", SYN_KIND_FUNCTION, journal_keys, 0 },
	{ "fail", SYN_KIND_FUNCTION, journal_fail, 0 },
	{ "try_await", SYN_KIND_FUNCTION, journal_try_await, 0 },
	{ "call_home", SYN_KIND_FUNCTION, journal_call_home, 0 },
	{ "version", SYN_KIND_FUNCTION, journal_version, SYN_METHOD_STATIC },
};

static const syn_class_def journal_class = { "Journal", sizeof(journal),
	journal_init, NULL, journal_methods,
	sizeof(journal_methods) / sizeof(journal_methods[0]),
	SYN_CLASS_BLOCKING };

static syn_synchronizer
journal_sync(void)
{
	syn_synchronizer s = th_new();
	ck_assert_syn_ok(syn_register_class(s, &journal_class));
	return s;
}

static syn_proxy *
journal_new(syn_synchronizer s)
{
	syn_proxy *p;
	ck_assert_syn_ok(syn_new(s, "Journal", NULL, 0, &p));
	return p;
}

static syn_future *
put_future(syn_proxy *p, int64_t key, int64_t ms)
{
	syn_value   args[2] = { syn_int(key), syn_int(ms) };
	syn_future *f;
	ck_assert_syn_ok(syn_invoke_future(p, "put", args, 2, &f));
	return f;
}

/* The keys p recorded, into keys[]; returns how many. */
static size_t
keys_of(syn_proxy *p, int64_t *keys)
{
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_invoke(p, "keys", NULL, 0, &res));
	size_t n = res.value.len;
	for (size_t i = 0; i < n; i++) {
		keys[i] = res.value.as.list[i].as.i;
	}
	syn_result_fini(&res);
	return n;
}

/* Four objects work at once (4 x 250 ms in under 0.5 s); the calls on one
 * object take turns, in arrival order; the synchronizer keeps serving. */
START_TEST(objects_in_parallel_calls_in_line)
{
	syn_synchronizer s = journal_sync();
	syn_proxy       *ps[4];
	syn_future      *fs[4];
	for (int i = 0; i < 4; i++) {
		ps[i] = journal_new(s);
	}
	double t0 = th_now_ms();
	for (int i = 0; i < 4; i++) {
		fs[i] = put_future(ps[i], i, 250);
	}
	usleep(20000);
	double q0 = th_now_ms();
	ck_assert_int_eq(th_call_int(s, "square_now", 9), 81);
	ck_assert_msg(th_now_ms() - q0 < 50, "the synchronizer stalled");
	for (int i = 0; i < 4; i++) {
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		syn_future_free(fs[i]);
	}
	double took = th_now_ms() - t0;
	ck_assert_msg(took < 500, "4 objects took %.0f ms", took);

	t0 = th_now_ms();
	for (int i = 0; i < 4; i++) {
		fs[i] = put_future(ps[0], 10 + i, 60);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		syn_future_free(fs[i]);
	}
	took = th_now_ms() - t0;
	ck_assert_msg(took >= 4 * 60 - 1, "one object's calls overlapped");
	int64_t keys[64];
	ck_assert_int_eq(keys_of(ps[0], keys), 5);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(keys[1 + i], 10 + i);
	}
	for (int i = 0; i < 4; i++) {
		syn_proxy_release(ps[i]);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

typedef struct hammer {
	syn_proxy *p;
	int        base, failed;
} hammer;

static void *
hammer_puts(void *arg)
{
	hammer *h = arg;
	for (int i = 0; i < 10; i++) {
		syn_value  args[2] = { syn_int(h->base + i), syn_int(0) };
		syn_result res     = SYN_RESULT_INIT;
		if (syn_invoke(h->p, "put", args, 2, &res) != 0 ||
		    res.value.as.i != h->base + i) {
			h->failed++;
		}
		syn_result_fini(&res);
	}
	return NULL;
}

/* Six threads on one object: never two calls at once, each thread's keys
 * in its order, none lost. */
START_TEST(one_object_many_threads)
{
	syn_synchronizer s = journal_sync();
	syn_proxy       *p = journal_new(s);
	pthread_t        th[6];
	hammer           hs[6];
	for (int i = 0; i < 6; i++) {
		hs[i] = (hammer) { p, i * 100, 0 };
		pthread_create(&th[i], NULL, hammer_puts, &hs[i]);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(hs[i].failed, 0);
	}
	int64_t keys[64];
	ck_assert_int_eq(keys_of(p, keys), 60);
	int64_t last[6] = { -1, -1, -1, -1, -1, -1 };
	for (int i = 0; i < 60; i++) {
		int who = (int) (keys[i] / 100);
		ck_assert_int_gt(keys[i], last[who]);
		last[who] = keys[i];
	}
	syn_value args[2] = { syn_int(1), syn_int(0) };
	ck_assert_syn_ok(syn_invoke(p, "put", args, 2, NULL));
	syn_proxy_release(p);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Every form of call; errors with their message; what a blocking method
 * may and may not do. */
START_TEST(every_form_and_its_rules)
{
	syn_synchronizer s       = journal_sync();
	syn_value        open_ms = syn_int(30);
	syn_future      *nf;
	ck_assert_syn_ok(syn_new_future(s, "Journal", &open_ms, 1, &nf));
	ck_assert_syn_ok(syn_future_wait(nf));
	const syn_value *pv;
	ck_assert_syn_ok(syn_future_value(nf, &pv));
	syn_proxy *p = syn_proxy_ref(pv->as.proxy);
	syn_future_free(nf);

	syn_value  args[2] = { syn_int(5), syn_int(1) };
	syn_result res     = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_invoke(p, "put", args, 2, &res));
	ck_assert_int_eq(res.value.as.i, 5);
	syn_result_fini(&res);

	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	args[0] = syn_int(6);
	syn_invoke_aio(p, "put", args, 2, aio);
	nng_aio_wait(aio);
	ck_assert_syn_ok(syn_aio_result(aio, &res));
	ck_assert_int_eq(res.value.as.i, 6);
	syn_result_fini(&res);
	nng_aio_free(aio);

	ck_assert_syn_rc(syn_invoke(p, "fail", NULL, 0, NULL), SYN_EUSER(3));
	ck_assert_str_eq(syn_last_error()->message, "journal full");
	ck_assert_syn_rc(syn_invoke(p, "put", NULL, 0, NULL), SYN_EINVAL);

	ck_assert_syn_ok(syn_invoke(p, "try_await", NULL, 0, &res));
	ck_assert_int_eq(res.value.as.i, SYN_ESTATE);
	syn_result_fini(&res);

	syn_value x = syn_int(11);
	ck_assert_syn_ok(syn_invoke(p, "call_home", &x, 1, &res));
	ck_assert_int_eq(res.value.as.i, 121);
	syn_result_fini(&res);

	ck_assert_syn_ok(syn_call(s, "Journal.version", NULL, 0, &res));
	ck_assert_int_eq(res.value.as.i, 7);
	syn_result_fini(&res);
	syn_proxy_release(p);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A call cancelled while it waits for its turn leaves the line and never
 * runs; the others go on in order. */
START_TEST(cancel_waiting_for_turn)
{
	syn_synchronizer s     = journal_sync();
	syn_proxy       *p     = journal_new(s);
	syn_future      *first = put_future(p, 1, 150);
	syn_future      *mid   = put_future(p, 2, 10);
	syn_future      *last  = put_future(p, 3, 10);
	usleep(20000);
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_future_cancel(mid));
	ck_assert_syn_rc(syn_future_wait(mid), SYN_ECANCELED);
	ck_assert_msg(th_now_ms() - t0 < 100, "the cancel waited its turn");
	ck_assert_syn_ok(syn_future_wait(first));
	ck_assert_syn_ok(syn_future_wait(last));
	int64_t keys[64];
	ck_assert_int_eq(keys_of(p, keys), 2);
	ck_assert_int_eq(keys[0], 1);
	ck_assert_int_eq(keys[1], 3);
	syn_future_free(first);
	syn_future_free(mid);
	syn_future_free(last);
	/* Destroy with calls in line: the running one ends and delivers
	 * its result (it returned 0: found by review, it got SYN_ECLOSED);
	 * the one waiting its turn ends with SYN_ECLOSED. */
	int started = atomic_load(&puts_started);
	first       = put_future(p, 4, 100);
	mid         = put_future(p, 5, 10);
	while (atomic_load(&puts_started) == started) {
		usleep(1000);
	}
	syn_proxy_release(p);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_syn_rc(syn_future_wait(mid), SYN_ECLOSED);
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(first, &v));
	ck_assert_int_eq(v->as.i, 4);
	syn_future_free(first);
	syn_future_free(mid);
}
END_TEST

static int
gen_method(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) t, (void) self, (void) args, (void) nargs, (void) ret;
	return 0;
}

START_TEST(bad_definitions_are_refused)
{
	syn_synchronizer     s   = th_new();
	const syn_method_def g[] = { { "rows", SYN_KIND_GENERATOR, gen_method,
	    0 } };
	syn_class_def def = { "G", 8, NULL, NULL, g, 1, SYN_CLASS_BLOCKING };
	ck_assert_syn_rc(syn_register_class(s, &def), SYN_EINVAL);
	def.flags = 1u << 7;
	ck_assert_syn_rc(syn_register_class(s, &def), SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* ---- what a blocking method may do, and what it may not ---------------- */

static atomic_int opened, closed;

/* Pool.outer(): a blocking call of Pool.inner() from the pool. */
static int
pool_outer(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self, (void) args, (void) nargs;
	usleep(20000);
	syn_result res = SYN_RESULT_INIT;
	int        rc =
	    syn_call(syn_task_synchronizer(t), "Pool.inner", NULL, 0, &res);
	if (rc == 0) {
		*ret = syn_int(res.value.as.i + 1);
	}
	syn_result_fini(&res);
	return rc;
}

static int
pool_inner(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) t, (void) self, (void) args, (void) nargs;
	*ret = syn_int(41);
	return 0;
}

/* Pool.destroy_home(): destroys its own synchronizer (SYN_EDEADLK). */
static int
pool_destroy_home(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self, (void) args, (void) nargs;
	*ret = syn_int(syn_synchronizer_destroy(syn_task_synchronizer(t)));
	return 0;
}

/* res.take(o): an object of this synchronizer (SYN_ESTATE). */
static int
res_take(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self, (void) ret;
	void *o;
	return syn_unpack(t, args, nargs, "o", &o);
}

/* The proxy of the Pool object that self_wait runs on (set by the test). */
static syn_proxy *pool_proxy;

/* res.self_wait(): calls take() on its own object as a future and waits
 * for it: SYN_EDEADLK at once (the method holds the object's turn), by
 * the blocking form and by the future's wait alike; returns both codes. */
static int
res_self_wait(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) t, (void) self, (void) args, (void) nargs;
	syn_value   none    = syn_nil();
	int         by_call = syn_invoke(pool_proxy, "take", &none, 1, NULL);
	syn_future *f;
	int         rc = syn_invoke_future(pool_proxy, "take", &none, 1, &f);
	if (rc == 0) {
		rc = syn_future_wait(f);
		syn_future_cancel(f);
		syn_future_free(f);
	}
	*ret = syn_int(by_call * 1000 + rc);
	return 0;
}

static int
res_init(syn_task *t, void *self, const syn_value *args, size_t nargs)
{
	(void) t, (void) self, (void) args, (void) nargs;
	usleep(100000); /* a slow open */
	atomic_fetch_add(&opened, 1);
	return 0;
}

static void
res_fini(void *self)
{
	(void) self;
	atomic_fetch_add(&closed, 1);
}

static const syn_method_def pool_methods[] = {
	{ "outer", SYN_KIND_FUNCTION, pool_outer, SYN_METHOD_STATIC },
	{ "inner", SYN_KIND_FUNCTION, pool_inner, SYN_METHOD_STATIC },
	{ "destroy_home", SYN_KIND_FUNCTION, pool_destroy_home,
	    SYN_METHOD_STATIC },
	{ "take", SYN_KIND_FUNCTION, res_take, 0 },
	{ "self_wait", SYN_KIND_FUNCTION, res_self_wait, 0 },
};

static const syn_class_def pool_class = { "Pool", 8, res_init, res_fini,
	pool_methods, 5, SYN_CLASS_BLOCKING };

/* 24 blocking methods at once, each waiting for another blocking method:
 * the pool grows past its 16 threads rather than starve. */
START_TEST(nested_blocking_calls_do_not_starve_the_pool)
{
	syn_synchronizer s = th_new();
	ck_assert_syn_ok(syn_register_class(s, &pool_class));
	syn_future *fs[24];
	for (int i = 0; i < 24; i++) {
		ck_assert_syn_ok(
		    syn_call_future(s, "Pool.outer", NULL, 0, &fs[i]));
	}
	ck_assert_syn_ok(syn_future_wait_all(fs, 24, 20000));
	for (int i = 0; i < 24; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->as.i, 42);
		syn_future_free(fs[i]);
	}
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "Pool.destroy_home", NULL, 0, &res));
	ck_assert_int_eq(res.value.as.i, SYN_EDEADLK);
	syn_result_fini(&res);
	/* a blocking method waiting on a call to its own object */
	ck_assert_syn_ok(syn_new(s, "Pool", NULL, 0, &pool_proxy));
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_invoke(pool_proxy, "self_wait", NULL, 0, &res));
	ck_assert_int_eq(res.value.as.i, SYN_EDEADLK * 1000 + SYN_EDEADLK);
	ck_assert_msg(th_now_ms() - t0 < 2000, "it waited");
	syn_result_fini(&res);
	syn_proxy_release(pool_proxy);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* An init that succeeds while its call is cancelled: the object was made,
 * so its fini runs; objects of this synchronizer are refused as
 * arguments of blocking methods. */
START_TEST(cancelled_init_and_object_arguments)
{
	atomic_store(&opened, 0);
	atomic_store(&closed, 0);
	syn_synchronizer s = th_new();
	ck_assert_syn_ok(syn_register_class(s, &pool_class));
	syn_future *f;
	ck_assert_syn_ok(syn_new_future(s, "Pool", NULL, 0, &f));
	usleep(20000);
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	syn_future_free(f);
	syn_proxy *a, *b;
	ck_assert_syn_ok(syn_new(s, "Pool", NULL, 0, &a));
	ck_assert_syn_ok(syn_new(s, "Pool", NULL, 0, &b));
	syn_value arg = syn_proxy_value(b);
	ck_assert_syn_rc(syn_invoke(a, "take", &arg, 1, NULL), SYN_ESTATE);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "object"));
	syn_proxy_release(a);
	syn_proxy_release(b);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_int_eq(atomic_load(&opened), 3);
	ck_assert_int_eq(atomic_load(&closed), 3);
}
END_TEST

/* ---- a typed blocking class ------------------------------------------ */

typedef struct tally_state {
	int64_t total;
} tally_state;

#define TALLY(F0, F1, F2, F3, F4, C)            \
	F1(C, INIT, init, void, int64_t, start) \
	F1(C, FUNC, add, int64_t, int64_t, n)

SYN_CLASS_DECLARE(tally, TALLY)
SYN_CLASS_DEFINE_FLAGS(tally, TALLY, SYN_CLASS_BLOCKING)

int
tally_init_impl(syn_task *t, tally_state *self, int64_t start)
{
	(void) t;
	usleep(1000); /* blocking is fine here */
	self->total = start;
	return 0;
}

void
tally_fini_impl(tally_state *self)
{
	(void) self;
}

int
tally_add_impl(syn_task *t, tally_state *self, int64_t n, int64_t *ret)
{
	if (n < 0) {
		return syn_raise(
		    t, SYN_EUSER(1), "negative: %lld", (long long) n);
	}
	usleep(1000);
	self->total += n;
	*ret = self->total;
	return 0;
}

START_TEST(typed_blocking_class)
{
	syn_synchronizer s = th_new();
	ck_assert_syn_ok(tally_register(s));
	tally_ref t;
	ck_assert_syn_ok(tally_new(s, 10, &t));
	int64_t total;
	ck_assert_syn_ok(tally_add(t, 5, &total));
	ck_assert_int_eq(total, 15);
	ck_assert_syn_rc(tally_add(t, -1, &total), SYN_EUSER(1));
	ck_assert_str_eq(syn_last_error()->message, "negative: -1");
	tally_release(t);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE(
		    "parallel_and_in_line", objects_in_parallel_calls_in_line),
		TH_CASE("many_threads", one_object_many_threads),
		TH_CASE("every_form", every_form_and_its_rules),
		TH_CASE("cancel_in_line", cancel_waiting_for_turn),
		TH_CASE("bad_definitions", bad_definitions_are_refused),
		TH_CASE("typed", typed_blocking_class),
		TH_CASE("nested_calls",
		    nested_blocking_calls_do_not_starve_the_pool),
		TH_CASE("cancelled_init", cancelled_init_and_object_arguments),
	};
	return TH_SUITE("blocking_class", cases);
}
