/*
 * The first sections of synchronicity's README, in C, in the typed form.
 *
 * An asynchronous function square(x), the seed's f(x), sleeps, then
 * returns x squared. It is declared once in an interface list, written
 * once with typed arguments, runs on a synchronizer's own thread, and is
 * called three ways through generated, compiler-checked functions:
 * blocking, as a future, and through an nng_aio. Then ten futures resolve
 * in parallel, in about the time of one call. Then the seed's generator
 * f(n), here count, hands out 0 .. n-1: iterated blocking, awaited item
 * by item from a task of another synchronizer, and closed early, which
 * runs its cleanup once. Then the seed's whole class, DBConnection: made
 * and called from this thread, then from a task of another synchronizer
 * that awaits each step. Last, the seed's context manager, CtxMgr, whose
 * exit sleeps before the with-block ends.
 *
 * examples/dynamic.c is the same on the layer underneath, the dynamic API.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synchronicity.h>

#include "example.h"

#define SLEEP_MS 500
#define ITEM_MS 100       /* count's sleep before each item */
#define CONNECT_MS 100    /* how long DBConnection.connect takes */
#define EXIT_DELAY_MS 200 /* CtxMgr's exit_delay */

static atomic_int closed_early; /* runs of count closed before their end */
static atomic_int db_finis;     /* DBConnection objects dropped */
static atomic_int exit_saw;     /* the outcome CtxMgr's exit was given */

/* [api] */
/* The interface, written once (in a library, in its header): square is
 * the seed's f(x), count its generator f(n). */
#define CALC(F0, F1, F2, F3, F4, C)              \
	F1(C, FUNC, square, int64_t, int64_t, x) \
	F1(C, GEN, count, int64_t, int64_t, n)
SYN_FUNCTIONS_DECLARE(calc, CALC)
/* [api] */

/* [define] */
SYN_FUNCTIONS_DEFINE(calc, CALC) /* in one .c file: the generated code */
/* [define] */

/* [impl] */
/* The demo's own error code: SYN_EUSER(n), n from 1 to 0xffffff. */
#define E_OVERFLOW SYN_EUSER(1)

/* The implementation: runs as a task on the synchronizer's thread. */
int
calc_square_impl(syn_task *t, int64_t x, int64_t *ret)
{
	if (x < INT32_MIN || x > INT32_MAX) { /* x * x would not fit */
		return syn_raise(
		    t, E_OVERFLOW, "%lld squared overflows", (long long) x);
	}
	int rc = syn_sleep(t, SLEEP_MS); /* the seed's asyncio.sleep */
	if (rc == 0) {
		*ret = x * x;
	}
	return rc; /* SYN_ECANCELED: cancelled, or the synchronizer closes */
}
/* [impl] */

/* [gen_impl] */
/* The seed's generator f(n): sleeps, then hands out i, for i from 0 to
 * n-1. It runs only while its consumer asks for an item. */
int
calc_count_impl(syn_task *t, int64_t n)
{
	int rc = 0;
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = syn_sleep(t, ITEM_MS)) == 0) {
			rc = calc_count_yield(t, i); /* 0: asked again */
		}
	}
	/* Cleanup goes here: it runs however the stream ends. */
	if (rc == SYN_EITERCLOSED) { /* the consumer closed it early */
		atomic_fetch_add(&closed_early, 1);
		rc = 0; /* no error: nobody waits for an item */
	}
	return rc; /* 0 ends the stream: the consumer gets SYN_EEND */
}
/* [gen_impl] */

/* [class_api] */
/* The seed's DBConnection. An instance is this struct: self. */
typedef struct db_state {
	char url[64];
	bool connected; /* the seed's self._connection */
} db_state;

/* Its interface: the constructor's arguments, then the methods. */
#define DB(F0, F1, F2, F3, F4, C)                 \
	F1(C, INIT, init, void, syn_cstr, url)    \
	F0(C, PROC, connect, void)                \
	F1(C, FUNC, query, syn_cstr, syn_cstr, q) \
	F0(C, FUNC, url, syn_cstr)
SYN_CLASS_DECLARE(db, DB)
/* [class_api] */

SYN_CLASS_DEFINE(db, DB)

/* [class_impl] */
#define E_NOT_CONNECTED SYN_EUSER(2)

/* __init__(self, url): runs as a task of the synchronizer; may await. */
int
db_init_impl(syn_task *t, db_state *self, syn_cstr url)
{
	if (strlen(url) >= sizeof(self->url)) { /* self is zeroed */
		return syn_raise(t, SYN_EINVAL, "url too long: %s", url);
	}
	strcpy(self->url, url);
	return 0; /* on failure there is no object, and no fini */
}

