/*
 * What the SQLite examples (sqlite_db.c, sqlite_cache.c, sqlite_serve.c)
 * share beside the store itself: the text of each row they write, the
 * inserts as futures and in a transaction, the checks of the rows they
 * read back or stream, and the temporary directory that holds a
 * database file. The same calls work on a store of this process and on
 * one served by another (sqlite_serve.c).
 *
 * A row is (thread, i) -> "thread <thread> row <i>", and a streamed row
 * is the list [thread, i, text] (sqlite_store.h). The checks count what
 * is not so with expect(), in the failures of the program that includes
 * this file.
 */
#ifndef SQLITE_ROWS_H
#define SQLITE_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"
#include "sqlite_store.h"

/* The text of row (thread, i). */
static inline void
row_text(char *buf, size_t size, int64_t thread, int64_t i)
{
	snprintf(buf, size, "thread %lld row %lld", (long long) thread,
	    (long long) i);
}

/* Whether text is the text of row (thread, i). */
static inline bool
is_row_text(const char *text, int64_t thread, int64_t i)
{
	char expected[STORE_TEXT_MAX];
	row_text(expected, sizeof(expected), thread, i);
	return strcmp(text, expected) == 0;
}

#define INSERT_BATCH_MAX 64 /* the most futures insert_futures() keeps */

/* [futures] */
/* Inserts rows from .. to - 1 of thread k as futures, batch at a time
 * (INSERT_BATCH_MAX at most): a batch is sent, then its results are
 * read. */
static inline void
insert_futures(store_ref db, int64_t k, int64_t from, int64_t to, int batch)
{
	store_insert_future_t *fs[INSERT_BATCH_MAX];
	char                   text[STORE_TEXT_MAX];
	batch = batch < INSERT_BATCH_MAX ? batch : INSERT_BATCH_MAX;
	for (int64_t i = from; i < to; i += batch) {
		int n = to - i < batch ? (int) (to - i) : batch;
		for (int j = 0; j < n; j++) { /* returns at once */
			row_text(text, sizeof(text), k, i + j);
			check(store_insert_future(db, k, i + j, text, &fs[j]),
			    "insert future");
		}
		for (int j = 0; j < n; j++) {
			check(store_insert_get(fs[j], NULL), "insert get");
			store_insert_free(fs[j]);
		}
	}
}
/* [futures] */

/* [with] */
/* Inserts rows from .. to - 1 of thread k in a transaction of db, with
 * SYN_WITH. When again is a thread number (not -1), the block then
 * inserts that thread's row 0, which is there already: the insert
 * fails, so the block fails, and exit rolls the transaction back.
 * Returns the with-block's outcome: 0 once committed, else the block's
 * error. */
static inline int
insert_in_transaction(
    store_ref db, int64_t k, int64_t from, int64_t to, int64_t again)
{
	/* [txn_block] */
	txn_ref tx; /* a proxy: the transaction lives where db's store does */
	int     rc;
	char    text[STORE_TEXT_MAX];
	check(store_transaction(db, &tx), "transaction");
	SYN_WITH(w, txn_proxy(tx), &rc) /* enter: BEGIN */
	{
		for (int64_t i = from; w.rc == 0 && i < to; i++) {
			row_text(text, sizeof(text), k, i);
			w.rc = txn_insert(tx, k, i, text, NULL);
		}
		if (w.rc == 0 && again >= 0) { /* row 0 is there: it fails */
			w.rc = txn_insert(tx, again, 0, "again", NULL);
		}
	} /* exit: COMMIT when w.rc is 0, else ROLLBACK */
	txn_release(tx);
	return rc;
	/* [txn_block] */
}
/* [with] */

/* The rows a stream gave: how many, and how many times each row
 * (thread, i) came, for thread 0 .. threads - 1 and i 0 .. rows - 1. */
typedef struct row_tally {
	int64_t threads, rows;
	int64_t total;   /* the rows that came, whatever they were */
	int     count[]; /* count[thread * rows + i] */
} row_tally;

/* A tally of threads x rows rows, none seen yet. check_stream() frees
 * it. */
static inline row_tally *
tally_new(int64_t threads, int64_t rows)
{
	size_t     cells = (size_t) (threads * rows);
	row_tally *seen  = calloc(1, sizeof(*seen) + cells * sizeof(int));
	if (seen == NULL) {
		perror("calloc");
		exit(1);
	}
	seen->threads = threads;
	seen->rows    = rows;
	return seen;
}

/* Checks that row is [thread, i, text], with (thread, i) in seen's
 * range and the text of (thread, i), and counts it in seen (every row
 * counts in seen's total). */
static inline void
check_row(const syn_value *row, row_tally *seen)
{
	seen->total++;
	if (row->type != SYN_TYPE_LIST || row->len != 3 ||
	    row->as.list[0].type != SYN_TYPE_INT ||
	    row->as.list[1].type != SYN_TYPE_INT ||
	    row->as.list[2].type != SYN_TYPE_STR) {
		expect(false, "a row is [thread, i, text]");
		return;
	}
	int64_t k = row->as.list[0].as.i, i = row->as.list[1].as.i;
	if (k < 0 || k >= seen->threads || i < 0 || i >= seen->rows) {
		expect(false, "a row that was inserted");
		return;
	}
	expect(is_row_text(row->as.list[2].as.str, k, i), "its text");
	seen->count[k * seen->rows + i]++;
}

/* Checks a stream once it ended with rc: that it ran to its end, that
 * every row (thread, i) for which wanted(thread, i) came exactly once,
 * and that no other came (a rolled-back one, say). Frees seen; returns
 * how many rows came. */
static inline int64_t
check_stream(row_tally *seen, int rc, bool (*wanted)(int64_t thread, int64_t i))
{
	expect(rc == SYN_EEND, "the stream ended");
	int wrong = 0;
	for (int64_t k = 0; k < seen->threads; k++) {
		for (int64_t i = 0; i < seen->rows; i++) {
			int count = seen->count[k * seen->rows + i];
			wrong += count != (wanted(k, i) ? 1 : 0);
		}
	}
	expect(wrong == 0, "every row once, no rolled-back row");
	int64_t total = seen->total;
	free(seen);
	return total;
}

/* Makes a directory of its own, "$TMPDIR/<name>.XXXXXX" (or under
 * /tmp), in dir. */
static inline void
make_temp_dir(char *dir, size_t size, const char *name)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, size, "%s/%s.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", name);
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

/* Removes the database file at path (and the -wal, -shm and -journal
 * files SQLite may leave beside it), then dir, which must then be empty:
 * a failure counts in failures. */
static inline void
remove_temp_dir(const char *dir, const char *path)
{
	static const char *const suffixes[] = { "", "-wal", "-shm",
		"-journal" };
	char                     file[512];
	for (size_t j = 0; j < sizeof(suffixes) / sizeof(suffixes[0]); j++) {
		snprintf(file, sizeof(file), "%s%s", path, suffixes[j]);
		unlink(file);
	}
	if (rmdir(dir) != 0) {
		perror("rmdir");
		failures++;
	}
}

#endif /* SQLITE_ROWS_H */
