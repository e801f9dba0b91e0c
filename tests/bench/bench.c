/*
 * make bench: where the time of a call goes, each figure measured beside
 * its baseline in the same run (these machines are shared and noisy, so
 * only ratios from one run compare). Prints a table, then one name=value
 * line per figure.
 *
 * Usage: bench [quick]   ("quick" divides the iteration counts by ten)
 *
 * SYN_BENCH_ONLY=list (comma-separated) runs only the groups named: memory,
 * latency, stream, pipelined, threads, actors, remote, door, switch. For
 * working on one figure; make bench runs them all.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include <synchronicity.h>

#include "core/ctx.h"
#include "core/futex.h"
#include "core/mpsc.h"
#include "core/stack.h"
#include "proto/proto.h"

static int scale = 1; /* 10 in quick mode */

/* Whether the group of figures named is to be measured (SYN_BENCH_ONLY). */
static bool
want(const char *group)
{
	const char *only = getenv("SYN_BENCH_ONLY");
	if (only == NULL || *only == '\0') {
		return true;
	}
	size_t n = strlen(group);
	for (const char *p = only; (p = strstr(p, group)) != NULL; p += n) {
		bool starts = p == only || p[-1] == ',';
		bool ends   = p[n] == '\0' || p[n] == ',';
		if (starts && ends) {
			return true;
		}
	}
	return false;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "bench: %s: %s (%s)\n", what, syn_strerror(rc),
	    syn_last_error()->message);
	exit(1);
}

/* ---- the results -------------------------------------------------------- */

typedef struct figure {
	const char *name;
	double      value;
	const char *unit;
	const char *note;
} figure;

static figure figures[64];
static int    nfigures;

static void
record(const char *name, double value, const char *unit, const char *note)
{
	figures[nfigures++] = (figure) { name, value, unit, note };
	fprintf(stderr, "  %-34s %14.3f %s\n", name, value, unit);
}