/* async def connect(self) */
int
db_connect_impl(syn_task *t, db_state *self)
{
	int rc = syn_sleep(t, CONNECT_MS);
	if (rc == 0) {
		self->connected = true;
	}
	return rc;
}

/* async def query(self, q) */
int
db_query_impl(syn_task *t, db_state *self, syn_cstr q, syn_cstr *ret)
{
	if (!self->connected) {
		return syn_raise(
		    t, E_NOT_CONNECTED, "not connected to %s", self->url);
	}
	*ret = syn_task_printf(t, "%s ran '%s'", self->url, q).as.str;
	return 0; /* *ret lives in the task's memory: it outlives the call */
}

/* The seed's attributes are reachable only through methods. */
int
db_url_impl(syn_task *t, db_state *self, syn_cstr *ret)
{
	*ret = self->url; /* self outlives the reply */
	return 0;
}

/* Runs once, on the synchronizer's thread, when the object is dropped. */
void
db_fini_impl(db_state *self)
{
	(void) self; /* a real client closes its connection here */
	atomic_fetch_add(&db_finis, 1);
}
/* [class_impl] */

/* [ctx_impl] */
/* The seed's CtxMgr: its exit sleeps exit_delay milliseconds. */
typedef struct ctx_state {
	int64_t exit_delay;
} ctx_state;

/* A context manager: an "enter" FUNC, and an "exit" PROC given the
 * block's outcome, a code (0: none) and a message (a string, or nil). */
#define CTX(F0, F1, F2, F3, F4, C)                   \
	F1(C, INIT, init, void, int64_t, exit_delay) \
	F0(C, FUNC, enter, syn_vptr)                 \
	F2(C, PROC, exit, void, int64_t, rc, syn_vptr, message)
SYN_CLASS_DECLARE(ctx, CTX)
SYN_CLASS_DEFINE(ctx, CTX)

int
ctx_init_impl(syn_task *t, ctx_state *self, int64_t exit_delay)
{
	self->exit_delay = exit_delay;
	return 0;
}

/* __aenter__: what it returns is the block's value (the seed's "as z"). */
int
ctx_enter_impl(syn_task *t, ctx_state *self, syn_vptr *ret)
{
	return 0; /* *ret stays NULL, which is nil: the seed's None */
}

/* __aexit__: given the block's outcome. */
int
ctx_exit_impl(syn_task *t, ctx_state *self, int64_t rc, syn_vptr message)
{
	atomic_store(&exit_saw, (int) rc);
	return syn_sleep(t, self->exit_delay); /* may await */
}

void
ctx_fini_impl(ctx_state *self)
{
}
/* [ctx_impl] */

/* [app_api] */
/* What another synchronizer, the seed's other event loop, serves: its
 * tasks await the calls they make on the first one, lib. */
#define APP(F0, F1, F2, F3, F4, C)                  \
	F1(C, FUNC, sum_count, int64_t, int64_t, n) \
	F0(C, FUNC, async_main, syn_cstr)
SYN_FUNCTIONS_DECLARE(app, APP)

/* A typed implementation has no userdata: app's tasks find lib here. */
static syn_synchronizer lib;
/* [app_api] */

SYN_FUNCTIONS_DEFINE(app, APP)

/* [gen_await] */
/* Runs on app: iterates lib's count(n), awaiting each item, and returns
 * their sum. */
int
app_sum_count_impl(syn_task *t, int64_t n, int64_t *ret)
{
	calc_count_iter *it;
	int64_t          sum = 0;
	int              rc  = calc_count_open(lib, n, &it);
	while (rc == 0) {
		calc_count_next_t *f;
		int64_t            i;
		if ((rc = calc_count_next_future(it, &f)) != 0) {
			break;
		}
		/* this synchronizer goes on meanwhile */
		if ((rc = syn_await(t, SYN_FUTURE(f))) == 0 &&
		    (rc = calc_count_next_get(f, &i)) == 0) {
			sum += i;
		}
		calc_count_next_free(f);
	}
	calc_count_close(it); /* NULL when the open failed: harmless */
	*ret = sum;
	return rc == SYN_EEND ? 0 : rc; /* SYN_EEND: every item was seen */
}
/* [gen_await] */

