/*
 * The database actor served to other processes over ipc://.
 *
 * One program, four roles. Run without arguments, it is the coordinator:
 * it starts itself as the server ("sqlite_serve server", with
 * posix_spawn: nng cannot be used across a bare fork), reads from the
 * server's stdout the address it took, runs a client that crashes in the
 * middle of a transaction ("sqlite_serve crash URL"), then a client that
 * does its work ("sqlite_serve client URL"), and stops the server by
 * closing its stdin.
 *
 * The server makes a directory of its own under $TMPDIR, opens the store
 * of sqlite_store.c on a database file there, and serves its synchronizer
 * on a Unix domain socket in the same directory, which only its user may
 * connect to (ipc_mode 0600). It exports one function, shared_store(),
 * which hands a caller the server's store: the client gets a proxy, and
 * calls the store's methods, and the methods of the transactions it is
 * handed, as a local caller does. The classes themselves are not
 * exported: a client cannot open databases of its own choosing.
 *
 * The crashing client enters a transaction, inserts, and exits without
 * ending it. The server gives back what the connection held: the
 * transaction is dropped, its fini rolls it back, and the store is free
 * for the next client. That client inserts ROWS rows (blocking calls,
 * then futures), reads them back as futures, commits a transaction, has
 * another one fail and roll back, and streams the whole table through a
 * prefetch window, checking that every row it wrote came exactly once and
 * that no row of either rolled-back transaction did. The server checks
 * the table's size at the end, removes its files and says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"
#include "process.h"
#include "sqlite_rows.h"
#include "sqlite_store.h"

#define ROWS 200    /* the client's rows (thread 0) */
#define BATCH 50    /* futures in flight at once */
#define TXN_ROWS 5  /* rows of each transaction */
#define COMMITTED 1 /* the thread number of the committed transaction's */
#define FAILED 2    /* ... of the one whose block fails */
#define CRASHED 3   /* ... of the crashed client's */
#define NUMBERS 4   /* thread numbers 0 .. 3 */

/* How long each client may take to end, and the server to stop
 * (process.h has the server's start). A run takes about 100 ms; but a
 * connection's destroy can wait 5 s for nng 1.5.2's close
 * (core/nngclose.h). */
#define RUN_MS 8000
#define STOP_MS 8000

/* [api] */
/* The server's store: open(path) makes it, for the server's own use;
 * store() hands it out, and is what the server exports. */
#define SHARED(F0, F1, F2, F3, F4, C)           \
	F1(C, PROC, open, void, syn_cstr, path) \
	F0(C, FUNC, store, store_ref)
SYN_FUNCTIONS_DECLARE(shared, SHARED)
/* [api] */

SYN_FUNCTIONS_DEFINE(shared, SHARED)

/* ---- the server's side ------------------------------------------------ */

/* The server's store, an object of its synchronizer: only the
 * synchronizer's tasks touch the pointer. */
static store_state *the_store;

/* [shared] */
/* Runs on the server's synchronizer: makes the store, as an object of
 * its own (syn_object_new), which it keeps (syn_object_retain) until the
 * synchronizer is destroyed. */
int
shared_open_impl(syn_task *t, syn_cstr path)
{
	if (the_store != NULL) {
		return syn_raise(t, SYN_EEXIST, "the store is open already");
	}
	void     *made;
	syn_value arg = syn_str(path);
	int       rc  = syn_object_new(t, "store", &arg, 1, &made);
	if (rc == 0) {
		the_store = made;
		syn_object_retain(the_store);
	}
	return rc;
}

/* Runs on the server's synchronizer: hands the caller the store. The
 * object itself goes out (store_self), and the caller gets a proxy of
 * it, which it releases; a proxy the server holds could not go to
 * another process (SYN_ENOTSUP). */
int
shared_store_impl(syn_task *t, store_ref *ret)
{
	if (the_store == NULL) {
		return syn_raise(t, SYN_ESTATE, "the store is not open");
	}
	*ret = store_self(the_store);
	return 0;
}
/* [shared] */

/* [server] */
/* Opens the store on dir/store.db and serves it at dir/store.sock, a
 * socket only this user may connect to; prints the address. */
