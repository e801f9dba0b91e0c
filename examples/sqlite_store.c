/*
 * The store of sqlite_store.h: an SQLite connection owned by a
 * synchronizer, and its transactions.
 *
 * Where the SQLite calls run. They block the thread that makes them,
 * briefly: with this database (a temporary file in WAL mode with
 * synchronous=NORMAL, so a COMMIT writes to the WAL without an fsync),
 * an insert that is its own transaction took about 40 us on the
 * development machine, a lookup by key about 6 us. This file runs them
 * directly on the synchronizer's thread, in its tasks. Offloading them
 * with syn_run_blocking() would not make the store faster: one
 * connection runs one statement at a time wherever it runs, and nearly
 * every call of the store needs it, so the thread would have little else
 * to do meanwhile. It would add a hop to the pool and back (about 30 us,
 * as much as an insert) and, worse, let the synchronizer run its other
 * tasks while a statement is in flight on the pool: they could then use
 * the connection at the same time, which would need a lock around it,
 * and a task could no longer count on nothing changing between its step
 * and its reset. Run on the thread, every statement is atomic with
 * respect to the other tasks, as any code between two await points is.
 * The price: a slow statement (a scan of a large table, a COMMIT to a
 * disk that fsyncs) stalls every caller of the synchronizer meanwhile. A
 * store with such statements would run them on the pool, each with a
 * connection of its own (or be a SYN_CLASS_BLOCKING class, whose calls
 * on one object take turns on the pool); this one has none.
 *
 * Statements never span an await point: each runs from its bind to its
 * reset inside one stretch of a task. The generator rows() reads a page
 * of rows at a time, copies it, resets its statement, and only then
 * yields, so a transaction can begin between two pages; the stream sees
 * each page as committed at the time it was read.
 */
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h> /* nng_clock() */
#include <sqlite3.h>
#include <synchronicity.h>

#include "sqlite_store.h"

#define ROWS_PAGE 64   /* rows read per statement by the generator */
#define TURN_POLL_MS 1 /* how often a waiting statement looks again */
#define BUSY_MS 5000   /* how long it waits, at most: then E_BUSY */

/* [state] */
/* A store: the connection and its prepared statements. Only the
 * synchronizer's thread touches it: no lock. */
struct store_state {
	sqlite3      *db;
	sqlite3_stmt *insert, *get, *count, *page;
	txn_state    *holder; /* the transaction between BEGIN and its end */
};

/* A transaction: its store, kept alive while the transaction lives. */
struct txn_state {
	store_state *store;
	bool         holds; /* between enter and exit: BEGIN ran */
};
/* [state] */

SYN_CLASS_DEFINE(txn, TXN)
SYN_CLASS_DEFINE(store, STORE)

static const char schema[] = "PRAGMA journal_mode = WAL;"
                             "PRAGMA synchronous = NORMAL;"
                             "CREATE TABLE IF NOT EXISTS entries ("
                             " id INTEGER PRIMARY KEY,"
                             " thread INTEGER NOT NULL,"
                             " i INTEGER NOT NULL,"
                             " text TEXT NOT NULL,"
                             " UNIQUE (thread, i))";

/* The classes on s: txn first, which store's transaction() makes. */
int
store_classes_register(syn_synchronizer s)
{
	int rc = txn_register(s);
	return rc != 0 ? rc : store_register(s);
}

/* Raises the error of SQLite's last call on db, which returned rc:
 * E_CONSTRAINT for a row that is there already, else E_SQL. */
static int
raise_sql(syn_task *t, sqlite3 *db, int rc)
{
	int code = (rc & 0xff) == SQLITE_CONSTRAINT ? E_CONSTRAINT : E_SQL;
	return syn_raise(t, code, "%s", sqlite3_errmsg(db));
}

/* Finalizes the statements and closes the connection; self is zeroed,
 * or holds what open_store() got before it failed. */
