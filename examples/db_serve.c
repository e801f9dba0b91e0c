/*
 * A class served by one process and used by two others at once: the
 * seed's DBConnection, over nng.
 *
 * One program, three roles. Run without arguments, it is the coordinator:
 * it starts itself as the server ("db_serve server", with posix_spawn:
 * nng cannot be used across a bare fork), reads from the server's stdout
 * the address it took, starts two clients ("db_serve client URL N") side
 * by side, waits for both, and stops the server by closing its stdin.
 *
 * The server serves a synchronizer on tcp://127.0.0.1 (a port picked for
 * it) with the class DBConnection exported: a toy in-memory database with
 * a read-only table foo (row i is [i, "row i"]) and a table log that
 * insert() appends to. init(url) records the url, connect() awaits (a
 * sleep, as connecting to a real database would), fetch(q) returns the
 * rows of a query at once, query(q) streams them (a generator method).
 *
 * Each client makes its own DBConnection on the server (syn_new on the
 * connection: the object lives there, the client holds a proxy), connects
 * blocking, inserts a few rows, runs four queries as futures at once,
 * streams the whole table through a prefetch window, checks every row it
 * got, prints a line, and releases its proxy. The server, once its stdin
 * closes, says how many DBConnections were made and dropped: both, since
 * both clients released theirs.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"
#include "process.h"

#define SERVE_URL "tcp://127.0.0.1:0"
#define DB_URL "memory://shop" /* what a client asks the server to open */
#define CLIENTS 2              /* client processes, side by side */
#define CONNECT_MS 5           /* connect()'s wait */
#define FETCH_MS 50            /* fetch()'s wait: a slow query */
#define FOO_ROWS 1000          /* the rows of table foo */
#define TEXT 24                /* bytes of a row's text, "row i" */
#define INSERTS 5              /* rows each client adds to log */
#define QUERIES 4              /* fetches each client runs at once */

/* How long the clients may take to end (together), and the server to
 * stop (process.h has the server's start). A run takes about 100 ms; but
 * a connection's destroy can wait 5 s for nng 1.5.2's close
 * (core/nngclose.h). */
#define RUN_MS 8000
#define STOP_MS 2000

#define E_NO_DATABASE SYN_EUSER(1)
#define E_NOT_CONNECTED SYN_EUSER(2)
#define E_BAD_QUERY SYN_EUSER(3)

/* [api] */
/* One connection to the database: an object on the server. */
typedef struct DBConnection_state {
	char url[64];
	bool connected;
} DBConnection_state;

#define DB(F0, F1, F2, F3, F4, C)                   \
	F1(C, INIT, init, void, syn_cstr, url)      \
	F0(C, PROC, connect, void)                  \
	F1(C, FUNC, insert, int64_t, syn_cstr, row) \
	F1(C, FUNC, fetch, syn_vptr, syn_cstr, q)   \
	F1(C, GEN, query, syn_vptr, syn_cstr, q)
SYN_CLASS_DECLARE(DBConnection, DB)
/* [api] */

SYN_CLASS_DEFINE(DBConnection, DB)

/* ---- the server's side ---------------------------------------------- */

/* The DBConnections made and dropped: written by the synchronizer's
 * thread, read by the server's main thread at the end. */
static atomic_int made, dropped;

/* The rows of table log (the toy keeps only their number); only the
 * synchronizer's tasks touch it, but main reads it at the end. */
static atomic_llong log_rows;

/* Records the url: connect() connects. */
int
DBConnection_init_impl(syn_task *t, DBConnection_state *self, syn_cstr url)
{
	if (strlen(url) >= sizeof(self->url)) {
		return syn_raise(t, SYN_EINVAL, "url too long");
	}
	strcpy(self->url, url);
	atomic_fetch_add(&made, 1);
	return 0;
}

/* Runs once, on the synchronizer's thread, when the last proxy goes. */
void
DBConnection_fini_impl(DBConnection_state *self)
{
	(void) self;
	atomic_fetch_add(&dropped, 1);
}

/* Awaits the database (the server serves other calls meanwhile); the
 * toy has only memory:// ones. */
int
DBConnection_connect_impl(syn_task *t, DBConnection_state *self)
{
	if (strncmp(self->url, "memory://", 9) != 0) {
		return syn_raise(
		    t, E_NO_DATABASE, "no database at %s", self->url);
	}
	int rc = syn_sleep(t, CONNECT_MS);
	if (rc == 0) {
		self->connected = true;
	}
	return rc;
}

/* Appends row to log; returns how many rows log has now. */
int
DBConnection_insert_impl(
    syn_task *t, DBConnection_state *self, syn_cstr row, int64_t *ret)
{
	if (!self->connected) {
		return syn_raise(
		    t, E_NOT_CONNECTED, "%s: not connected", self->url);
	}
	*ret = atomic_fetch_add(&log_rows, 1) + 1;
	return 0;
}

/* How many rows of foo q asks for: "select * from foo", all of them,
 * or "select * from foo limit N". Raises the error of a bad query. */
