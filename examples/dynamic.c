/*
 * The layer underneath: the seed README's first sections on the dynamic
 * API, which the typed layer (examples/demo.c) generates its code for.
 *
 * The seed's f(x), written against syn_value arguments and registered
 * with a syn_func_def, called blocking, as a future and through an
 * nng_aio; its generator, registered with SYN_KIND_GENERATOR, iterated
 * blocking and awaited from another synchronizer; DBConnection as a
 * syn_class_def, called through a syn_proxy; CtxMgr with SYN_WITH. Last,
 * a typed function called on this layer, by the name it is registered
 * under, where its generated glue checks what the compiler could not.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <synchronicity.h>

#include "example.h"

#define SLEEP_MS 100
#define ITEM_MS 100       /* count's sleep before each item */
#define CONNECT_MS 100    /* how long DBConnection.connect takes */
#define EXIT_DELAY_MS 200 /* CtxMgr's exit_delay */

static atomic_int closed_early;  /* runs of count closed before their end */
static atomic_int db_finis;      /* DBConnection objects dropped */
static atomic_int exit_saw = -1; /* the outcome CtxMgr's exit was given */

/* [impl] */
/* The implementation: runs as a task on the synchronizer's thread. */
static int
f(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x;
	int     rc = syn_unpack(t, args, nargs, "i", &x);
	if (rc != 0) {
		return rc; /* a clear error: wrong count or type */
	}
	if ((rc = syn_sleep(t, SLEEP_MS)) != 0) {
		return rc; /* cancelled, or the synchronizer closes */
	}
	*ret = syn_int(x * x);
	return 0;
}
/* [impl] */

/* [gen_impl] */
/* The seed's generator f(n): sleeps, then hands out i, for i from 0 to
 * n-1. It runs only while its consumer asks for an item. */