static void
close_store(store_state *self)
{
	sqlite3_finalize(self->insert); /* NULL is harmless */
	sqlite3_finalize(self->get);
	sqlite3_finalize(self->count);
	sqlite3_finalize(self->page);
	sqlite3_close(self->db);
}

/* Prepares sql into *st, for the connection's lifetime. */
static int
prepare(syn_task *t, store_state *self, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v3(
	    self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
	return rc == SQLITE_OK ? 0 : raise_sql(t, self->db, rc);
}

/* Opens the database at path, makes the table, prepares the
 * statements. The connection is used by this thread alone, one task at
 * a time: it needs no mutex of SQLite's (SQLITE_OPEN_NOMUTEX). */
static int
open_store(syn_task *t, store_state *self, const char *path)
{
	int flags =
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	int rc = sqlite3_open_v2(path, &self->db, flags, NULL);
	if (rc != SQLITE_OK) {
		return self->db == NULL
		    ? syn_raise(t, SYN_ENOMEM, "sqlite3_open_v2")
		    : raise_sql(t, self->db, rc);
	}
	rc = sqlite3_exec(self->db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		return raise_sql(t, self->db, rc);
	}
	if ((rc = prepare(t, self,
	         "INSERT INTO entries (thread, i, text) VALUES (?1, ?2, ?3)",
	         &self->insert)) != 0 ||
	    (rc = prepare(t, self,
	         "SELECT text FROM entries WHERE thread = ?1 AND i = ?2",
	         &self->get)) != 0 ||
	    (rc = prepare(
	         t, self, "SELECT count(*) FROM entries", &self->count)) != 0) {
		return rc;
	}
	return prepare(t, self,
	    "SELECT id, thread, i, text FROM entries"
	    " WHERE id > ?1 AND (?2 < 0 OR thread = ?2) ORDER BY id LIMIT ?3",
	    &self->page);
}

/* __init__(path): runs as a task; on failure there is no object, and
 * no fini, so it closes what it opened. */
int
store_init_impl(syn_task *t, store_state *self, syn_cstr path)
{
	int rc = open_store(t, self, path);
	if (rc != 0) {
		close_store(self);
	}
	return rc;
}

/* Runs once, on the synchronizer's thread, when the last reference goes
 * (a transaction holds one: none is open then). */
void
store_fini_impl(store_state *self)
{
	close_store(self);
}

/* [turn] */
/* Waits until no transaction holds the connection, BUSY_MS at most: the
 * task sleeps, the synchronizer serves other calls meanwhile (among
 * them the transaction's). The library has no event a task could await
 * here, so the task looks again every TURN_POLL_MS. Once it returns 0,
 * the caller's statement runs before the task's next await point: no
 * transaction can begin in between. */
static int
wait_turn(syn_task *t, store_state *self)
{
	nng_time deadline = nng_clock() + BUSY_MS;
	while (self->holder != NULL) {
		if (nng_clock() >= deadline) {
			return syn_raise(t, E_BUSY,
			    "a transaction held the database for %d ms",
			    BUSY_MS);
		}
		int rc = syn_sleep(t, TURN_POLL_MS);
		if (rc != 0) {
			return rc; /* SYN_ECANCELED */
		}
	}
	return 0;
}
/* [turn] */

/* [insert] */
/* Inserts (thread, i, text) and stores its id in *id. The caller holds
 * the turn: it waited for it, or is the transaction. */
static int
insert_row(syn_task *t, store_state *self, int64_t thread, int64_t i,
    syn_cstr text, int64_t *id)
{
	if (strlen(text) >= STORE_TEXT_MAX) {
		return syn_raise(t, SYN_EINVAL, "text longer than %d bytes",
		    STORE_TEXT_MAX - 1);
	}
	sqlite3_stmt *st = self->insert;
	sqlite3_bind_int64(st, 1, thread);
	sqlite3_bind_int64(st, 2, i);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		*id = sqlite3_last_insert_rowid(self->db);
		rc  = 0;
	} else {
		rc = raise_sql(t, self->db, rc); /* before the reset */
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st); /* text goes away with the call */
	return rc;
}

