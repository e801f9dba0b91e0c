/*
 * A cache actor in front of the database actor: two synchronizers,
 * composed.
 *
 * The store of sqlite_store.c (an SQLite connection, here to a database
 * in memory) runs on one synchronizer, "db"; a cache runs on another,
 * "cache", with a table of the rows it has read. The cache's get(thread,
 * i) answers a hit from its table at once; on a miss its task starts the
 * store's get as a future and awaits it: the task suspends, and the
 * cache's thread serves other calls, hits included, until the database
 * answers. put(thread, i, text) writes through: it awaits the store's
 * insert, then keeps the row.
 *
 * The program fills the database, then eight threads read through the
 * cache at once: first each thread the rows of its own number (every one
 * a miss), then each the rows of its neighbour (every one a hit). Then,
 * while a transaction holds the database, a miss waits for it and a hit
 * does not. Last, rows put through the cache are hits, and a row that is
 * nowhere is a miss each time, with the store's error. Every text is
 * checked, and the cache's counts of hits and misses must be exact.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synchronicity.h>

#include "example.h"
#include "sqlite_rows.h"
#include "sqlite_store.h"

#define THREADS 8
#define ROWS 100   /* rows of each thread number in the database */
#define PUTS 10    /* rows written through the cache */
#define SLOTS 4096 /* the cache's table: room for every row read here */
#define HELD 8     /* the thread number of the row a transaction adds */
#define PUT 9      /* the thread number of the rows put */
#define NOWHERE 99 /* a thread number with no rows */

/* [api] */
/* The cache: a synchronizer of its own, in front of the store. */
#define CACHE(F0, F1, F2, F3, F4, C)                                           \
	F2(C, FUNC, get, syn_cstr, int64_t, thread, int64_t, i)                \
	F3(C, FUNC, put, int64_t, int64_t, thread, int64_t, i, syn_cstr, text) \
	F0(C, FUNC, hits, int64_t)                                             \
	F0(C, FUNC, misses, int64_t)
SYN_FUNCTIONS_DECLARE(cache, CACHE)

/* Typed implementations have no userdata: the tasks find these here. */
static syn_synchronizer cache;
static store_ref        database; /* a proxy: the store lives on "db" */
/* [api] */

SYN_FUNCTIONS_DEFINE(cache, CACHE)

/* The cache's state: only its tasks touch it, on its thread: no lock.
 * An open-addressing table that never forgets (a full table keeps
 * nothing more). */
static struct slot {
	bool    used;
	int64_t thread, i;
	char    text[STORE_TEXT_MAX];
} table[SLOTS];
static int64_t hits, misses;

/* The slot of (thread, i), or the free slot where it would go; NULL
 * when it is not there and the table is full. */
static struct slot *
slot_of(int64_t thread, int64_t i)
{
	uint64_t h = (uint64_t) thread * 0x9e3779b97f4a7c15u ^ (uint64_t) i;
	for (size_t n = 0; n < SLOTS; n++) {
		struct slot *s = &table[(h + n) % SLOTS];
		if (!s->used || (s->thread == thread && s->i == i)) {
			return s;
		}
	}
	return NULL;
}

/* The text kept for (thread, i), or NULL. */
static const char *
table_find(int64_t thread, int64_t i)
{
	struct slot *s = slot_of(thread, i);
	return s != NULL && s->used ? s->text : NULL;
}

/* Keeps text as the row (thread, i). */
static void
table_keep(int64_t thread, int64_t i, const char *text)
{
	struct slot *s = slot_of(thread, i);
	if (s != NULL) {
		s->used   = true;
		s->thread = thread;
		s->i      = i;
		snprintf(s->text, sizeof(s->text), "%s", text);
	}
}

/* [get] */
/* Runs on cache. A hit answers at once; a miss awaits the store's get,
 * while the cache serves other calls, and keeps the row. */
