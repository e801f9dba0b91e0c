/*
 * A real database behind an actor: one SQLite connection, owned by one
 * synchronizer, used by eight threads at once.
 *
 * The store (sqlite_store.h, sqlite_store.c) is a class whose object
 * holds the connection to a database file in a temporary directory; its
 * methods run on the synchronizer's thread, one task at a time between
 * await points, so the eight threads share the connection without a lock
 * of their own. Each thread inserts ROWS rows (thread, i): the first half
 * with blocking calls, the second half as futures, BATCH in flight at
 * once. Between the halves, while the others go on inserting, it runs a
 * transaction with SYN_WITH: the block inserts TXN_ROWS more rows; on the
 * odd threads it then inserts its row 0 again, which fails (the table has
 * it already), so the block fails and exit rolls the transaction back.
 *
 * Then nothing may be lost, and nothing may be extra: the generator
 * rows() streams the whole table, and the program checks that every row
 * an insert reported came exactly once with its text, that the even
 * threads' transaction rows are there, and that none of the odd threads'
 * is (a rollback took back its own rows, and nobody else's).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"
#include "sqlite_rows.h"
#include "sqlite_store.h"

#define THREADS 8
#define ROWS 200   /* rows each thread inserts outside its transaction */
#define BATCH 10   /* futures in flight at once, per thread */
#define TXN_ROWS 5 /* rows each thread's transaction inserts */

static store_ref db;               /* made by main, shared by the threads */
static int       outcome[THREADS]; /* each thread's with-block outcome */

/* [blocking] */
/* Inserts rows from .. to - 1 of thread k, each with a blocking call. */
static void
insert_blocking(int64_t k, int64_t from, int64_t to)
{
	char    text[STORE_TEXT_MAX];
	int64_t id;
	for (int64_t i = from; i < to; i++) {
		row_text(text, sizeof(text), k, i);
		check(store_insert(db, k, i, text, &id), "insert"); /* blocks */
		expect(id > 0, "a row id");
	}
}
/* [blocking] */

/* A transaction of thread k: inserts its rows ROWS .. ROWS + TXN_ROWS -
 * 1; an odd k then inserts its row 0 again, which fails. Returns the
 * with-block's outcome. */
static int
transaction(int64_t k)
{
	int64_t again = k % 2 == 1 ? k : -1;
	int     rc = insert_in_transaction(db, k, ROWS, ROWS + TXN_ROWS, again);
	if (rc != 0 && k == 1) {
		printf("thread 1's transaction: %s: %s: rolled back\n",
		    syn_errname(rc), syn_last_error()->message);
	}
	return rc;
}

/* Reads back a few rows of thread k, blocking. */
static void
read_back(int64_t k)
{
	for (int64_t i = 0; i < ROWS; i += ROWS / 4) {
		syn_cstr text;
		check(store_get(db, k, i, &text), "get");
		expect(is_row_text(text, k, i), "get gives the row's text");
		syn_typed_free(text);
	}
	syn_cstr text;
	int      rc = store_get(db, k, ROWS + TXN_ROWS, &text);
	expect(rc == E_NOT_FOUND, "no such row");
}

/* One of the THREADS threads: its rows, its transaction in between. */
static void *
worker(void *arg)
{
	int64_t k = (int64_t) (intptr_t) arg;
	insert_blocking(k, 0, ROWS / 2);
	outcome[k] = transaction(k); /* the others go on inserting */
	insert_futures(db, k, ROWS / 2, ROWS, BATCH);
	read_back(k);
	return NULL;
}

/* Whether (thread, i) is a row the table must have once: every row
 * inserted outside a transaction, and the even threads' transactions'. */
static bool
wanted(int64_t thread, int64_t i)
{
	return i < ROWS || thread % 2 == 0;
}

/* Streams every row with the generator and checks that each wanted row
 * came exactly once and no other did. Returns how many rows came. */
static int64_t
stream_and_check(void)
{
	row_tally *seen = tally_new(THREADS, ROWS + TXN_ROWS);
	/* [stream] */
	store_rows_iter *it;
	syn_vptr         row;
	int              rc;
	check(store_rows_open(db, -1, &it), "rows"); /* -1: every thread */
	while ((rc = store_rows_next(it, &row)) == 0) {
		check_row(row, seen);
		syn_vptr_free(row);
	}
	check(store_rows_close(it), "close");
	/* [stream] */
	return check_stream(seen, rc, wanted);
}

/* The rows of one thread, streamed: ROWS, and TXN_ROWS more if even. */
static void
stream_one(int64_t k)
{
	store_rows_iter *it;
	int64_t          rows = 0;
	check(store_rows_open(db, k, &it), "rows(k)");
	while (store_rows_next(it, NULL) == 0) { /* NULL: drop each row */
		rows++;
	}
	check(store_rows_close(it), "close");
	expect(rows == ROWS + (k % 2 == 0 ? TXN_ROWS : 0), "rows(k)");
}

int
main(void)
{
	char dir[256], path[300];
	make_temp_dir(dir, sizeof(dir), "sqlite_db");
	snprintf(path, sizeof(path), "%s/store.db", dir);

	/* [setup] */
	syn_synchronizer s;
	syn_config       cfg = { .name = "sqlite" };
	check(syn_synchronizer_new(&s, &cfg), "syn_synchronizer_new");
	check(store_classes_register(s), "store_classes_register");
	check(store_new(s, path, &db), "store_new"); /* opens the file */
	/* [setup] */

	pthread_t threads[THREADS];
	double    t0 = now_ms();
	for (intptr_t k = 0; k < THREADS; k++) {
		pthread_create(&threads[k], NULL, worker, (void *) k);
	}
	for (int k = 0; k < THREADS; k++) {
		pthread_join(threads[k], NULL);
		expect(outcome[k] == (k % 2 == 1 ? E_CONSTRAINT : 0),
		    "even threads commit, odd ones roll back");
	}
	double took = now_ms() - t0;

	int64_t count, rows = stream_and_check();
	check(store_count(db, &count), "count");
	int64_t want = THREADS * ROWS + THREADS / 2 * TXN_ROWS;
	stream_one(0);
	stream_one(1);
	printf("%d threads inserted %d rows each (half blocking, half as "
	       "futures) and ran a transaction, in %.0f ms\n",
	    THREADS, ROWS, took);
	printf("streamed %lld rows, count() = %lld, %lld wanted: each "
	       "(thread, i) once, the rolled-back ones absent\n",
	    (long long) rows, (long long) count, (long long) want);
	expect(rows == want && count == want, "nothing lost, nothing extra");

	store_release(db); /* the last reference: the connection closes */
	check(syn_synchronizer_destroy(s), "destroy");
	remove_temp_dir(dir, path);
	printf("%s\n", failures == 0 ? "all well" : "failed");
	return failures == 0 ? 0 : 1;
}
