/*
 * A real database behind an actor: the interface of the store, an SQLite
 * connection owned by one synchronizer, and of its transactions.
 *
 * A store object holds one connection to one database file and a table
 * of entries: (thread, i) -> text, each (thread, i) at most once. Its
 * methods run as tasks on the synchronizer's thread, the only thread that
 * touches the connection, so the connection needs no lock. A transaction
 * is an object the store hands out (store_transaction()) and a context
 * manager: SYN_WITH on it runs BEGIN at enter, and at exit COMMIT when
 * the block succeeded, ROLLBACK when it failed. While a transaction holds
 * the connection, the store's other statements wait their turn (without
 * blocking the thread), so no caller sees rows that may yet be rolled
 * back, and a rollback takes back nobody else's rows. Inside the block,
 * statements go through the transaction (txn_insert()): a store call
 * made there would wait for the transaction, which waits for the block,
 * and fail with E_BUSY after 5 s.
 *
 * sqlite_store.c is the implementation; sqlite_db.c, sqlite_cache.c and
 * sqlite_serve.c are three programs that use it, and sqlite_rows.h is
 * what they share beside it.
 */
#ifndef SQLITE_STORE_H
#define SQLITE_STORE_H

#include <synchronicity.h>

/* The store's errors, raised with sqlite3_errmsg()'s text or their own. */
#define E_SQL SYN_EUSER(1)        /* SQLite failed */
#define E_CONSTRAINT SYN_EUSER(2) /* (thread, i) is there already */
#define E_NOT_FOUND SYN_EUSER(3)  /* no row (thread, i) */
#define E_BUSY SYN_EUSER(4)       /* a transaction held it too long */
#define E_NO_TXN SYN_EUSER(5)     /* a transaction's insert before enter */

#define STORE_TEXT_MAX 64 /* the longest text, its NUL included */

/* [api] */
/* The instances: defined by sqlite_store.c, and seen only there. */
typedef struct store_state store_state;
typedef struct txn_state   txn_state;

/* A transaction on a store, from store_transaction(): a context manager.
 * Its insert runs inside it, between enter and exit. */
#define TXN(F0, F1, F2, F3, F4, C)                                          \
	F0(C, INIT, init, void)                                             \
	F0(C, FUNC, enter, syn_vptr)                                        \
	F3(C, FUNC, insert, int64_t, int64_t, thread, int64_t, i, syn_cstr, \
	    text)                                                           \
	F2(C, PROC, exit, void, int64_t, rc, syn_vptr, message)
SYN_CLASS_DECLARE(txn, TXN)

/* A connection to one database file: store_new(s, path, &db) (a path
 * ":memory:" for a database in memory). rows(thread) streams the rows of
 * a thread (every row: thread -1) as lists [thread, i, text], in the
 * order they were inserted. */
#define STORE(F0, F1, F2, F3, F4, C)                                        \
	F1(C, INIT, init, void, syn_cstr, path)                             \
	F3(C, FUNC, insert, int64_t, int64_t, thread, int64_t, i, syn_cstr, \
	    text)                                                           \
	F2(C, FUNC, get, syn_cstr, int64_t, thread, int64_t, i)             \
	F0(C, FUNC, count, int64_t)                                         \
	F1(C, GEN, rows, syn_vptr, int64_t, thread)                         \
	F0(C, FUNC, transaction, txn_ref)
SYN_CLASS_DECLARE(store, STORE)
/* [api] */

/* Registers the classes a store needs on s: store, and txn for its
 * transactions. Returns 0, or the first registration's error. */
int store_classes_register(syn_synchronizer s);

#endif /* SQLITE_STORE_H */
