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
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"
#include "sqlite_store.h"

#define ROWS 200    /* the client's rows (thread 0) */
#define BATCH 50    /* futures in flight at once */
#define TXN_ROWS 5  /* rows of each transaction */
#define COMMITTED 1 /* the thread number of the committed transaction's */
#define FAILED 2    /* ... of the one whose block fails */
#define CRASHED 3   /* ... of the crashed client's */
#define NUMBERS 4   /* thread numbers 0 .. 3 */

/* How long the server may take to start, each client to end, and the
 * server to stop. A run takes about 100 ms; but a connection's destroy
 * can wait 5 s for nng 1.5.2's close (core/nngclose.h). */
#define START_MS 3000
#define RUN_MS 8000
#define STOP_MS 8000

extern char **environ;

/* [api] */
/* The server's store: open(path) makes it, for the server's own use;
 * store() hands it out, and is what the server exports. */
#define SHARED(F0, F1, F2, F3, F4, C)           \
	F1(C, PROC, open, void, syn_cstr, path) \
	F0(C, FUNC, store, store_ref)
SYN_FUNCTIONS_DECLARE(shared, SHARED)
/* [api] */

SYN_FUNCTIONS_DEFINE(shared, SHARED)

/* The text of row (thread, i). */
static void
row_text(char *buf, size_t size, int64_t thread, int64_t i)
{
	snprintf(buf, size, "thread %lld row %lld", (long long) thread,
	    (long long) i);
}

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

/* Makes a directory of its own under $TMPDIR (or /tmp) in dir. */
static void
make_temp_dir(char *dir, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, size, "%s/sqlite_serve.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
}

/* Removes dir/name, and dir/name-wal, -shm and -journal, which SQLite
 * may leave. */
static void
remove_db(const char *dir, const char *name)
{
	static const char *const suffixes[] = { "", "-wal", "-shm",
		"-journal" };
	char                     file[512];
	for (size_t j = 0; j < sizeof(suffixes) / sizeof(suffixes[0]); j++) {
		snprintf(file, sizeof(file), "%s/%s%s", dir, name, suffixes[j]);
		unlink(file);
	}
}