static void
print_results(void)
{
	printf("\n%-36s %14s  %-6s %s\n", "figure", "value", "unit",
	    "goal / note");
	for (int i = 0; i < nfigures; i++) {
		printf("%-36s %14.3f  %-6s %s\n", figures[i].name,
		    figures[i].value, figures[i].unit,
		    figures[i].note ? figures[i].note : "");
	}
	printf("\n");
	for (int i = 0; i < nfigures; i++) {
		printf("%s=%.3f\n", figures[i].name, figures[i].value);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t) n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * The host moves these virtual CPUs around: a baseline measured a second
 * before its figure can differ by 2x. So a figure and its baseline are
 * measured in alternating rounds, and the medians are reported, with the
 * median of the per-round ratios.
 */
#define ROUNDS 7

typedef struct pair {
	double base, value, ratio;
} pair;

static pair
interleave(
    double (*base)(void *, int), double (*value)(void *, int), void *arg, int n)
{
	double b[ROUNDS], v[ROUNDS], r[ROUNDS];
	for (int i = 0; i < ROUNDS; i++) {
		b[i] = base(arg, n / ROUNDS);
		v[i] = value(arg, n / ROUNDS);
		r[i] = v[i] / b[i];
	}
	pair p = { median(b, ROUNDS), median(v, ROUNDS), median(r, ROUNDS) };
	return p;
}

/*
 * Where the threads run. A new thread may land on its partner's CPU (a
 * wake-up there costs a context switch) or on the other one (an
 * inter-processor wake-up, much dearer on a virtual machine), which made
 * a baseline swing tenfold between runs. So the two sides of every
 * latency figure are pinned, one to each CPU, for the call and for its
 * baseline alike.
 */
static bool pinning;

static void
pin_self(int cpu)
{
	if (!pinning) {
		return;
	}
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void
unpin_self(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	for (int i = 0; i < CPU_SETSIZE; i++) {
		CPU_SET(i, &set);
	}
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* ---- the function every call runs -----------------------------------------
 */

static int
add1(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	if (nargs != 1 || args[0].type != SYN_TYPE_INT) {
		return SYN_EINVAL;
	}
	*ret = syn_int(args[0].as.i * 2 + 1);
	return 0;
}

static int
pin_actor(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	if (args[0].as.i < 0) {
		unpin_self();
	} else {
		pin_self((int) args[0].as.i);
	}
	return 0;
}

static atomic_int parked;

static int
park(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	atomic_fetch_add(&parked, 1);
	return syn_sleep(t, (syn_duration) args[0].as.i);
}

/* range(n): yields 0 .. n-1. */
static int
range_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t n  = args[0].as.i;
	int     rc = 0;
	for (int64_t i = 0; i < n && rc == 0; i++) {
		syn_value v = syn_int(i);
		rc          = syn_yield(t, &v, NULL);
	}
	return rc == SYN_EITERCLOSED ? 0 : rc;
}

/* a2a(n, b): awaits add1 on synchronizer b, n times, one at a time. */
static int
a2a(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_synchronizer b = { (uint32_t) args[1].as.i };
	for (int64_t i = 0; i < args[0].as.i; i++) {
		syn_value   a = syn_int(i);
		syn_future *f;
		int         rc = syn_call_future(b, "add1", &a, 1, &f);
		if (rc != 0 || (rc = syn_await(t, f)) != 0) {
			return rc;
		}
		syn_future_free(f);
	}
	return 0;
}

static int
nothing(void *arg)
{
	return 0;
}

/* offload(): runs nothing() on the blocking pool. */
static int
offload(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	return syn_run_blocking(t, nothing, NULL);
}

/* add1 again, through a typed interface. */
#define BENCH_API(F0, F1, F2, F3, F4, C) F1(C, FUNC, add1, int64_t, int64_t, x)
SYN_FUNCTIONS_DECLARE(bt, BENCH_API)
SYN_FUNCTIONS_DEFINE(bt, BENCH_API)

int
bt_add1_impl(syn_task *t, int64_t x, int64_t *ret)
{
	*ret = x * 2 + 1;
	return 0;
}

/* The class of the method figures: add1 as a method, and echo. */
static int
m_add1(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	return add1(t, args, nargs, ret);
}

static int
m_echo(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	*ret = args[0];
	return 0;
}

static const syn_method_def obj_methods[] = {
	{ "add1", SYN_KIND_FUNCTION, m_add1, 0 },
	{ "echo", SYN_KIND_FUNCTION, m_echo, 0 },
	{ "echo_raw", SYN_KIND_FUNCTION, m_echo, SYN_METHOD_RAW },
};

static const syn_class_def obj_class = { "Obj", 8, NULL, NULL, obj_methods, 3,
	0 };

static syn_synchronizer
make_sync_cfg(const syn_config *cfg)
{
	syn_synchronizer s;
	int              rc = syn_synchronizer_new(&s, cfg);
	if (rc != 0) {
		die("syn_synchronizer_new", rc);
	}
	syn_func_def d1 = { "add1", SYN_KIND_FUNCTION, add1, NULL };
	syn_func_def d2 = { "park", SYN_KIND_FUNCTION, park, NULL };
	syn_func_def d3 = { "pin", SYN_KIND_FUNCTION, pin_actor, NULL };
	syn_func_def d4 = { "range", SYN_KIND_GENERATOR, range_gen, NULL };
	syn_func_def d5 = { "a2a", SYN_KIND_FUNCTION, a2a, NULL };
	syn_func_def d6 = { "offload", SYN_KIND_FUNCTION, offload, NULL };
	if ((rc = syn_register(s, &d5)) != 0 ||
	    (rc = syn_register(s, &d6)) != 0 ||
	    (rc = syn_register(s, &d1)) != 0 ||
	    (rc = syn_register(s, &d2)) != 0 ||
	    (rc = syn_register(s, &d3)) != 0 ||
	    (rc = syn_register(s, &d4)) != 0 ||
	    (rc = syn_register_class(s, &obj_class)) != 0 ||
	    (rc = bt_register(s)) != 0) {
		die("syn_register", rc);
	}
	return s;
}

static syn_synchronizer
make_sync(int spin_us)
{
	syn_config cfg = { .spin_us = spin_us };
	return make_sync_cfg(&cfg);
}

/* Blocking calls from one thread; microseconds per call. */
static double
blocking_calls_us(syn_synchronizer s, int n)
{
	for (int i = 0; i < n / 10; i++) { /* warm up */
		syn_value a = syn_int(i);
		syn_call(s, "add1", &a, 1, NULL);
	}
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		syn_value  a   = syn_int(i);
		syn_result res = SYN_RESULT_INIT;
		int        rc  = syn_call(s, "add1", &a, 1, &res);
		if (rc != 0 || res.value.as.i != 2 * i + 1) {
			die("syn_call", rc);
		}
	}
	return (now_s() - t0) * 1e6 / n;
}

/* ---- baselines: ping-pong between two threads -----------------------------
 */

/* How a ping-pong's side waits for its turn. */
enum { PP_FUTEX, PP_SPIN, PP_YIELD };

typedef struct pingpong {
	_Atomic uint32_t word; /* 0: ping's turn... 1: pong's turn */
	int              n;
	int              mode;     /* PP_... */
	int              pong_cpu; /* where pong runs (when pinning) */
} pingpong;

static void
wait_for(pingpong *p, uint32_t want)
{
	uint32_t v;
	while ((v = atomic_load(&p->word)) != want) {
		if (p->mode == PP_SPIN) {
			__builtin_ia32_pause();
		} else if (p->mode == PP_YIELD) {
			sched_yield();
		} else {
			sni_futex_wait(&p->word, v, UINT64_MAX);
		}
	}
}

static void
hand_over(pingpong *p, uint32_t to)
{
	atomic_store(&p->word, to);
	if (p->mode == PP_FUTEX) {
		sni_futex_wake(&p->word, 1);
	}
}

static void *
pong(void *arg)
{
	pingpong *p = arg;
	pin_self(p->pong_cpu);
	for (int i = 0; i < p->n; i++) {
		wait_for(p, 1);
		hand_over(p, 0);
	}
	return NULL;
}

static double
pingpong_us(int mode, int pong_cpu, int n)
{
	pingpong  p = { 0, n, mode, pong_cpu };
	pthread_t th;
	pthread_create(&th, NULL, pong, &p);
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		hand_over(&p, 1);
		wait_for(&p, 0);
	}
	double us = (now_s() - t0) * 1e6 / n;
	pthread_join(th, NULL);
	return us;
}

/* ---- baseline: a bare MPSC queue with futures ------------------------------
 */

typedef struct bare_call {
	sni_node         node;
	_Atomic uint32_t done;
	int64_t          x;
	int64_t          result;
} bare_call;

typedef struct bare_server {
	sni_mpsc    q;
	atomic_bool stop;
} bare_server;

static void *
bare_serve(void *arg)
{
	bare_server *s = arg;
	pin_self(1);
	while (!atomic_load(&s->stop)) {
		sni_node *n = sni_mpsc_take(&s->q);
		if (n == NULL) {
			__builtin_ia32_pause();
			continue;
		}
		while (n != NULL) {
			sni_node  *next = n->next;
			bare_call *c    = (bare_call *) n;
			c->result       = c->x * 2 + 1;
			atomic_store_explicit(
			    &c->done, 1, memory_order_release);
			n = next;
		}
	}
	return NULL;
}