static int
parse_query(syn_task *t, DBConnection_state *self, syn_cstr q, int64_t *n)
{
	static const char all[] = "select * from foo";
	long long         limit = FOO_ROWS;
	char              end;
	if (!self->connected) {
		return syn_raise(
		    t, E_NOT_CONNECTED, "%s: not connected", self->url);
	}
	if (strcmp(q, all) != 0 &&
	    sscanf(q, "select * from foo limit %lld%c", &limit, &end) != 1) {
		return syn_raise(t, E_BAD_QUERY, "cannot run \"%s\"", q);
	}
	*n = limit < 0 ? 0 : limit > FOO_ROWS ? FOO_ROWS : limit;
	return 0;
}

/* Row i of foo, [i, "row i"], in cells[2] and text (TEXT bytes). */
static syn_value
foo_row(int64_t i, syn_value cells[2], char *text)
{
	snprintf(text, TEXT, "row %lld", (long long) i);
	cells[0] = syn_int(i);
	cells[1] = syn_str(text);
	return syn_list(cells, 2);
}

/* All the rows of q at once, as one list: built in the task's memory,
 * which lives until the reply is sent. */
int
DBConnection_fetch_impl(
    syn_task *t, DBConnection_state *self, syn_cstr q, syn_vptr *ret)
{
	int64_t n  = 0;
	int     rc = parse_query(t, self, q, &n);
	if (rc != 0 || (rc = syn_sleep(t, FETCH_MS)) != 0) {
		return rc;
	}
	syn_value *rows = syn_task_alloc(t, (size_t) (n + 1) * sizeof(*rows));
	syn_value *cells =
	    syn_task_alloc(t, (size_t) (2 * n + 1) * sizeof(*cells));
	char      *text = syn_task_alloc(t, (size_t) (n + 1) * TEXT);
	syn_value *list = syn_task_alloc(t, sizeof(*list));
	if (rows == NULL || cells == NULL || text == NULL || list == NULL) {
		return SYN_ENOMEM;
	}
	for (int64_t i = 0; i < n; i++) {
		rows[i] = foo_row(i, &cells[2 * i], &text[TEXT * i]);
	}
	*list = syn_list(rows, (size_t) n);
	*ret  = list;
	return 0;
}

/* The rows of q one by one (each is encoded as it is yielded). */
int
DBConnection_query_impl(syn_task *t, DBConnection_state *self, syn_cstr q)
{
	int64_t n  = 0;
	int     rc = parse_query(t, self, q, &n);
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		syn_value cells[2];
		char      text[TEXT];
		syn_value row = foo_row(i, cells, text);
		rc            = DBConnection_query_yield(t, &row);
	}
	return rc == SYN_EITERCLOSED ? 0 : rc; /* closed early: no error */
}

/* Waits (a second at most) for the clients' releases to arrive. */
static void
wait_dropped(void)
{
	for (int i = 0; i < 200 && atomic_load(&dropped) < CLIENTS; i++) {
		usleep(5000);
	}
}

/* [server] */
/* The server: this program, started as "db_serve server". */
static int
server(void)
{
	syn_synchronizer s;
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(DBConnection_register(s), "DBConnection_register");

	/* The class's name exports its constructor: a client makes its
	 * own DBConnections, and calls the methods of those only. */
	static const char *const exports[] = { "DBConnection", NULL };
	syn_serve_config cfg = { .exports = exports, .max_message = 64 * 1024 };
	char             bound[256];
	check(syn_serve(s, SERVE_URL, &cfg, bound, sizeof(bound)), "syn_serve");
	printf("%s\n", bound); /* tcp://127.0.0.1:<the port picked> */
	fflush(stdout);

	char buf[64];
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
		continue; /* until the coordinator closes it */
	}
	wait_dropped();
	int       m = atomic_load(&made), d = atomic_load(&dropped);
	long long n = atomic_load(&log_rows);
	fprintf(stderr, "server: %d DBConnections made, %d dropped\n", m, d);
	fprintf(stderr, "server: %lld rows in log\n", n);
	check(syn_synchronizer_destroy(s), "destroy");
	return m == CLIENTS && d == CLIENTS ? 0 : 1;
}
/* [server] */

/* ---- a client's side ------------------------------------------------- */

/* Whether row is [i, "row i"]. */
static bool
row_ok(const syn_value *row, int64_t i)
{
	char text[TEXT];
	snprintf(text, sizeof(text), "row %lld", (long long) i);
	return row->type == SYN_TYPE_LIST && row->len == 2 &&
	    row->as.list[0].type == SYN_TYPE_INT && row->as.list[0].as.i == i &&
	    row->as.list[1].type == SYN_TYPE_STR &&
	    strcmp(row->as.list[1].as.str, text) == 0;
}

/* Whether rows is a list of foo's first n rows, in order. */
static bool
rows_ok(const syn_value *rows, int64_t n)
{
	if (rows->type != SYN_TYPE_LIST || rows->len != n) {
		return false;
	}
	for (int64_t i = 0; i < n; i++) {
		if (!row_ok(&rows->as.list[i], i)) {
			return false;
		}
	}
	return true;
}

/* Adds INSERTS rows to log; each answer is log's new size, which the
 * other client's rows push up too. */