/* Waits until the coordinator closes this process's stdin. */
static void
wait_stdin_closed(void)
{
	char buf[64];
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
		continue;
	}
}

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
	check(txn_register(s), "txn_register");
	check(store_register(s), "store_register");
	check(shared_register(s), "shared_register");
	check(shared_open(s, path), "shared_open"); /* opens the file */

	/* Only shared_store: a client reaches the store and the
	 * transactions it is handed, and makes no store of its own. */
	static const char *const exports[] = { "shared_store", NULL };
	syn_serve_config serving = { .exports = exports, .ipc_mode = 0600 };
	serving.max_message      = 64 * 1024; /* a larger request: cut off */
	check(syn_serve(s, url, &serving, NULL, 0), "syn_serve");
	printf("%s\n", url); /* ipc:///tmp/sqlite_serve.XXXXXX/store.sock */
	fflush(stdout);
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
	char        dir[200], sock[256];
	struct stat st;
	make_temp_dir(dir, sizeof(dir));
	snprintf(sock, sizeof(sock), "%s/store.sock", dir);
	syn_synchronizer s = serve_store(dir);
	expect(stat(sock, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "the socket is the server's user's alone");
	wait_stdin_closed();

	int64_t n = count_rows(s);
	fprintf(stderr, "server: %lld rows in the database\n", (long long) n);
	expect(n == ROWS + TXN_ROWS, "the client's rows, committed ones only");
	check(syn_synchronizer_destroy(s), "destroy"); /* drops the store */
	remove_db(dir, "store.db");
	unlink(sock); /* if the listener left it */
	if (rmdir(dir) != 0) {
		perror("rmdir");
		failures++;
	}
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

/* Inserts rows from .. to - 1 of thread 0 as futures, BATCH at once. */
static void
insert_futures(store_ref db, int64_t from, int64_t to)
{
	store_insert_future_t *fs[BATCH];
	char                   text[STORE_TEXT_MAX];
	for (int64_t i = from; i < to; i += BATCH) {
		int n = to - i < BATCH ? (int) (to - i) : BATCH;
		for (int j = 0; j < n; j++) {
			row_text(text, sizeof(text), 0, i + j);
			check(store_insert_future(db, 0, i + j, text, &fs[j]),
			    "insert future");
		}
		for (int j = 0; j < n; j++) {
			check(store_insert_get(fs[j], NULL), "insert get");
			store_insert_free(fs[j]);
		}
	}
}

/* Reads the rows of thread 0 back, BATCH futures at once, and checks
 * their texts. */
static void
read_back(store_ref db)
{
	store_get_future_t *fs[BATCH];
	char                expected[STORE_TEXT_MAX];
	for (int64_t i = 0; i < ROWS; i += BATCH) {
		int n = ROWS - i < BATCH ? (int) (ROWS - i) : BATCH;
		for (int j = 0; j < n; j++) {
			check(store_get_future(db, 0, i + j, &fs[j]), "get");
		}
		for (int j = 0; j < n; j++) {
			syn_cstr text;
			check(store_get_get(fs[j], &text), "get get");
			row_text(expected, sizeof(expected), 0, i + j);
			expect(strcmp(text, expected) == 0, "the row's text");
			syn_typed_free(text);
			store_get_free(fs[j]);
		}
	}
}

/* [with] */
/* A transaction of TXN_ROWS rows of thread k, on the server; when fail,
 * the block then inserts row (0, 0) again, which fails. Returns the
 * with-block's outcome: 0 once committed, else the block's error. */
static int
transaction(store_ref db, int64_t k, bool fail)
{
	txn_ref tx; /* a proxy: the transaction lives on the server */
	int     rc;
	char    text[STORE_TEXT_MAX];
	check(store_transaction(db, &tx), "transaction");
	SYN_WITH(w, txn_proxy(tx), &rc) /* enter: BEGIN, on the server */
	{
		for (int64_t i = 0; w.rc == 0 && i < TXN_ROWS; i++) {
			row_text(text, sizeof(text), k, i);
			w.rc = txn_insert(tx, k, i, text, NULL);
		}
		if (w.rc == 0 && fail) {
			w.rc = txn_insert(tx, 0, 0, "again", NULL);
		}
	} /* exit: COMMIT or ROLLBACK, on the server */
	txn_release(tx);
	return rc;
}
/* [with] */

/* Checks that row is [thread, i, text] of a row that may be there, and
 * counts it in seen. */
static void
check_row(const syn_value *row, int seen[NUMBERS][ROWS])
{
	char expected[STORE_TEXT_MAX];
	if (row->type != SYN_TYPE_LIST || row->len != 3 ||
	    row->as.list[0].type != SYN_TYPE_INT ||
	    row->as.list[1].type != SYN_TYPE_INT ||
	    row->as.list[2].type != SYN_TYPE_STR) {
		expect(false, "a row is [thread, i, text]");
		return;
	}
	int64_t k = row->as.list[0].as.i, i = row->as.list[1].as.i;
	if (k < 0 || k >= NUMBERS || i < 0 || i >= ROWS) {
		expect(false, "a row that was inserted");
		return;
	}
	row_text(expected, sizeof(expected), k, i);
	expect(strcmp(row->as.list[2].as.str, expected) == 0, "its text");
	seen[k][i]++;
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
	static int seen[NUMBERS][ROWS];
	int64_t    rows = 0;
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
		rows++;
	}
	check(syn_iter_close(it), "close");
	/* [stream] */
	expect(rc == SYN_EEND, "the stream ended");
	int wrong = 0;
	for (int64_t k = 0; k < NUMBERS; k++) {
		for (int64_t i = 0; i < ROWS; i++) {
			wrong += seen[k][i] != (wanted(k, i) ? 1 : 0);
		}
	}
	expect(wrong == 0, "every row once, no rolled-back row");
	return rows;
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
	insert_futures(db, ROWS / 2, ROWS);
	read_back(db);
	int     committed = transaction(db, COMMITTED, false);
	int     failed    = transaction(db, FAILED, true);
	int64_t rows      = stream_and_check(db);
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

/* ---- the coordinator (spawn, read_line, wait_exit as in db_serve.c) --- */

/* Starts this program as args[1..], with stdin and stdout from fds[0]
 * and fds[1] when not -1. Returns its pid, or -1. */
static pid_t
spawn(char *const args[], const int fds[2])
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 2; i++) {
		if (fds[i] >= 0) {
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
		}
	}
	pid_t pid;
	int   rc = posix_spawnp(&pid, args[0], &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "spawn %s: %s\n", args[1], strerror(rc));
		return -1;
	}
	return pid;
}