/* [class_await] */
/* The seed's async_main: runs on app, and awaits each step on lib. */
int
app_async_main_impl(syn_task *t, syn_cstr *ret)
{
	db_ref               db = NULL;
	syn_cstr             data;
	db_new_t            *made;
	db_connect_future_t *c;
	db_query_future_t   *q;
	/* db_conn = DBConnection('tcp://localhost:1234') */
	int rc = db_new_future(lib, "tcp://localhost:1234", &made);
	if (rc == 0 && (rc = syn_await(t, SYN_FUTURE(made))) == 0) {
		rc = db_new_get(made, &db); /* a reference of our own */
	}
	if (made != NULL) {
		db_new_free(made);
	}
	/* await db_conn.connect.aio() */
	if (rc == 0 && (rc = db_connect_future(db, &c)) == 0) {
		if ((rc = syn_await(t, SYN_FUTURE(c))) == 0) {
			rc = db_connect_get(c); /* complete: does not wait */
		}
		db_connect_free(c);
	}
	/* data = await db_conn.query.aio('select * from foo') */
	if (rc == 0 &&
	    (rc = db_query_future(db, "select * from foo", &q)) == 0) {
		if ((rc = syn_await(t, SYN_FUTURE(q))) == 0 &&
		    (rc = db_query_get(q, &data)) == 0) {
			/* a malloc'd copy: *ret must live in the task */
			*ret = syn_task_printf(t, "%s", data).as.str;
			syn_typed_free(data);
		}
		db_query_free(q);
	}
	db_release(db); /* the last reference: the object is dropped */
	return rc;
}
/* [class_await] */

static void
blocking(syn_synchronizer s)
{
	/* [blocking] */
	int64_t r;
	check(calc_square(s, 42, &r), "square(42)"); /* blocks */
	printf("square(42) = %lld (blocking)\n", (long long) r);
	/* [blocking] */
	expect(r == 1764, "square(42) is 1764");
}

static void
future(syn_synchronizer s)
{
	/* [future] */
	calc_square_future_t *fut;
	int64_t               r;
	check(calc_square_future(s, 42, &fut), "square(42) future");
	check(calc_square_get(fut, &r), "get"); /* waits, then reads */
	printf("square(42) = %lld (future)\n", (long long) r);
	calc_square_free(fut);
	/* [future] */
	expect(r == 1764, "square(42) is 1764, as a future");
}

static void
with_aio(syn_synchronizer s)
{
	/* [aio] */
	nng_aio *aio;
	int64_t  r;
	check(nng_aio_alloc(&aio, NULL, NULL), "nng_aio_alloc");
	calc_square_aio(s, 42, aio); /* returns at once */
	nng_aio_wait(aio);           /* or give the aio a callback */
	check(calc_square_aio_get(aio, &r), "square(42) aio");
	printf("square(42) = %lld (nng_aio)\n", (long long) r);
	nng_aio_free(aio);
	/* [aio] */
	expect(r == 1764, "square(42) is 1764, through an nng_aio");
}

static void
ten_futures(syn_synchronizer s)
{
	/* [fanout] */
	calc_square_future_t *futs[10];
	double                t0 = now_ms();
	for (int i = 0; i < 10; i++) {
		check(calc_square_future(s, i, &futs[i]), "square(i)");
	}
	printf("first ten squares:");
	for (int i = 0; i < 10; i++) {
		int64_t r;
		check(calc_square_get(futs[i], &r), "get"); /* in turn */
		printf(" %lld", (long long) r);
		expect(r == i * i, "the futures resolve to the squares");
		calc_square_free(futs[i]);
	}
	double took = now_ms() - t0;
	printf("\n(ten calls of %d ms each took %.0f ms together)\n", SLEEP_MS,
	    took);
	/* [fanout] */
	expect(took < 5 * SLEEP_MS, "the ten calls sleep side by side");
}

static void
gen_blocking(syn_synchronizer s)
{
	/* [gen_blocking] */
	calc_count_iter *it;
	int64_t          item, items = 0;
	int              rc;
	check(calc_count_open(s, 3, &it), "open count(3)");
	printf("count(3):");
	while ((rc = calc_count_next(it, &item)) == 0) { /* blocks */
		printf(" %lld", (long long) item);
		expect(item == items++, "count hands out 0, 1, 2");
	}
	printf(" (then %s)\n", syn_errname(rc)); /* SYN_EEND: it returned */
	check(calc_count_close(it), "close");
	/* [gen_blocking] */
	expect(rc == SYN_EEND && items == 3, "three items, then SYN_EEND");
}

static void
gen_await(syn_synchronizer app)
{
	/* [gen_await_call] */
	int64_t sum;
	check(app_sum_count(app, 3, &sum), "sum_count(3)");
	printf("count(3) awaited by another synchronizer: sum %lld\n",
	    (long long) sum);
	/* [gen_await_call] */
	expect(sum == 0 + 1 + 2, "the items of count(3) sum to 3");
}