static void
insert_rows(DBConnection_ref db, int n)
{
	int64_t last = 0;
	for (int i = 0; i < INSERTS; i++) {
		char    row[32];
		int64_t count;
		snprintf(row, sizeof(row), "client %d row %d", n, i);
		check(DBConnection_insert(db, row, &count), "insert");
		expect(count > last && count <= CLIENTS * INSERTS,
		    "log grows, to CLIENTS * INSERTS rows at most");
		last = count;
	}
}

/* Runs QUERIES fetches at once and checks their rows; returns how many
 * rows came. */
static int64_t
fetch_rows(DBConnection_ref db, double *took)
{
	DBConnection_fetch_future_t *fs[QUERIES];
	char                         q[64];
	int64_t                      total = 0;
	double                       t0    = now_ms();
	for (int i = 0; i < QUERIES; i++) {
		snprintf(q, sizeof(q), "select * from foo limit %d", 10 * i);
		check(DBConnection_fetch_future(db, q, &fs[i]), "fetch");
	}
	for (int i = 0; i < QUERIES; i++) {
		syn_vptr rows;
		check(DBConnection_fetch_get(fs[i], &rows), "fetch get");
		expect(rows_ok(rows, 10 * i), "the rows asked for, in order");
		total += rows->len;
		syn_vptr_free(rows);
		DBConnection_fetch_free(fs[i]);
	}
	*took = now_ms() - t0; /* about FETCH_MS, not QUERIES times it */
	expect(*took < QUERIES * FETCH_MS, "the fetches ran side by side");
	return total;
}

/* Streams table foo through a prefetch window; returns how many rows
 * came, each checked. */
static int64_t
stream_rows(DBConnection_ref db)
{
	/* [stream] */
	/* The typed DBConnection_query_open() takes no configuration: a
	 * window takes syn_invoke_iter() on the proxy underneath. */
	syn_iter       *it;
	syn_iter_config cfg  = { .prefetch = 64 }; /* 32 rows a message */
	syn_value       q    = syn_str("select * from foo");
	syn_result      row  = SYN_RESULT_INIT;
	int64_t         rows = 0;
	int             rc;
	check(
	    syn_invoke_iter(DBConnection_proxy(db), "query", &q, 1, &cfg, &it),
	    "query");
	while ((rc = syn_iter_next(it, &row)) == 0) {
		expect(row_ok(&row.value, rows), "row i is [i, \"row i\"]");
		rows++;
		syn_result_fini(&row);
	}
	check(syn_iter_close(it), "close");
	/* [stream] */
	expect(rc == SYN_EEND, "the stream ended");
	return rows;
}

/* A client: "db_serve client URL N". */
static int
client(const char *url, int n)
{
	/* [client] */
	syn_synchronizer r; /* names the server's synchronizer */
	check(syn_connect(url, NULL, &r), "syn_connect");
	DBConnection_ref db; /* a proxy: the object lives on the server */
	check(DBConnection_new(r, DB_URL, &db), "DBConnection_new");
	check(DBConnection_connect(db), "connect"); /* blocking */
	insert_rows(db, n);
	double  took;
	int64_t fetched  = fetch_rows(db, &took); /* futures, at once */
	int64_t streamed = stream_rows(db);       /* a generator */
	DBConnection_release(db); /* the server drops the object */
	check(syn_synchronizer_destroy(r), "disconnect");
	/* [client] */

	printf("client %d: %d rows inserted, %d queries at once: %lld rows "
	       "in %.0f ms, %lld rows streamed\n",
	    n, INSERTS, QUERIES, (long long) fetched, took,
	    (long long) streamed);
	expect(
	    fetched == 10 * QUERIES * (QUERIES - 1) / 2, "every row fetched");
	expect(streamed == FOO_ROWS, "every row streamed");
	return failures == 0 ? 0 : 1;
}

/* ---- the coordinator (process.h) ------------------------------------- */

/* The clients: CLIENTS of them, started side by side and waited for
 * together. Returns how many did not end well. */
static int
run_clients(const char *self, const char *url)
{
	pid_t clients[CLIENTS];
	for (int i = 0; i < CLIENTS; i++) { /* both started, then waited */
		char n[16];
		snprintf(n, sizeof(n), "%d", i + 1);
		char *const args[] = { (char *) self, "client", (char *) url, n,
			NULL };
		clients[i]         = spawn(args, (int[2]) { -1, -1 });
	}
	double deadline = now_ms() + RUN_MS;
	int    bad      = 0;
	for (int i = 0; i < CLIENTS; i++) {
		char who[16];
		snprintf(who, sizeof(who), "client %d", i + 1);
		bad +=
		    clients[i] < 0 || wait_exit(clients[i], who, deadline) != 0;
	}
	return bad;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "server") == 0) {
		return server();
	}
	if (argc == 4 && strcmp(argv[1], "client") == 0) {
		return client(argv[2], atoi(argv[3]));
	}
	if (argc != 1) {
		fprintf(stderr, "usage: %s [server | client URL N]\n", argv[0]);
		return 2;
	}
	return coordinate(argv[0], run_clients, STOP_MS);
}