int
cache_get_impl(syn_task *t, int64_t thread, int64_t i, syn_cstr *ret)
{
	const char *hit = table_find(thread, i);
	if (hit != NULL) {
		hits++;
		*ret = hit; /* the table outlives the reply */
		return 0;
	}
	misses++;
	store_get_future_t *f;
	syn_cstr            text;
	int                 rc = store_get_future(database, thread, i, &f);
	if (rc != 0) {
		return rc;
	}
	if ((rc = syn_await(t, SYN_FUTURE(f))) == 0 && /* suspends */
	    (rc = store_get_get(f, &text)) == 0) {     /* at once */
		table_keep(thread, i, text);
		*ret = syn_task_printf(t, "%s", text).as.str;
		syn_typed_free(text);
	}
	store_get_free(f);
	return rc; /* E_NOT_FOUND passes on, with the store's message */
}
/* [get] */

/* [put] */
/* Runs on cache: writes through. Awaits the store's insert, then keeps
 * the row, so that a get of it is a hit; returns the row's id. */
int
cache_put_impl(
    syn_task *t, int64_t thread, int64_t i, syn_cstr text, int64_t *ret)
{
	store_insert_future_t *f;
	int rc = store_insert_future(database, thread, i, text, &f);
	if (rc != 0) {
		return rc;
	}
	if ((rc = syn_await(t, SYN_FUTURE(f))) == 0 &&
	    (rc = store_insert_get(f, ret)) == 0) {
		table_keep(thread, i, text); /* text lives as long as t */
	}
	store_insert_free(f);
	return rc;
}
/* [put] */

/* Runs on cache: how many gets it answered from its table. */
int
cache_hits_impl(syn_task *t, int64_t *ret)
{
	*ret = hits;
	return 0;
}

/* Runs on cache: how many gets it had to ask the database for. */
int
cache_misses_impl(syn_task *t, int64_t *ret)
{
	*ret = misses;
	return 0;
}

/* ---- the program ------------------------------------------------------ */

/* Fills the database: ROWS rows of each thread number, straight into the
 * store (the cache does not see them). */
static void
fill(void)
{
	char text[STORE_TEXT_MAX];
	for (int64_t k = 0; k < THREADS; k++) {
		for (int64_t i = 0; i < ROWS; i++) {
			row_text(text, sizeof(text), k, i);
			check(
			    store_insert(database, k, i, text, NULL), "insert");
		}
	}
}

/* Reads the ROWS rows of thread number k through the cache, blocking,
 * and checks their texts. */
static void *
read_rows(void *arg)
{
	int64_t k = (int64_t) (intptr_t) arg;
	for (int64_t i = 0; i < ROWS; i++) {
		syn_cstr text;
		check(cache_get(cache, k, i, &text), "get");
		expect(is_row_text(text, k, i), "get gives the row's text");
		syn_typed_free(text);
	}
	return NULL;
}

/* THREADS threads at once, thread r reading the rows of number r + shift
 * (modulo THREADS); returns how long they took, in ms. */
static double
read_all(int shift)
{
	pthread_t threads[THREADS];
	double    t0 = now_ms();
	for (intptr_t r = 0; r < THREADS; r++) {
		void *k = (void *) ((r + shift) % THREADS);
		pthread_create(&threads[r], NULL, read_rows, k);
	}
	for (int r = 0; r < THREADS; r++) {
		pthread_join(threads[r], NULL);
	}
	return now_ms() - t0;
}

/* While a transaction holds the database, a miss waits for it and a hit
 * does not: the cache's task that awaits the database holds no thread. */