static void
gen_close(syn_synchronizer s)
{
	/* [gen_close] */
	calc_count_iter *it;
	check(calc_count_open(s, 1000, &it), "open count(1000)");
	check(calc_count_next(it, NULL), "item 0"); /* NULL: drop the item */
	check(calc_count_close(it), "close"); /* count sees SYN_EITERCLOSED */
	/* [gen_close] */
	printf("count(1000) closed after one item: %d cleanup\n",
	    atomic_load(&closed_early));
	expect(atomic_load(&closed_early) == 1,
	    "the cleanup ran once, before calc_count_close() returned");
}

static void
class_blocking(syn_synchronizer s)
{
	/* [class_blocking] */
	db_ref   db;
	syn_cstr data;
	check(db_new(s, "tcp://localhost:1234", &db), "DBConnection(url)");
	check(db_connect(db), "connect()");
	check(
	    db_query(db, "select * from foo", &data), "query(q)"); /* blocks */
	printf("data = %s (blocking)\n", data);
	expect(
	    strcmp(data, "tcp://localhost:1234 ran 'select * from foo'") == 0,
	    "query's result");
	syn_typed_free(data); /* a copy, the caller's */
	/* [class_blocking] */
	/* [class_url] */
	syn_cstr url;
	check(db_url(db, &url), "url()");
	expect(strcmp(url, "tcp://localhost:1234") == 0, "url");
	syn_typed_free(url);
	db_release(
	    db); /* the last reference: db_fini_impl runs on s's thread */
	         /* [class_url] */
}

static void
class_await(syn_synchronizer app)
{
	/* [class_await_call] */
	syn_cstr data;
	check(app_async_main(app, &data), "async_main()");
	printf("data = %s (awaited by another synchronizer)\n", data);
	/* [class_await_call] */
	expect(
	    strcmp(data, "tcp://localhost:1234 ran 'select * from foo'") == 0,
	    "query's result, awaited");
	syn_typed_free(data);
}

static void
with_blocks(syn_synchronizer s)
{
	/* [with] */
	ctx_ref mgr;
	int     rc;
	double  t0 = now_ms();
	check(ctx_new(s, EXIT_DELAY_MS, &mgr), "CtxMgr(exit_delay)");
	SYN_WITH(w, ctx_proxy(mgr), &rc)
	{
		printf("sleeping %d ms\n", EXIT_DELAY_MS); /* exit sleeps */
	}
	printf("done after %.0f ms, rc %d\n", now_ms() - t0, rc); /* rc 0 */
	/* [with] */
	expect(rc == 0 && now_ms() - t0 >= EXIT_DELAY_MS * 0.9,
	    "the block ends once exit has slept");
	/* [with_error] */
	SYN_WITH(w, ctx_proxy(mgr), &rc)
	{
		int64_t r;
		if ((w.rc = calc_square(s, INT64_MAX, &r)) != 0) {
			break; /* exit runs on the way out, and sees w.rc */
		}
		printf("not reached: %lld squared overflows\n", (long long) r);
	}
	printf("the block failed: %s\n", syn_errname(rc)); /* E_OVERFLOW */
	/* [with_error] */
	expect(rc == E_OVERFLOW && atomic_load(&exit_saw) == E_OVERFLOW,
	    "exit sees the block's error, and the block's caller gets it");
	ctx_release(mgr);
}

int
main(void)
{
	/* [setup] */
	syn_synchronizer s;
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(calc_register(s), "calc_register"); /* square and count */
	/* [setup] */
	blocking(s);
	future(s);
	with_aio(s);
	ten_futures(s);
	gen_blocking(s);
	/* [app_setup] */
	syn_synchronizer app; /* another synchronizer: the seed's async code */
	lib = s;
	check(syn_synchronizer_new(&app, NULL), "syn_synchronizer_new");
	check(app_register(app), "app_register");
	/* [app_setup] */
	gen_await(app);
	gen_close(s);
	/* [class_register] */
	check(db_register(s), "db_register"); /* the class "db" */
	/* [class_register] */
	class_blocking(s);
	class_await(app);
	check(ctx_register(s), "ctx_register");
	with_blocks(s);
	check(syn_synchronizer_destroy(app), "syn_synchronizer_destroy");
	check(syn_synchronizer_destroy(s), "syn_synchronizer_destroy");
	printf("DBConnection's fini ran %d times\n", atomic_load(&db_finis));
	expect(atomic_load(&db_finis) == 2, "each DBConnection dropped once");
	return failures == 0 ? 0 : 1;
}