static int
count(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = syn_sleep(t, ITEM_MS)) == 0) {
			syn_value item = syn_int(i);
			rc = syn_yield(t, &item, NULL); /* 0: asked again */
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

/* [gen_await] */
/* Runs on another synchronizer: iterates count(n) of the synchronizer in
 * its userdata, awaiting each item, and returns their sum. */
static int
sum_count(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const syn_synchronizer *src = syn_task_userdata(t);
	syn_iter               *it;
	int64_t                 sum = 0;
	int rc = syn_iter_open(*src, "count", args, nargs, NULL, &it);
	while (rc == 0) {
		syn_future      *f;
		const syn_value *item;
		if ((rc = syn_iter_next_future(it, NULL, &f)) != 0) {
			break;
		}
		rc = syn_await(t, f); /* this synchronizer goes on meanwhile */
		if (rc == 0 && (rc = syn_future_value(f, &item)) == 0) {
			sum += item->as.i;
		}
		syn_future_free(f);
	}
	syn_iter_close(it); /* NULL when the open failed: harmless */
	*ret = syn_int(sum);
	return rc == SYN_EEND ? 0 : rc; /* SYN_EEND: every item was seen */
}
/* [gen_await] */

/* [class_impl] */
/* The seed's DBConnection. An instance is this struct: self. */
typedef struct db_connection {
	char url[64];
	bool connected; /* the seed's self._connection */
} db_connection;

/* __init__(self, url): runs as a task of the synchronizer; may await. */
static int
db_init(syn_task *t, void *self, const syn_value *args, size_t nargs)
{
	db_connection *db = self; /* zeroed */
	const char    *url;
	int            rc = syn_unpack(t, args, nargs, "s", &url);
	if (rc == 0 && strlen(url) >= sizeof(db->url)) {
		rc = syn_raise(t, SYN_EINVAL, "url too long: %s", url);
	}
	if (rc == 0) {
		strcpy(db->url, url);
	}
	return rc; /* on failure there is no object, and no fini */
}

/* async def connect(self) */
static int
db_connect(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	int rc = syn_unpack(t, args, nargs, ""); /* no arguments */
	if (rc == 0 && (rc = syn_sleep(t, CONNECT_MS)) == 0) {
		((db_connection *) self)->connected = true;
	}
	return rc;
}

/* async def query(self, q) */
static int
db_query(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	db_connection *db = self;
	const char    *q;
	int            rc = syn_unpack(t, args, nargs, "s", &q);
	if (rc == 0 && !db->connected) {
		rc = syn_raise(t, SYN_EUSER(1), "not connected to %s", db->url);
	}
	if (rc == 0) {
		*ret = syn_task_printf(t, "%s ran '%s'", db->url, q);
	}
	return rc;
}
/* [class_impl] */

/* [class_def] */
/* A getter: the seed's attributes are reachable only through these. */
static int
db_url(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	*ret = syn_str(((db_connection *) self)->url); /* self outlives it */
	return 0;
}

/* Runs once, on the synchronizer's thread, when the object is dropped. */
static void
db_fini(void *self)
{
	(void) self; /* a real client closes its connection here */
	atomic_fetch_add(&db_finis, 1);
}

static const syn_method_def db_methods[] = {
	{ "connect", SYN_KIND_FUNCTION, db_connect, 0 },
	{ "query", SYN_KIND_FUNCTION, db_query, 0 },
	{ "url", SYN_KIND_FUNCTION, db_url, SYN_METHOD_GETTER },
};

static const syn_class_def db_class = {
	.name     = "DBConnection",
	.size     = sizeof(db_connection),
	.init     = db_init,
	.fini     = db_fini,
	.methods  = db_methods,
	.nmethods = sizeof(db_methods) / sizeof(db_methods[0]),
};
/* [class_def] */

/* [class_await] */
/* The seed's async_main: runs on another synchronizer, and awaits each
 * step on the synchronizer in its userdata. */
static int
async_main(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const syn_synchronizer *s   = syn_task_userdata(t);
	syn_value               url = syn_str("tcp://localhost:1234");
	syn_value               q   = syn_str("select * from foo");
	syn_proxy              *db  = NULL;
	syn_future             *f;
	const syn_value        *v;
	/* db_conn = DBConnection('tcp://localhost:1234') */
	int rc = syn_new_future(*s, "DBConnection", &url, 1, &f);
	if (rc == 0 && (rc = syn_await(t, f)) == 0) {
		syn_future_value(f, &v);
		/* The proxy is f's: take a reference to keep it. */
		db = syn_proxy_ref(v->as.proxy);
	}
	syn_future_free(f); /* NULL when the call failed: harmless */
	/* await db_conn.connect.aio() */
	if (rc == 0 &&
	    (rc = syn_invoke_future(db, "connect", NULL, 0, &f)) == 0) {
		rc = syn_await(t, f); /* this synchronizer goes on meanwhile */
		syn_future_free(f);
	}
	/* await db_conn.query.aio('select * from foo') */
	if (rc == 0 && (rc = syn_invoke_future(db, "query", &q, 1, &f)) == 0) {
		if ((rc = syn_await(t, f)) == 0) {
			syn_future_value(f, &v);
			/* A copy: v goes with f. */
			*ret = syn_task_printf(t, "%s", v->as.str);
		}
		syn_future_free(f);
	}
	syn_proxy_release(db); /* the last proxy: the object is dropped */
	return rc;
}
/* [class_await] */

/* [ctx_impl] */
/* The seed's CtxMgr: its exit sleeps exit_delay milliseconds. */
typedef struct ctx_mgr {
	int64_t exit_delay;
} ctx_mgr;

static int
ctx_init(syn_task *t, void *self, const syn_value *args, size_t nargs)
{
	return syn_unpack(t, args, nargs, "i", &((ctx_mgr *) self)->exit_delay);
}

/* __aenter__: what it returns is the block's value (the seed's "as z"). */
static int
ctx_enter(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	return 0; /* *ret stays nil: the seed's returns None */
}

/* __aexit__: given the block's outcome, a code (0: none) and a message. */
static int
ctx_exit(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	int64_t          rc;
	const syn_value *message = NULL; /* a string, or nil when rc is 0 */
	int              urc = syn_unpack(t, args, nargs, "i|v", &rc, &message);
	if (urc != 0) {
		return urc;
	}
	atomic_store(&exit_saw, (int) rc);
	return syn_sleep(t, ((ctx_mgr *) self)->exit_delay); /* may await */
}

static const syn_method_def ctx_methods[] = {
	{ "enter", SYN_KIND_FUNCTION, ctx_enter, 0 },
	{ "exit", SYN_KIND_FUNCTION, ctx_exit, 0 },
};

static const syn_class_def ctx_class = {
	.name     = "CtxMgr",
	.size     = sizeof(ctx_mgr),
	.init     = ctx_init,
	.methods  = ctx_methods,
	.nmethods = sizeof(ctx_methods) / sizeof(ctx_methods[0]),
};
/* [ctx_impl] */

/* [meet] */
/* A typed interface: its entries are registered on this layer, each as
 * a function named prefix_entry, here "typed_twice". */
#define TYPED(F0, F1, F2, F3, F4, C) F1(C, FUNC, twice, int64_t, int64_t, x)
SYN_FUNCTIONS_DECLARE(typed, TYPED)
SYN_FUNCTIONS_DEFINE(typed, TYPED)

int
typed_twice_impl(syn_task *t, int64_t x, int64_t *ret)
{
	*ret = 2 * x;
	return 0;
}
/* [meet] */

static void
blocking(syn_synchronizer s)
{
	/* [blocking] */
	syn_value  arg = syn_int(42);
	syn_result res = SYN_RESULT_INIT;
	check(syn_call(s, "f", &arg, 1, &res), "f(42)"); /* blocks */
	printf("f(42) = %lld (blocking)\n", (long long) res.value.as.i);
	syn_result_fini(&res);
	/* [blocking] */
}

static void
future(syn_synchronizer s)
{
	/* [future] */
	syn_value        arg = syn_int(42);
	syn_future      *fut;
	const syn_value *v;
	check(syn_call_future(s, "f", &arg, 1, &fut), "f(42) future");
	check(syn_future_wait(fut), "wait"); /* or poll, or a timeout */
	check(syn_future_value(fut, &v), "value");
	printf("f(42) = %lld (future)\n", (long long) v->as.i);
	syn_future_free(fut);
	/* [future] */
}

static void
with_aio(syn_synchronizer s)
{
	/* [aio] */
	nng_aio   *aio;
	syn_value  arg = syn_int(42);
	syn_result res = SYN_RESULT_INIT;
	check(nng_aio_alloc(&aio, NULL, NULL), "nng_aio_alloc");
	syn_call_aio(s, "f", &arg, 1, aio); /* returns at once */
	nng_aio_wait(aio);                  /* or give the aio a callback */
	check(syn_aio_result(aio, &res), "f(42) aio");
	printf("f(42) = %lld (nng_aio)\n", (long long) res.value.as.i);
	syn_result_fini(&res);
	nng_aio_free(aio);
	/* [aio] */
}

static void
gen_blocking(syn_synchronizer s)
{
	/* [gen_blocking] */
	syn_value  n = syn_int(3);
	syn_iter  *it;
	syn_result item  = SYN_RESULT_INIT;
	int64_t    items = 0;
	int        rc;
	check(syn_iter_open(s, "count", &n, 1, NULL, &it), "open count(3)");
	printf("count(3):");
	while ((rc = syn_iter_next(it, &item)) == 0) { /* blocks */
		printf(" %lld", (long long) item.value.as.i);
		expect(item.value.as.i == items++, "count hands out 0, 1, 2");
		syn_result_fini(&item);
	}
	printf(" (then %s)\n", syn_errname(rc)); /* SYN_EEND: it returned */
	check(syn_iter_close(it), "close");
	/* [gen_blocking] */
	expect(rc == SYN_EEND && items == 3, "three items, then SYN_EEND");
}

static void
gen_await(syn_synchronizer s)
{
	syn_synchronizer app;
	syn_value        n   = syn_int(3);
	syn_result       res = SYN_RESULT_INIT;
	/* sum_count's userdata: the synchronizer that serves count */
	const syn_func_def def = { "sum_count", SYN_KIND_FUNCTION, sum_count,
		&s };
	check(syn_synchronizer_new(&app, NULL), "syn_synchronizer_new");
	check(syn_register(app, &def), "syn_register");
	check(syn_call(app, "sum_count", &n, 1, &res), "sum_count(3)");
	printf("count(3) awaited by another synchronizer: sum %lld\n",
	    (long long) res.value.as.i);
	expect(res.value.as.i == 0 + 1 + 2, "the items of count(3) sum to 3");
	syn_result_fini(&res);
	check(syn_synchronizer_destroy(app), "syn_synchronizer_destroy");
}

static void
class_blocking(syn_synchronizer s)
{
	/* [class_blocking] */
	syn_proxy *db;
	syn_value  url  = syn_str("tcp://localhost:1234");
	syn_value  q    = syn_str("select * from foo");
	syn_result data = SYN_RESULT_INIT;
	check(syn_new(s, "DBConnection", &url, 1, &db), "DBConnection(url)");
	check(syn_invoke(db, "connect", NULL, 0, NULL), "connect()");
	check(syn_invoke(db, "query", &q, 1, &data), "query(q)"); /* blocks */
	printf("data = %s (blocking)\n", data.value.as.str);
	expect(strcmp(data.value.as.str,
	           "tcp://localhost:1234 ran 'select * from foo'") == 0,
	    "query's result");
	syn_result_fini(&data);
	/* [class_blocking] */
	/* [class_getter] */
	syn_result got = SYN_RESULT_INIT;
	check(syn_get(db, "url", &got), "url"); /* a getter, read blocking */
	expect(strcmp(got.value.as.str, "tcp://localhost:1234") == 0, "url");
	syn_result_fini(&got);
	syn_proxy_release(db); /* the last proxy: db_fini runs on s's thread */
	                       /* [class_getter] */
}

static void
class_await(syn_synchronizer s)
{
	syn_synchronizer app;
	syn_result       res = SYN_RESULT_INIT;
	/* async_main's userdata: the synchronizer that serves DBConnection */
	const syn_func_def def = { "async_main", SYN_KIND_FUNCTION, async_main,
		&s };
	check(syn_synchronizer_new(&app, NULL), "syn_synchronizer_new");
	check(syn_register(app, &def), "syn_register");
	check(syn_call(app, "async_main", NULL, 0, &res), "async_main()");
	printf(
	    "data = %s (awaited by another synchronizer)\n", res.value.as.str);
	expect(strcmp(res.value.as.str,
	           "tcp://localhost:1234 ran 'select * from foo'") == 0,
	    "query's result, awaited");
	syn_result_fini(&res);
	check(syn_synchronizer_destroy(app), "syn_synchronizer_destroy");
}

static void
with_blocks(syn_synchronizer s)
{
	/* [with] */
	syn_proxy *mgr;
	syn_value  delay = syn_int(EXIT_DELAY_MS);
	int        rc;
	double     t0 = now_ms();
	check(syn_new(s, "CtxMgr", &delay, 1, &mgr), "CtxMgr(exit_delay)");
	SYN_WITH(w, mgr, &rc)
	{
		printf("sleeping %d ms\n", EXIT_DELAY_MS); /* exit sleeps */
	}
	printf("done after %.0f ms, rc %d\n", now_ms() - t0, rc); /* rc 0 */
	/* [with] */
	expect(rc == 0 && now_ms() - t0 >= EXIT_DELAY_MS * 0.9 &&
	        atomic_load(&exit_saw) == 0,
	    "the block ends once exit has slept, given the block's success");
	syn_proxy_release(mgr);
}

static void
meet(syn_synchronizer s)
{
	/* [meet_call] */
	syn_value  arg = syn_int(21);
	syn_value  bad = syn_str("twenty-one");
	syn_result res = SYN_RESULT_INIT;
	check(typed_register(s), "typed_register");
	check(syn_call(s, "typed_twice", &arg, 1, &res), "typed_twice(21)");
	printf("typed_twice(21) = %lld, called by name\n",
	    (long long) res.value.as.i);
	syn_result_fini(&res);
	int rc = syn_call(s, "typed_twice", &bad, 1, NULL); /* the glue */
	printf("%s: %s\n", syn_errname(rc), syn_last_error()->message);
	/* SYN_EBADTYPE: typed_twice: argument 0 (x) is str */
	/* [meet_call] */
	expect(rc == SYN_EBADTYPE &&
	        strcmp(syn_last_error()->message,
	            "typed_twice: argument 0 (x) is str") == 0,
	    "the glue checks the arguments of a call by name");
	int64_t r;
	check(typed_twice(s, 21, &r), "typed_twice(s, 21, &r)");
	expect(r == 42, "the same function, called typed");
}

int
main(void)
{
	/* [setup] */
	syn_synchronizer   s;
	const syn_func_def def = {
		.name = "f", .kind = SYN_KIND_FUNCTION, .fn = f
	};
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(syn_register(s, &def), "syn_register");
	/* [setup] */
	blocking(s);
	future(s);
	with_aio(s);
	/* [gen_register] */
	const syn_func_def gen = {
		.name = "count", .kind = SYN_KIND_GENERATOR, .fn = count
	};
	check(syn_register(s, &gen), "syn_register");
	/* [gen_register] */
	gen_blocking(s);
	gen_await(s);
	/* [class_register] */
	check(syn_register_class(s, &db_class), "syn_register_class");
	/* [class_register] */
	class_blocking(s);
	class_await(s);
	check(syn_register_class(s, &ctx_class), "syn_register_class");
	with_blocks(s);
	meet(s);
	check(syn_synchronizer_destroy(s), "syn_synchronizer_destroy");
	printf("DBConnection's fini ran %d times\n", atomic_load(&db_finis));
	expect(atomic_load(&db_finis) == 2, "each DBConnection dropped once");
	return failures == 0 ? 0 : 1;
}