static double
bare_pipelined_per_s(int n)
{
	n = n > 0 ? n : 1;
	bare_server s;
	pthread_t   th;
	sni_mpsc_init(&s.q);
	atomic_init(&s.stop, false);
	pthread_create(&th, NULL, bare_serve, &s);
	bare_call **cs = malloc(n * sizeof(*cs));
	double      t0 = now_s();
	for (int i = 0; i < n; i++) {
		cs[i]    = malloc(sizeof(bare_call));
		cs[i]->x = i;
		atomic_init(&cs[i]->done, 0);
		sni_mpsc_push(&s.q, &cs[i]->node);
	}
	for (int i = 0; i < n; i++) {
		while (atomic_load_explicit(
		           &cs[i]->done, memory_order_acquire) == 0) {
			__builtin_ia32_pause();
		}
		if (cs[i]->result != 2 * i + 1) {
			die("bare queue", SYN_EINTERNAL);
		}
		free(cs[i]);
	}
	double rate = n / (now_s() - t0);
	atomic_store(&s.stop, true);
	pthread_join(th, NULL);
	free(cs);
	return rate;
}

static double
pipelined_per_s(syn_synchronizer s, int n)
{
	syn_future **fs = malloc(n * sizeof(*fs));
	double       t0 = now_s();
	for (int i = 0; i < n; i++) {
		syn_value a  = syn_int(i);
		int       rc = syn_call_future(s, "add1", &a, 1, &fs[i]);
		if (rc != 0) {
			die("syn_call_future", rc);
		}
	}
	for (int i = 0; i < n; i++) {
		const syn_value *v;
		int              rc = syn_future_wait(fs[i]);
		if (rc != 0 || (rc = syn_future_value(fs[i], &v)) != 0 ||
		    v->as.i != 2 * i + 1) {
			die("pipelined future", rc);
		}
		syn_future_free(fs[i]);
	}
	double rate = n / (now_s() - t0);
	free(fs);
	return rate;
}

/* ---- many threads
 * ------------------------------------------------------------- */

typedef struct worker {
	syn_synchronizer s;
	int              n;
} worker;

static void *
worker_main(void *arg)
{
	worker *w = arg;
	for (int i = 0; i < w->n; i++) {
		syn_value a  = syn_int(i);
		int       rc = syn_call(w->s, "add1", &a, 1, NULL);
		if (rc != 0) {
			die("syn_call (8 threads)", rc);
		}
	}
	return NULL;
}

static double
threads_per_s(syn_synchronizer s, int threads, int per_thread)
{
	pthread_t th[16];
	worker    w  = { s, per_thread };
	double    t0 = now_s();
	for (int i = 0; i < threads; i++) {
		pthread_create(&th[i], NULL, worker_main, &w);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
	}
	return (double) threads * per_thread / (now_s() - t0);
}

/* ---- the nng door, and raw nng REQ/REP
 * -------------------------------------------- */