/* Reads a line from fd into buf (size bytes, without its newline),
 * waiting until deadline (now_ms()) at most. Returns 0 or -1. */
static int
read_line(int fd, char *buf, size_t size, double deadline)
{
	for (size_t n = 0; n + 1 < size; n++) {
		struct pollfd pfd  = { .fd = fd, .events = POLLIN };
		int           left = (int) (deadline - now_ms());
		if (left <= 0 || poll(&pfd, 1, left) != 1 ||
		    read(fd, &buf[n], 1) != 1) {
			return -1;
		}
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
	}
	return -1;
}

/* Waits until deadline at most for pid to exit, and kills it past that.
 * Returns 0 when it exited with status 0, else -1. */
static int
wait_exit(pid_t pid, const char *who, double deadline)
{
	int   status;
	pid_t got;
	while ((got = waitpid(pid, &status, WNOHANG)) == 0 &&
	    now_ms() < deadline) {
		usleep(5000);
	}
	if (got == 0) {
		fprintf(stderr, "%s: still running: killed\n", who);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	if (got < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: failed\n", who);
		return -1;
	}
	return 0;
}

/* Starts the server, its stdin and stdout piped here, and reads the
 * address it took from its first line. Closing *to_server stops it.
 * Returns its pid, or -1 (then nothing is left running). */
static pid_t
start_server(const char *self, int *to_server, char *url, size_t size)
{
	int in[2], out[2]; /* close-on-exec: the children get none of them */
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
		perror("pipe2");
		return -1;
	}
	char *const args[] = { (char *) self, "server", NULL };
	pid_t       pid    = spawn(args, (int[2]) { in[0], out[1] });
	close(in[0]);
	close(out[1]);
	if (pid > 0 && read_line(out[0], url, size, now_ms() + START_MS) != 0) {
		fprintf(stderr, "the server did not start\n");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(out[0]); /* the server writes nothing more there */
	if (pid < 0) {
		close(in[1]);
	}
	*to_server = in[1];
	return pid;
}

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

/* The coordinator: the server, the crashing client, the client, then
 * the server's stop. Returns 0 when all of them ended well. */
static int
coordinator(const char *self)
{
	char  url[300];
	int   to_server;
	pid_t server_pid = start_server(self, &to_server, url, sizeof(url));
	if (server_pid < 0) {
		return 1;
	}
	printf("server at %s\n", url);
	fflush(stdout); /* before the clients write to the same stdout */
	int bad = run_client(self, "crash", url) != 0;
	bad += run_client(self, "client", url) != 0;
	close(to_server); /* its stdin closes: it stops serving, and exits */
	bad += wait_exit(server_pid, "server", now_ms() + STOP_MS) != 0;
	printf("%s\n", bad == 0 ? "all well" : "failed");
	return bad == 0 ? 0 : 1;
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
	return coordinator(argv[0]);
}