static syn_synchronizer
serve_store(const char *dir)
{
	char path[256], url[264];
	snprintf(path, sizeof(path), "%s/store.db", dir);
	snprintf(url, sizeof(url), "ipc://%s/store.sock", dir);

	syn_synchronizer s;
	syn_config       cfg = { .name = "server" };
	check(syn_synchronizer_new(&s, &cfg), "syn_synchronizer_new");
	check(store_classes_register(s), "store_classes_register");
	check(shared_register(s), "shared_register");
	check(shared_open(s, path), "shared_open"); /* opens the file */

	/* Only shared_store: a client reaches the store and the
	 * transactions it is handed, and makes no store of its own. */
	static const char *const exports[] = { "shared_store", NULL };
	syn_serve_config serving = { .exports = exports, .ipc_mode = 0600 };
	serving.max_message      = 64 * 1024; /* a larger request: cut off */
	check(syn_serve(s, url, &serving, NULL, 0), "syn_serve");
	print_address(url); /* ipc:///tmp/sqlite_serve.XXXXXX/store.sock */
	return s;
}
/* [server] */

/* The rows in the server's store, asked in-process. */
static int64_t
count_rows(syn_synchronizer s)
{
	store_ref db; /* the server's own proxy of its store */
	int64_t   n;
	check(shared_store(s, &db), "shared_store");
	check(store_count(db, &n), "count");
	store_release(db);
	return n;
}

/* The server: this program, started as "sqlite_serve server". It serves
 * until its stdin closes, checks the table, and removes its files. */
static int
server(void)
{
	char        dir[200], path[256], sock[256];
	struct stat st;
	make_temp_dir(dir, sizeof(dir), "sqlite_serve");
	snprintf(path, sizeof(path), "%s/store.db", dir); /* serve_store()'s */
	snprintf(sock, sizeof(sock), "%s/store.sock", dir);
	syn_synchronizer s = serve_store(dir);
	expect(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "the socket is the server's user's alone");
	wait_stdin_closed();

	int64_t n = count_rows(s);
	fprintf(stderr, "server: %lld rows in the database\n", (long long) n);
	expect(n == ROWS + TXN_ROWS, "the client's rows, committed ones only");
	check(syn_synchronizer_destroy(s), "destroy"); /* drops the store */
	unlink(sock); /* if the listener left it */
	remove_temp_dir(dir, path);
	return failures == 0 ? 0 : 1;
}

/* ---- the clients' side ------------------------------------------------ */

/* The crashing client: "sqlite_serve crash URL". It enters a
 * transaction, inserts, and exits with the transaction open. */
static int
crash(const char *url)
{
	syn_synchronizer r;
	store_ref        db;
	txn_ref          tx;
	char             text[STORE_TEXT_MAX];
	check(syn_connect(url, NULL, &r), "syn_connect");
	check(shared_store(r, &db), "shared_store");
	check(store_transaction(db, &tx), "transaction");
	check(txn_enter(tx, NULL), "enter"); /* BEGIN: the store is held */
	for (int64_t i = 0; i < TXN_ROWS; i++) {
		row_text(text, sizeof(text), CRASHED, i);
		check(txn_insert(tx, CRASHED, i, text, NULL), "insert");
	}
	printf("crash: a transaction entered, %d rows inserted: exiting\n",
	    TXN_ROWS);
	fflush(stdout);
	_exit(0); /* no exit, no release, no disconnect: a crash */
}

/* Inserts rows from .. to - 1 of thread 0 with blocking calls. */
static void
insert_blocking(store_ref db, int64_t from, int64_t to)
{
	char text[STORE_TEXT_MAX];
	for (int64_t i = from; i < to; i++) {
		row_text(text, sizeof(text), 0, i);
		check(store_insert(db, 0, i, text, NULL), "insert");
	}
}

/* Reads the rows of thread 0 back, BATCH futures at once, and checks
 * their texts. */
static void
read_back(store_ref db)
{
	store_get_future_t *fs[BATCH];
	for (int64_t i = 0; i < ROWS; i += BATCH) {
		int n = ROWS - i < BATCH ? (int) (ROWS - i) : BATCH;
		for (int j = 0; j < n; j++) {
			check(store_get_future(db, 0, i + j, &fs[j]), "get");
		}
		for (int j = 0; j < n; j++) {
			syn_cstr text;
			check(store_get_get(fs[j], &text), "get get");
			expect(is_row_text(text, 0, i + j), "the row's text");
			syn_typed_free(text);
			store_get_free(fs[j]);
		}
	}
}