static nng_socket
req_dial(const char *url)
{
	nng_socket req;
	int        rc = nng_req0_open(&req);
	if (rc == 0) {
		rc = nng_socket_set_ms(
		    req, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	}
	if (rc == 0) {
		rc = nng_dial(req, url, NULL, 0);
	}
	if (rc != 0) {
		die("nng dial", rc);
	}
	return req;
}

static void *
raw_rep_serve(void *arg)
{
	nng_socket rep = *(nng_socket *) arg;
	nng_msg   *m;
	while (nng_recvmsg(rep, &m, 0) == 0) {
		if (nng_sendmsg(rep, m, 0) != 0) {
			nng_msg_free(m);
		}
	}
	return NULL;
}

/* n raw round trips on req (after a tenth as warm-up); us each. Closes
 * req, then rep, and joins the server thread th. */
static double
raw_round_trips_us(nng_socket req, nng_socket rep, pthread_t th, int n)
{
	double t0 = 0;
	for (int i = -n / 10; i < n; i++) {
		if (i == 0) {
			t0 = now_s();
		}
		nng_msg *m;
		nng_msg_alloc(&m, 0);
		nng_msg_append_u64(m, (uint64_t) i);
		if (nng_sendmsg(req, m, 0) != 0 ||
		    nng_recvmsg(req, &m, 0) != 0) {
			die("raw req/rep", SYN_EINTERNAL);
		}
		nng_msg_free(m);
	}
	double us = (now_s() - t0) * 1e6 / n;
	nng_close(req);
	nng_close(rep);
	pthread_join(th, NULL);
	return us;
}

static double
raw_reqrep_us(int n)
{
	nng_socket rep;
	pthread_t  th;
	if (nng_rep0_open(&rep) != 0 ||
	    nng_listen(rep, "inproc://bench-raw", NULL, 0) != 0) {
		die("nng rep", SYN_EINTERNAL);
	}
	pthread_create(&th, NULL, raw_rep_serve, &rep);
	return raw_round_trips_us(req_dial("inproc://bench-raw"), rep, th, n);
}

/* One call through the door: encode, send, receive, decode. */
static void
door_call(nng_socket req, int64_t x)
{
	sni_wbuf   w;
	sni_limits lim = { SNI_DEFAULT_MAX_DEPTH, SNI_DEFAULT_MAX_SIZE, false,
		false, false, false };
	syn_value  a   = syn_int(x);
	nng_msg   *m;
	sni_wbuf_init(&w);
	sni_msg_encode_call(&w, (uint64_t) x, NULL, "add1", 4, &a, 1, &lim);
	nng_msg_alloc(&m, 0);
	nng_msg_append(m, w.buf, w.len);
	sni_wbuf_fini(&w);
	if (nng_sendmsg(req, m, 0) != 0 || nng_recvmsg(req, &m, 0) != 0) {
		die("door call", SYN_EINTERNAL);
	}
	uint64_t         id;
	int              code;
	syn_value        v;
	const syn_error *err;
	void            *mem;
	int              rc = sni_msg_decode_reply(
	                 nng_msg_body(m), nng_msg_len(m), &lim, &id, &code, &v, &err, &mem);
	if (rc != 0 || code != 0 || v.as.i != 2 * x + 1) {
		die("door reply", rc ? rc : code);
	}
	free(mem);
	nng_msg_free(m);
}

static double
door_us(syn_synchronizer s, int n)
{
	char url[128];
	syn_synchronizer_url(s, url, sizeof(url));
	nng_socket req = req_dial(url);
	double     t0  = 0;
	for (int i = -n / 10; i < n; i++) {
		if (i == 0) {
			t0 = now_s();
		}
		door_call(req, i);
	}
	double us = (now_s() - t0) * 1e6 / n;
	nng_close(req);
	return us;
}

/* ---- other processes: tcp ---------------------------------------------
 */

/* A raw nng REQ/REP round trip over tcp on the loopback. */
static double
raw_reqrep_tcp_us(void *arg, int n)
{
	(void) arg;
	nng_socket   rep;
	nng_listener l;
	pthread_t    th;
	int          port = 0;
	char         url[64];
	if (nng_rep0_open(&rep) != 0 ||
	    nng_listen(rep, "tcp://127.0.0.1:0", &l, 0) != 0 ||
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0) {
		die("nng rep over tcp", SYN_EINTERNAL);
	}
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	pthread_create(&th, NULL, raw_rep_serve, &rep);
	return raw_round_trips_us(req_dial(url), rep, th, n);
}

/* Echoes every message on a pair0 socket until it closes. */
static void *
pair_echo_serve(void *arg)
{
	nng_socket echo = *(nng_socket *) arg;
	nng_msg   *m;
	while (nng_recvmsg(echo, &m, 0) == 0) {
		if (nng_sendmsg(echo, m, 0) != 0) {
			nng_msg_free(m);
		}
	}
	return NULL;
}

/* The sender keeps at most this many messages in flight, as the
 * library's client has its window. */
#define RAW_WINDOW 256

typedef struct raw_sender {
	nng_socket sock;
	int        n;
	atomic_int received; /* echoes taken so far */
} raw_sender;

static void *
raw_send_all(void *arg)
{
	raw_sender *rs = arg;
	for (int i = 0; i < rs->n; i++) {
		nng_msg *m;
		while (i - atomic_load(&rs->received) >= RAW_WINDOW) {
			sched_yield();
		}
		if (nng_msg_alloc(&m, 16) != 0 ||
		    nng_sendmsg(rs->sock, m, 0) != 0) {
			die("raw pipelined send", SYN_EINTERNAL);
		}
	}
	return NULL;
}

/*
 * nng's own ceiling for what remote_tcp_pipelined_per_s does: two pair0
 * sockets over tcp on the loopback, one thread sending n messages of 16
 * bytes back to back while this one takes the n echoes. (pair0, not raw
 * req0 and rep0: raw rep0 drops a reply its pipe cannot queue at once,
 * and a lost echo would stall the count; pair0 waits instead.)
 */
static double
raw_pipelined_tcp_per_s(int n)
{
	nng_socket   echo, sock;
	nng_listener l;
	int          port;
	char         url[64];
	pthread_t    server, sender;
	if (nng_pair0_open(&echo) != 0 ||
	    nng_listen(echo, "tcp://127.0.0.1:0", &l, 0) != 0 ||
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0 ||
	    nng_pair0_open(&sock) != 0) {
		die("raw pipelined sockets", SYN_EINTERNAL);
	}
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	if (nng_dial(sock, url, NULL, 0) != 0 ||
	    nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 10000) != 0) {
		die("raw pipelined dial", SYN_EINTERNAL);
	}
	pthread_create(&server, NULL, pair_echo_serve, &echo);
	raw_sender rs = { sock, n, 0 };
	double     t0 = now_s();
	pthread_create(&sender, NULL, raw_send_all, &rs);
	for (int i = 0; i < n; i++) {
		nng_msg *m;
		int      rc = nng_recvmsg(sock, &m, 0);
		if (rc != 0) {
			fprintf(stderr, "bench: raw pipelined recv: %s\n",
			    nng_strerror(rc));
			exit(1);
		}
		nng_msg_free(m);
		atomic_fetch_add(&rs.received, 1);
	}
	double rate = n / (now_s() - t0);
	pthread_join(sender, NULL);
	nng_close(sock);
	nng_close(echo);
	pthread_join(server, NULL);
	return rate;
}

/* s served over tcp on the loopback, and connected to: the remote. */
static syn_synchronizer
serve_and_connect(syn_synchronizer s)
{
	static const char *const exports[] = { "add1", "range", NULL };
	syn_serve_config         cfg       = { .exports = exports };
	char                     url[128];
	syn_synchronizer         r;
	int rc = syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, sizeof(url));
	if (rc != 0 || (rc = syn_connect(url, NULL, &r)) != 0) {
		die("serve and connect", rc);
	}
	return r;
}

/* ---- memory of suspended calls
 * ---------------------------------------------------- */

static long
rss_kib(void)
{
	long  pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL || fscanf(f, "%ld %ld", &pages, &rss) != 2) {
		die("/proc/self/statm", SYN_EINTERNAL);
	}
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
suspended_calls(int n, bool shared, double *kib_per_call, double *submit_ms)
{
	syn_config       cfg = { .shared_stack = shared };
	syn_synchronizer s   = make_sync_cfg(&cfg);
	syn_future     **fs  = malloc(n * sizeof(*fs));
	memset(fs, 0, n * sizeof(*fs)); /* touch the array before measuring */
	atomic_store(&parked, 0);
	long   before = rss_kib();
	double t0     = now_s();
	for (int i = 0; i < n; i++) {
		syn_value a  = syn_int(3000);
		int       rc = syn_call_future(s, "park", &a, 1, &fs[i]);
		if (rc != 0) {
			die("syn_call_future (park)", rc);
		}
	}
	*submit_ms = (now_s() - t0) * 1e3;
	while (atomic_load(&parked) < n) {
		usleep(1000);
	}
	*kib_per_call = (double) (rss_kib() - before) / n;
	for (int i = 0; i < n; i++) {
		int rc = syn_future_wait(fs[i]);
		if (rc != 0) {
			die("parked call", rc);
		}
		syn_future_free(fs[i]);
	}
	free(fs);
	syn_synchronizer_destroy(s);
}