/* insert(thread, i, text): a statement of its own, once it is its turn;
 * returns the row's id. */
int
store_insert_impl(syn_task *t, store_state *self, int64_t thread, int64_t i,
    syn_cstr text, int64_t *ret)
{
	int rc = wait_turn(t, self);
	return rc != 0 ? rc : insert_row(t, self, thread, i, text, ret);
}
/* [insert] */

/* get(thread, i): the row's text, or E_NOT_FOUND. */
int
store_get_impl(
    syn_task *t, store_state *self, int64_t thread, int64_t i, syn_cstr *ret)
{
	int rc = wait_turn(t, self);
	if (rc != 0) {
		return rc;
	}
	sqlite3_stmt *st = self->get;
	sqlite3_bind_int64(st, 1, thread);
	sqlite3_bind_int64(st, 2, i);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) { /* copied: the column goes at the reset */
		const char *text = (const char *) sqlite3_column_text(st, 0);
		*ret             = syn_task_printf(t, "%s", text).as.str;
	} else if (step == SQLITE_DONE) {
		rc = syn_raise(t, E_NOT_FOUND, "no row (%lld, %lld)",
		    (long long) thread, (long long) i);
	} else {
		rc = raise_sql(t, self->db, step);
	}
	sqlite3_reset(st);
	return rc;
}

/* count(): how many rows the table has. */
int
store_count_impl(syn_task *t, store_state *self, int64_t *ret)
{
	int rc = wait_turn(t, self);
	if (rc != 0) {
		return rc;
	}
	int step = sqlite3_step(self->count);
	if (step == SQLITE_ROW) {
		*ret = sqlite3_column_int64(self->count, 0);
	} else {
		rc = raise_sql(t, self->db, step);
	}
	sqlite3_reset(self->count);
	return rc;
}

/* A row as the generator keeps it between its statement and its yields. */
typedef struct entry {
	int64_t id, thread, i;
	char    text[STORE_TEXT_MAX];
} entry;

/* Reads the next page: up to ROWS_PAGE rows of thread (every thread when
 * thread < 0) with ids above after, into page; *n is how many. */
static int
read_page(syn_task *t, store_state *self, int64_t thread, int64_t after,
    entry *page, int *n)
{
	sqlite3_stmt *st = self->page;
	int           rc;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, thread);
	sqlite3_bind_int(st, 3, ROWS_PAGE);
	for (*n = 0; (rc = sqlite3_step(st)) == SQLITE_ROW; (*n)++) {
		entry *e  = &page[*n];
		e->id     = sqlite3_column_int64(st, 0);
		e->thread = sqlite3_column_int64(st, 1);
		e->i      = sqlite3_column_int64(st, 2);
		snprintf(e->text, sizeof(e->text), "%s",
		    (const char *) sqlite3_column_text(st, 3));
	}
	rc = rc == SQLITE_DONE ? 0 : raise_sql(t, self->db, rc);
	sqlite3_reset(st);
	return rc;
}

/* Hands out the n rows of page, each as [thread, i, text]. */
static int
yield_page(syn_task *t, const entry *page, int n)
{
	int rc = 0;
	for (int k = 0; rc == 0 && k < n; k++) {
		syn_value cells[3] = { syn_int(page[k].thread),
			syn_int(page[k].i), syn_str(page[k].text) };
		syn_value row      = syn_list(cells, 3);
		rc                 = store_rows_yield(t, &row); /* encoded */
	}
	return rc;
}

/* [rows] */
/* rows(thread): a generator. Each page is read in one go when it is the
 * store's turn, then handed out row by row; a page shorter than
 * ROWS_PAGE is the last. */