static void
while_held(void)
{
	/* [held] */
	txn_ref             tx;
	cache_get_future_t *miss;
	int                 rc, pending = 0;
	syn_cstr            text;
	double              hit_ms = 0;
	check(store_transaction(database, &tx), "transaction");
	SYN_WITH(w, txn_proxy(tx), &rc) /* the store's other calls wait */
	{
		w.rc = txn_insert(tx, HELD, 0, "added in a transaction", NULL);
		/* a miss: its task awaits the store, which waits for exit */
		check(cache_get_future(cache, HELD, 0, &miss), "get future");
		double t0 = now_ms(); /* a hit meanwhile: answered at once */
		check(cache_get(cache, 0, 0, &text), "get hit");
		hit_ms = now_ms() - t0;
		syn_typed_free(text);
		pending = syn_future_poll(SYN_FUTURE(miss)) == SYN_EAGAIN;
	} /* exit: COMMIT; the store answers the miss */
	txn_release(tx);
	check(rc, "the transaction");
	check(cache_get_get(miss, &text), "get miss");
	cache_get_free(miss);
	/* [held] */
	printf("while a transaction held the database: a hit took %.2f ms, "
	       "a miss waited for the commit and got \"%s\"\n",
	    hit_ms, text);
	expect(pending, "the miss waited for the transaction");
	expect(strcmp(text, "added in a transaction") == 0, "the miss's row");
	syn_typed_free(text);
}

/* Rows written through the cache are in the database, and are hits. */
static void
write_through(void)
{
	char text[STORE_TEXT_MAX];
	for (int64_t i = 0; i < PUTS; i++) {
		row_text(text, sizeof(text), PUT, i);
		check(cache_put(cache, PUT, i, text, NULL), "put");
	}
	for (int64_t i = 0; i < PUTS; i++) {
		syn_cstr cached, stored;
		check(cache_get(cache, PUT, i, &cached), "get put row");
		check(store_get(database, PUT, i, &stored), "store get");
		expect(
		    is_row_text(cached, PUT, i) && is_row_text(stored, PUT, i),
		    "a row put is cached and stored");
		syn_typed_free(cached);
		syn_typed_free(stored);
	}
}

/* A row that is nowhere: the store's E_NOT_FOUND, through the cache,
 * each time (nothing is kept). */
static void
not_found(void)
{
	for (int n = 0; n < 2; n++) {
		syn_cstr         text;
		int              rc = cache_get(cache, NOWHERE, 0, &text);
		const syn_error *e  = syn_last_error();
		expect(rc == E_NOT_FOUND, "no such row");
		if (n == 0) {
			printf("get(%d, 0): %s: %s [%s]\n", NOWHERE,
			    syn_errname(rc), e->message, e->where);
		}
	}
}

int
main(void)
{
	/* [setup] */
	syn_synchronizer db;
	syn_config db_cfg = { .name = "db" }, cache_cfg = { .name = "cache" };
	check(syn_synchronizer_new(&db, &db_cfg), "db");
	check(syn_synchronizer_new(&cache, &cache_cfg), "cache");
	check(store_classes_register(db), "store_classes_register");
	check(store_new(db, ":memory:", &database), "store_new");
	check(cache_register(cache), "cache_register");
	/* [setup] */

	fill();
	double first  = read_all(0); /* each row once: misses */
	double second = read_all(1); /* rows read before: hits */
	printf("%d threads read %d rows each through the cache: %.0f ms "
	       "from the database, then %.0f ms from the cache\n",
	    THREADS, ROWS, first, second);
	while_held();
	write_through();
	not_found();

	int64_t h, m;
	check(cache_hits(cache, &h), "hits");
	check(cache_misses(cache, &m), "misses");
	int64_t want_h = THREADS * ROWS + 1 + PUTS,
	        want_m = THREADS * ROWS + 1 + 2;
	printf("hits %lld (%lld wanted), misses %lld (%lld wanted)\n",
	    (long long) h, (long long) want_h, (long long) m,
	    (long long) want_m);
	expect(h == want_h && m == want_m, "the cache's counts");

	store_release(database);
	check(syn_synchronizer_destroy(cache), "destroy cache");
	check(syn_synchronizer_destroy(db), "destroy db");
	printf("%s\n", failures == 0 ? "all well" : "failed");
	return failures == 0 ? 0 : 1;
}