/* Runs "bench memory" (or "bench memory shared") and reads its two
 * figures. */
static void
memory_child(const char *self, bool shared, double *kib, double *submit)
{
	char cmd[4096];
	snprintf(
	    cmd, sizeof(cmd), "'%s' memory%s", self, shared ? " shared" : "");
	FILE *p = popen(cmd, "r");
	if (p == NULL || fscanf(p, "%lf %lf", kib, submit) != 2) {
		die("the memory benchmark", SYN_EINTERNAL);
	}
	pclose(p);
}

/* Typed blocking calls of bt_add1; microseconds per call. */
static double
typed_calls_us(syn_synchronizer s, int n)
{
	for (int i = 0; i < n / 10; i++) { /* warm up */
		bt_add1(s, i, NULL);
	}
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		int64_t r;
		int     rc = bt_add1(s, i, &r);
		if (rc != 0 || r != 2 * i + 1) {
			die("bt_add1", rc);
		}
	}
	return (now_s() - t0) * 1e6 / n;
}

/* ---- objects -------------------------------------------------------------
 */

static syn_proxy *
new_obj(syn_synchronizer s)
{
	syn_proxy *p;
	int        rc = syn_new(s, "Obj", NULL, 0, &p);
	if (rc != 0) {
		die("syn_new", rc);
	}
	return p;
}

/* Blocking method calls; microseconds per call. */
static double
method_calls_us(syn_synchronizer s, int n)
{
	syn_proxy *p = new_obj(s);
	for (int i = 0; i < n / 10; i++) { /* warm up */
		syn_value a = syn_int(i);
		syn_invoke(p, "add1", &a, 1, NULL);
	}
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		syn_value  a   = syn_int(i);
		syn_result res = SYN_RESULT_INIT;
		int        rc  = syn_invoke(p, "add1", &a, 1, &res);
		if (rc != 0 || res.value.as.i != 2 * i + 1) {
			die("syn_invoke", rc);
		}
	}
	double us = (now_s() - t0) * 1e6 / n;
	syn_proxy_release(p);
	return us;
}

/* syn_new and syn_proxy_release; microseconds per pair. */
static double
new_release_us(syn_synchronizer s, int n)
{
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		syn_proxy_release(new_obj(s));
	}
	return (now_s() - t0) * 1e6 / n;
}

/* A list of 1,000 ints in and out of a method; microseconds per call. */
static double
list1000_us(syn_synchronizer s, int n, const char *method)
{
	static syn_value items[1000];
	for (int i = 0; i < 1000; i++) {
		items[i] = syn_int(i);
	}
	syn_proxy *p    = new_obj(s);
	syn_value  list = syn_list(items, 1000);
	double     t0   = now_s();
	for (int i = 0; i < n; i++) {
		syn_result res = SYN_RESULT_INIT;
		int        rc  = syn_invoke(p, method, &list, 1, &res);
		if (rc != 0 || res.value.len != 1000 ||
		    res.value.as.list[999].as.i != 999) {
			die("the list call", rc);
		}
		syn_result_fini(&res);
	}
	double us = (now_s() - t0) * 1e6 / n;
	syn_proxy_release(p);
	return us;
}

/* ---- streams ------------------------------------------------------------
 */

static syn_iter *
open_range(syn_synchronizer s, int64_t n, uint32_t prefetch)
{
	syn_value       arg = syn_int(n);
	syn_iter_config cfg = { .prefetch = prefetch };
	syn_iter       *it;
	int             rc = syn_iter_open(s, "range", &arg, 1, &cfg, &it);
	if (rc != 0) {
		die("syn_iter_open", rc);
	}
	return it;
}

static void
expect_item(syn_iter *it, int64_t want)
{
	syn_result r  = SYN_RESULT_INIT;
	int        rc = syn_iter_next(it, &r);
	if (rc != 0 || r.value.as.i != want) {
		die("syn_iter_next", rc != 0 ? rc : SYN_EINTERNAL);
	}
}

/* Items of a lock-step stream; microseconds per item. */
static double
lockstep_item_us(syn_synchronizer s, int n)
{
	syn_iter *it = open_range(s, n, 0);
	expect_item(it, 0); /* the OPEN, and the task's start */
	double t0 = now_s();
	for (int i = 1; i < n; i++) {
		expect_item(it, i);
	}
	double us = (now_s() - t0) * 1e6 / (n - 1);
	syn_iter_close(it);
	return us;
}

/* Items of a stream with a prefetch window of 1,024; items per second. */
static double
prefetch_items_per_s(syn_synchronizer s, int n)
{
	syn_iter *it = open_range(s, n, 1024);
	double    t0 = now_s();
	for (int i = 0; i < n; i++) {
		expect_item(it, i);
	}
	double rate = n / (now_s() - t0);
	if (syn_iter_next(it, NULL) != SYN_EEND) {
		die("the end of the stream", SYN_EINTERNAL);
	}
	syn_iter_close(it);
	return rate;
}

/* The growth of resident memory while n items stream (window 1,024),
 * from the first batch on, in KiB: the largest of ten samples. */
static double
stream_rss_growth_kib(syn_synchronizer s, int n)
{
	syn_iter *it = open_range(s, n, 1024);
	expect_item(it, 0);
	long base = rss_kib(), peak = base;
	for (int i = 1; i < n; i++) {
		expect_item(it, i);
		if (i % (n / 10) == 0) {
			long now = rss_kib();
			peak     = now > peak ? now : peak;
		}
	}
	syn_iter_close(it);
	return (double) (peak - base);
}