/* Whether (thread, i) must be in the table, once: the client's rows and
 * the committed transaction's. */
static bool
wanted(int64_t thread, int64_t i)
{
	return thread == 0 || (thread == COMMITTED && i < TXN_ROWS);
}

/* Streams the whole table through a prefetch window and checks every
 * row. Returns how many rows came. */
static int64_t
stream_and_check(store_ref db)
{
	row_tally *seen = tally_new(NUMBERS, ROWS);
	/* [stream] */
	/* The typed store_rows_open() takes no configuration: a window
	 * takes syn_invoke_iter() on the proxy underneath. */
	syn_iter       *it;
	syn_iter_config cfg = { .prefetch = 64 }; /* 32 rows a message */
	syn_value       all = syn_int(-1);        /* every thread */
	syn_result      row = SYN_RESULT_INIT;
	int             rc;
	check(syn_invoke_iter(store_proxy(db), "rows", &all, 1, &cfg, &it),
	    "rows");
	while ((rc = syn_iter_next(it, &row)) == 0) {
		check_row(&row.value, seen);
		syn_result_fini(&row);
	}
	check(syn_iter_close(it), "close");
	/* [stream] */
	return check_stream(seen, rc, wanted);
}

/* The client: "sqlite_serve client URL". */
static int
client(const char *url)
{
	/* [client] */
	syn_synchronizer r; /* names the server's synchronizer */
	store_ref        db;
	check(syn_connect(url, NULL, &r), "syn_connect");
	check(shared_store(r, &db), "shared_store"); /* a proxy */
	insert_blocking(db, 0, ROWS / 2);
	insert_futures(db, 0, ROWS / 2, ROWS, BATCH);
	read_back(db);
	/* The second transaction inserts row (0, 0) again: it rolls back. */
	int committed = insert_in_transaction(db, COMMITTED, 0, TXN_ROWS, -1);
	int failed    = insert_in_transaction(db, FAILED, 0, TXN_ROWS, 0);
	int64_t rows  = stream_and_check(db);
	store_release(db);
	check(syn_synchronizer_destroy(r), "disconnect");
	/* [client] */

	printf("client: %d rows inserted and read back; transactions: %s, "
	       "%s; %lld rows streamed, each once\n",
	    ROWS, committed == 0 ? "committed" : syn_errname(committed),
	    failed == E_CONSTRAINT ? "rolled back" : syn_errname(failed),
	    (long long) rows);
	expect(committed == 0, "the first transaction commits");
	expect(failed == E_CONSTRAINT, "the second one fails, and rolls back");
	expect(rows == ROWS + TXN_ROWS, "the rows streamed");
	return failures == 0 ? 0 : 1;
}

/* ---- the coordinator (process.h) -------------------------------------- */

/* Runs this program as "ROLE URL" and waits for it; 0 when it ended
 * well. */
static int
run_client(const char *self, const char *role, const char *url)
{
	char *const args[] = { (char *) self, (char *) role, (char *) url,
		NULL };
	pid_t       pid    = spawn(args, (int[2]) { -1, -1 });
	return pid < 0 ? -1 : wait_exit(pid, role, now_ms() + RUN_MS);
}

/* The clients: the crashing one, then the one that does its work.
 * Returns how many did not end well. */
static int
run_clients(const char *self, const char *url)
{
	int bad = run_client(self, "crash", url) != 0;
	return bad + (run_client(self, "client", url) != 0);
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "server") == 0) {
		return server();
	}
	if (argc == 3 && strcmp(argv[1], "crash") == 0) {
		return crash(argv[2]);
	}
	if (argc == 3 && strcmp(argv[1], "client") == 0) {
		return client(argv[2]);
	}
	if (argc != 1) {
		fprintf(stderr, "usage: %s [server | crash URL | client URL]\n",
		    argv[0]);
		return 2;
	}
	return coordinate(argv[0], run_clients, STOP_MS);
}