int
store_rows_impl(syn_task *t, store_state *self, int64_t thread)
{
	entry   page[ROWS_PAGE]; /* on the generator's stack */
	int64_t after = 0;       /* the id of the last row handed out */
	int     n     = ROWS_PAGE;
	int     rc    = 0;
	while (rc == 0 && n == ROWS_PAGE) {
		if ((rc = wait_turn(t, self)) != 0 ||
		    (rc = read_page(t, self, thread, after, page, &n)) != 0) {
			break;
		}
		rc    = yield_page(t, page, n);
		after = n > 0 ? page[n - 1].id : after;
	}
	return rc == SYN_EITERCLOSED ? 0 : rc; /* closed early: no error */
}
/* [rows] */

/* [transaction] */
/* transaction(): a new transaction object of this store. It is made
 * here, on the store's synchronizer, so that it can point at the store,
 * which it keeps alive (syn_object_retain) until its fini. The caller
 * gets a proxy of it. */
int
store_transaction_impl(syn_task *t, store_state *self, txn_ref *ret)
{
	void *made;
	int   rc = syn_object_new(t, "txn", NULL, 0, &made);
	if (rc != 0) {
		return rc;
	}
	txn_state *tx = made;
	tx->store     = self;
	syn_object_retain(self);
	*ret = txn_self(tx);
	return 0;
}
/* [transaction] */

/* A transaction made by txn_new() has no store: its enter fails. */
int
txn_init_impl(syn_task *t, txn_state *self)
{
	return 0;
}

/* [enter] */
/* __aenter__: once no other transaction holds the connection, BEGIN, and
 * hold it: the store's other statements wait until exit. */
int
txn_enter_impl(syn_task *t, txn_state *self, syn_vptr *ret)
{
	store_state *store = self->store;
	if (store == NULL || self->holds) {
		return syn_raise(t, SYN_ESTATE,
		    store == NULL ? "not made by store_transaction()"
		                  : "entered already");
	}
	int rc = wait_turn(t, store);
	if (rc != 0) {
		return rc;
	}
	if ((rc = sqlite3_exec(store->db, "BEGIN IMMEDIATE", NULL, NULL,
	         NULL)) != SQLITE_OK) {
		return raise_sql(t, store->db, rc);
	}
	store->holder = self;
	self->holds   = true;
	return 0; /* *ret stays NULL: the block's value is nil */
}
/* [enter] */

/* insert(thread, i, text), inside the transaction. */
int
txn_insert_impl(syn_task *t, txn_state *self, int64_t thread, int64_t i,
    syn_cstr text, int64_t *ret)
{
	if (!self->holds) {
		return syn_raise(t, E_NO_TXN, "insert outside enter and exit");
	}
	return insert_row(t, self->store, thread, i, text, ret);
}

/* Gives the connection back to the store's other statements. */
static void
let_go(txn_state *self)
{
	self->holds         = false;
	self->store->holder = NULL;
}

/* [exit] */
/* __aexit__: given the block's outcome. COMMIT when the block succeeded,
 * ROLLBACK when it failed; a COMMIT that fails is rolled back too, and
 * its error is the with-block's outcome. */
int
txn_exit_impl(syn_task *t, txn_state *self, int64_t rc, syn_vptr message)
{
	(void) message; /* the block's error, for a log */
	if (!self->holds) {
		return 0;
	}
	sqlite3 *db = self->store->db;
	int      end =
	    sqlite3_exec(db, rc == 0 ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	int err = end == SQLITE_OK ? 0 : raise_sql(t, db, end);
	if (!sqlite3_get_autocommit(db)) { /* still open: COMMIT failed */
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	let_go(self);
	return err;
}
/* [exit] */

/* [txn_fini] */
/* Runs once, on the synchronizer's thread, when the last reference goes.
 * A transaction dropped between enter and exit (its client went away)
 * is rolled back. */
void
txn_fini_impl(txn_state *self)
{
	if (self->holds) {
		sqlite3_exec(self->store->db, "ROLLBACK", NULL, NULL, NULL);
		let_go(self);
	}
	if (self->store != NULL) {
		syn_object_release(self->store); /* may run store's fini */
	}
}
/* [txn_fini] */