/* ---- the stack switch
 * ------------------------------------------------------------- */

static sni_ctx main_ctx;

static void
bouncer(void *arg)
{
	sni_ctx *self = arg;
	for (;;) {
		sni_ctx_switch(self, &main_ctx, NULL);
	}
}

static double
switch_ns(int n)
{
	sni_stack_pool pool;
	sni_stack     *st;
	sni_stack_pool_init(&pool, 64 * 1024);
	if (sni_stack_get(&pool, &st) != 0) {
		die("stack", SYN_ENOMEM);
	}
	sni_ctx_init_thread(&main_ctx);
	sni_ctx_make(
	    &st->ctx, st->lo, (char *) st - (char *) st->lo - 64, bouncer);
	sni_ctx_switch(&main_ctx, &st->ctx, &st->ctx);
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		sni_ctx_switch(&main_ctx, &st->ctx, NULL); /* resume, suspend */
	}
	double ns = (now_s() - t0) * 1e9 / n;
	/* the bouncer's stack is abandoned with the pool: it never ends */
	sni_stack_put(&pool, st);
	sni_stack_pool_fini(&pool);
	return ns;
}

static int
yielder(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	for (int64_t i = 0; i < args[0].as.i; i++) {
		syn_sleep(t, 0);
	}
	return 0;
}

/* A suspend and resume through the actor loop (syn_sleep(t, 0)). */
static double
loop_yield_ns(int n)
{
	syn_synchronizer s   = make_sync(0);
	syn_func_def     def = { "yielder", SYN_KIND_FUNCTION, yielder, NULL };
	syn_register(s, &def);
	syn_value a  = syn_int(n);
	double    t0 = now_s();
	int       rc = syn_call(s, "yielder", &a, 1, NULL);
	if (rc != 0) {
		die("yielder", rc);
	}
	double ns = (now_s() - t0) * 1e9 / n;
	syn_synchronizer_destroy(s);
	return ns;
}

/* ---- composing and offloading ------------------------------------------
 */

/* The synchronizers of the actor-to-actor figure: a's tasks call b. */
typedef struct duo {
	syn_synchronizer a, b;
} duo;

/* Blocking calls of add1 on a, or on b, from this thread. */
static double
calls_on_a(void *arg, int n)
{
	return blocking_calls_us(((duo *) arg)->a, n);
}

static double
calls_on_b(void *arg, int n)
{
	return blocking_calls_us(((duo *) arg)->b, n);
}

/* A task of one synchronizer awaiting add1 on another; us per call. */
static double
actor_to_actor_us(void *arg, int n)
{
	duo      *d       = arg;
	syn_value args[2] = { syn_int(n), syn_int(d->b.id) };
	double    t0      = now_s();
	int       rc      = syn_call(d->a, "a2a", args, 2, NULL);
	if (rc != 0) {
		die("a2a", rc);
	}
	return (now_s() - t0) * 1e6 / n;
}

/* A blocking call whose task offloads an empty job; us per call. */
static double
offload_us(void *arg, int n)
{
	syn_synchronizer s  = *(syn_synchronizer *) arg;
	double           t0 = now_s();
	for (int i = 0; i < n; i++) {
		int rc = syn_call(s, "offload", NULL, 0, NULL);
		if (rc != 0) {
			die("offload", rc);
		}
	}
	return (now_s() - t0) * 1e6 / n;
}

static void *
empty_thread(void *arg)
{
	return arg;
}

/* pthread_create + pthread_join of an empty thread; us each. */
static double
thread_create_join_us(void *arg, int n)
{
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		pthread_t th;
		pthread_create(&th, NULL, empty_thread, NULL);
		pthread_join(th, NULL);
	}
	return (now_s() - t0) * 1e6 / n;
}

/* Adapters for interleave(): arg is the synchronizer. */
static double
futex_pp(void *arg, int n)
{
	return pingpong_us(PP_FUTEX, 1, n);
}

static double
spin_pp(void *arg, int n)
{
	return pingpong_us(PP_SPIN, 1, n);
}

/* Both sides on CPU 0 (where the caller is pinned), handing over by
 * yielding: what a hand-over costs where only one CPU may run them. */
static double
yield_pp_one_cpu(void *arg, int n)
{
	return pingpong_us(PP_YIELD, 0, n);
}

static double
calls(void *arg, int n)
{
	return blocking_calls_us(*(syn_synchronizer *) arg, n);
}

/* The same blocking calls, each carrying a call context of two keys. */
static double
context_calls(void *arg, int n)
{
	syn_value id = syn_str("r-4242"), tenant = syn_int(12);
	if (syn_context_set("request", &id) != 0 ||
	    syn_context_set("tenant", &tenant) != 0) {
		die("syn_context_set", SYN_EINTERNAL);
	}
	double us = blocking_calls_us(*(syn_synchronizer *) arg, n);
	syn_context_clear();
	return us;
}

static double
bare_rate(void *arg, int n)
{
	return bare_pipelined_per_s(n);
}

static double
pipe_rate(void *arg, int n)
{
	return pipelined_per_s(*(syn_synchronizer *) arg, n);
}

static double
one_thread(void *arg, int n)
{
	return threads_per_s(*(syn_synchronizer *) arg, 1, n);
}

static double
eight_threads(void *arg, int n)
{
	return threads_per_s(*(syn_synchronizer *) arg, 8, n / 8);
}

static double
sixteen_threads(void *arg, int n)
{
	return threads_per_s(*(syn_synchronizer *) arg, 16, n / 16);
}

static double
stream_items(void *arg, int n)
{
	return lockstep_item_us(*(syn_synchronizer *) arg, n);
}

static double
typed_calls(void *arg, int n)
{
	return typed_calls_us(*(syn_synchronizer *) arg, n);
}

static double
method_calls(void *arg, int n)
{
	return method_calls_us(*(syn_synchronizer *) arg, n);
}

static double
list_on(void *arg, int n)
{
	return list1000_us(*(syn_synchronizer *) arg, n, "echo");
}

static double
list_off(void *arg, int n)
{
	return list1000_us(*(syn_synchronizer *) arg, n, "echo_raw");
}

static double
raw_rr(void *arg, int n)
{
	return raw_reqrep_us(n);
}

static double
door(void *arg, int n)
{
	return door_us(*(syn_synchronizer *) arg, n);
}

static double
remote_calls(void *arg, int n)
{
	return blocking_calls_us(*(syn_synchronizer *) arg, n);
}

/* ---- main
 * ------------------------------------------------------------------------ */

static void
note_ratio(const char *name, double ratio, const char *goal)
{
	record(name, ratio, "x", goal);
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "quick") == 0) {
		scale = 10;
	}
	char note[128];
	fprintf(stderr, "measuring (%s)...\n", scale > 1 ? "quick" : "full");

	/* Memory on a fresh heap, in a process of its own (fork+exec: nng
	 * must not be used across a fork). */
	double kib = 0, submit = 0;
	if (argc > 1 && strcmp(argv[1], "memory") == 0) {
		suspended_calls(100000,
		    argc > 2 && strcmp(argv[2], "shared") == 0, &kib, &submit);
		printf("%f %f\n", kib, submit);
		return 0;
	}
	if (want("memory")) {
		memory_child(argv[0], false, &kib, &submit);
		record("suspended_100k_kib_per_call", kib, "KiB",
		    "goal <= 4 (reference: 5.9)");
		record("submit_100k_ms", submit, "ms",
		    "goal <= 100 (reference: 17800)");
		memory_child(argv[0], true, &kib, &submit);
		record("suspended_100k_shared_kib_per_call", kib, "KiB",
		    "config.shared_stack; goal <= 4");
		record("submit_100k_shared_ms", submit, "ms",
		    "config.shared_stack; goal <= 100");
	}

	cpu_set_t cpus;
	pinning = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 &&
	    CPU_ISSET(0, &cpus) && CPU_ISSET(1, &cpus);
	fprintf(stderr, "%s\n",
	    pinning ? "callers on CPU 0, servers on CPU 1"
	            : "not pinned: fewer than two CPUs");
	syn_synchronizer quiet = make_sync(SYN_SPIN_OFF);
	syn_synchronizer spin  = make_sync(0);
	syn_value        one   = syn_int(1);
	pin_self(0);
	if (pinning &&
	    (syn_call(quiet, "pin", &one, 1, NULL) != 0 ||
	        syn_call(spin, "pin", &one, 1, NULL) != 0)) {
		die("pinning the actors", SYN_EINTERNAL);
	}
	pair p = { 0, 0, 0 };
	if (want("latency")) {
		p = interleave(futex_pp, calls, &quiet, 70000 / scale);
		record("baseline_futex_pingpong_us", p.base, "us", NULL);
		record("call_blocking_us", p.value, "us", "spinning off");
		note_ratio(
		    "ratio_call_blocking_vs_futex", p.ratio, "goal <= 1.5");

		p = interleave(spin_pp, calls, &spin, 1400000 / scale);
		record("baseline_spin_pingpong_us", p.base, "us", NULL);
		record("call_spin_us", p.value, "us", "default spinning");
		note_ratio("ratio_call_spin_vs_spin", p.ratio, "goal <= 5");

		p = interleave(calls, typed_calls, &spin, 1400000 / scale);
		record("typed_call_us", p.value, "us", "bt_add1(s, x, &r)");
		note_ratio("ratio_typed_vs_dynamic", p.ratio, "goal <= 1.05");

		p = interleave(calls, method_calls, &spin, 1400000 / scale);
		record("method_call_us", p.value, "us", "blocking, spinning");
		note_ratio("ratio_method_vs_function", p.ratio, "goal <= 1.1");

		p = interleave(calls, context_calls, &spin, 1400000 / scale);
		record("call_with_context_us", p.value, "us",
		    "a call context of 2 keys, spinning");
		note_ratio("ratio_context_vs_none", p.ratio,
		    "what a call context costs a call");

		if (pinning) { /* the actor moves to the caller's CPU */
			syn_value zero = syn_int(0);
			if (syn_call(spin, "pin", &zero, 1, NULL) != 0) {
				die("pinning the actor", SYN_EINTERNAL);
			}
			p = interleave(
			    yield_pp_one_cpu, calls, &spin, 140000 / scale);
			record("baseline_yield_pingpong_one_cpu_us", p.base,
			    "us", NULL);
			record("call_one_cpu_us", p.value, "us",
			    "caller and synchronizer on one CPU");
			note_ratio(
			    "ratio_call_one_cpu_vs_yield", p.ratio, NULL);
			if (syn_call(spin, "pin", &one, 1, NULL) != 0) {
				die("pinning the actor", SYN_EINTERNAL);
			}
		}
		syn_config shared = { .shared_stack = true };
		duo        d      = { spin, make_sync_cfg(&shared) };
		if (pinning && syn_call(d.b, "pin", &one, 1, NULL) != 0) {
			die("pinning the actor", SYN_EINTERNAL);
		}
		p = interleave(calls_on_a, calls_on_b, &d, 1400000 / scale);
		record("call_spin_shared_us", p.value, "us",
		    "config.shared_stack, default spinning");
		note_ratio("ratio_shared_vs_own_stacks", p.ratio,
		    "what a shared stack costs a call");
		syn_synchronizer_destroy(d.b);

		record("new_and_release_us",
		    new_release_us(spin, 200000 / scale), "us",
		    "syn_new + syn_proxy_release");
		p = interleave(list_off, list_on, &spin, 140000 / scale);
		record("translate_list1000_us", p.value, "us",
		    "1,000 ints in and out (reference: ~1,500)");
		record("translate_list1000_off_us", p.base, "us",
		    "SYN_METHOD_RAW (reference: ~110)");
	}

	if (want("stream")) {
		p = interleave(calls, stream_items, &spin, 1400000 / scale);
		record("stream_lockstep_item_us", p.value, "us", NULL);
		record("stream_lockstep_items_per_s", 1e6 / p.value, "/s",
		    "one item per round trip");
		note_ratio("ratio_stream_item_vs_call", p.ratio, "goal <= 1.2");
		record("stream_prefetch_items_per_s",
		    prefetch_items_per_s(spin, 20000000 / scale), "/s",
		    "window 1,024; goal >= 5,000,000");
		record("stream_rss_growth_kib",
		    stream_rss_growth_kib(spin, 10000000), "KiB",
		    "10,000,000 items; goal < 1,024");
	}

	if (want("pipelined")) {
		p = interleave(bare_rate, pipe_rate, &spin, 7000000 / scale);
		record("baseline_mpsc_future_per_s", p.base, "/s",
		    "1,000,000 in flight");
		record("call_future_pipelined_per_s", p.value, "/s",
		    "goal >= 3,000,000");
		note_ratio("ratio_pipelined_vs_mpsc", p.ratio, "goal >= 0.25");
	}

	/* Many threads, and the door with nng's own threads: unpinned, as
	 * they would run. */
	unpin_self();
	syn_value all = syn_int(-1);
	syn_call(quiet, "pin", &all, 1, NULL);
	syn_call(spin, "pin", &all, 1, NULL);
	if (want("threads")) {
		p = interleave(
		    one_thread, eight_threads, &spin, 1400000 / scale);
		record("calls_1thread_per_s", p.base, "/s", NULL);
		record("calls_8threads_per_s", p.value, "/s",
		    "goal >= the 1-thread rate");
		note_ratio("ratio_8threads_vs_1thread", p.ratio, "goal >= 1");

		p = interleave(
		    one_thread, sixteen_threads, &spin, 1400000 / scale);
		record("calls_16threads_per_s", p.value, "/s",
		    "16 threads calling one synchronizer");
		note_ratio("ratio_16threads_vs_1thread", p.ratio, NULL);

		/* Callers that sleep at once: one leaves the actor idle
		 * while it wakes, so more of them overlap. */
		p = interleave(
		    one_thread, eight_threads, &quiet, 140000 / scale);
		record(
		    "calls_1thread_nospin_per_s", p.base, "/s", "spinning off");
		record("calls_8threads_nospin_per_s", p.value, "/s",
		    "spinning off");
		note_ratio("ratio_8threads_vs_1thread_nospin", p.ratio, NULL);
	}

	if (want("actors")) {
		duo d = { spin, make_sync(0) };
		p     = interleave(
		        calls_on_b, actor_to_actor_us, &d, 1400000 / scale);
		record("actor_to_actor_call_us", p.value, "us",
		    "a task of A awaits add1 on B");
		note_ratio("ratio_actor_to_actor_vs_thread_call", p.ratio,
		    "vs a blocking call from a thread");
		syn_synchronizer_destroy(d.b);

		p = interleave(
		    thread_create_join_us, offload_us, &spin, 70000 / scale);
		record("baseline_thread_create_join_us", p.base, "us", NULL);
		record("offload_call_us", p.value, "us",
		    "a call whose task runs an empty job on the pool");
		note_ratio("ratio_offload_vs_thread_create", p.ratio, NULL);
	}

	if (want("remote")) {
		syn_synchronizer remote = serve_and_connect(quiet);
		p                       = interleave(
		                          raw_reqrep_tcp_us, remote_calls, &remote, 70000 / scale);
		record("baseline_nng_reqrep_tcp_us", p.base, "us", NULL);
		record("remote_tcp_call_us", p.value, "us",
		    "syn_connect over tcp");
		note_ratio(
		    "ratio_remote_tcp_vs_reqrep", p.ratio, "goal <= 1.3");
		double raw_rate    = raw_pipelined_tcp_per_s(200000 / scale);
		double remote_rate = pipelined_per_s(remote, 200000 / scale);
		record("baseline_nng_pipelined_tcp_per_s", raw_rate, "/s",
		    "nng pair0 echo over tcp, one message per call");
		record("remote_tcp_pipelined_per_s", remote_rate, "/s",
		    "futures from one client");
		note_ratio("ratio_remote_pipelined_vs_nng",
		    remote_rate / raw_rate, NULL);
		note_ratio("ratio_remote_pipelined_vs_blocking",
		    remote_rate * p.value / 1e6, "goal >= 10");
		record("remote_stream_items_per_s",
		    prefetch_items_per_s(remote, 2000000 / scale), "/s",
		    "prefetch window 1,024 over tcp");
		syn_synchronizer_destroy(remote);
	}

	if (want("door")) {
		p = interleave(raw_rr, door, &quiet, 70000 / scale);
		record("baseline_nng_reqrep_inproc_us", p.base, "us", NULL);
		record("call_nng_door_us", p.value, "us", NULL);
		note_ratio("ratio_nng_door_vs_reqrep", p.ratio, "goal <= 1.3");
	}

	if (want("switch")) {
		double sw = switch_ns(10000000 / scale);
		snprintf(note, sizeof(note), "%s switch, suspend + resume",
#ifdef SNI_CONTEXT_UCONTEXT
		    "ucontext"
#else
		    "fcontext"
#endif
		);
		record("task_switch_ns", sw, "ns", note);
		record("task_yield_through_loop_ns",
		    loop_yield_ns(1000000 / scale), "ns",
		    "syn_sleep(t, 0): switch + timer + loop");
	}

	syn_synchronizer_destroy(quiet);
	syn_synchronizer_destroy(spin);
	print_results();
	return 0;
}
