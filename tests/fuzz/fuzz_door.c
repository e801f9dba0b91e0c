/*
 * A stateful libFuzzer target for a served synchronizer's door: what a
 * hostile or buggy peer process can do to it.
 *
 * Once per process a synchronizer "fz" is created with a few exported
 * functions (square, sleep_ms, fail, echo, count, slow_items, make_counter,
 * sum, call_back, nap_back), a class Counter (add, value, plus, twin, upto)
 * and a function that is not exported (hidden); it is served on
 * tcp://127.0.0.1:0. Each input is a script of records:
 *
 *   [op: 1 byte][len: 2 bytes, little-endian][payload: len bytes]
 *
 * run over raw TCP connections that speak nng's SP protocol as a req0 peer
 * (the door is a cooked rep0 socket): each payload is a message body, sent
 * after a 4-byte request id (high bit set) as one SP frame. op % 8:
 *   0, 1, 2: send the payload on connection 0
 *   3:       send the payload on connection 1 (another peer)
 *   4:       wait for the replies outstanding (15 ms at most)
 *   5:       close connection 0 (its next send opens a new one)
 *   6:       send the payload on connection 0, then reset it (RST)
 *   7:       wait payload[0] % 8 ms, reading replies meanwhile
 * Before a send, a handle in the payload whose object id is the
 * placeholder F0F0F0F0F0F0F0kk becomes the kk-th object (mod how many) that
 * the server handed out in this input (an OBJECT ext of a reply), so the
 * fuzzer can call methods of objects whose ids it cannot know.
 *
 * Every reply must be a well-formed message of a reply kind (checked with
 * the library's own sni_msg_check): else abort(). After each input the
 * connections close, and the server must still answer square(x) on a
 * connection of its own within 5 s, and come back to no call in flight
 * and no Counter alive within 3 s: else abort() (a hang, a lost door, a
 * task or an object leaked by a peer that left).
 *
 * Environment: FUZZ_DOOR_VERBOSE=1 prints each message and reply;
 * FUZZ_DOOR_STRICT=1 aborts when a malformed request (one that
 * sni_msg_check refuses) got no answer; FUZZ_DOOR_SEEDS=dir writes the
 * built-in seed scripts into dir and exits; FUZZ_DOOR_NO_RST=1 closes
 * instead of resetting (op 6): a reset with two requests unanswered makes
 * nng 1.5.2's reaper hang for good (see DESIGN.md, "Other processes").
 * `make fuzz-door` builds it and runs it for FUZZ_SECONDS (60).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <synchronicity.h>

#include "core/door.h"
#include "core/task.h"
#include "proto/proto.h"

int    LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int    LLVMFuzzerInitialize(int *argc, char ***argv);
size_t LLVMFuzzerCustomMutator(
    uint8_t *data, size_t size, size_t max_size, unsigned int seed);
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

#define MAX_MESSAGE 65536
#define MAX_RECORDS 64
#define MAX_OUT 256 /* requests tracked per input */

static bool verbose, strict, no_rst;

/* ---- the server ---------------------------------------------------------
 */

static syn_synchronizer server;
static int              port;
static atomic_int       live_counters;
static atomic_long      unanswered_malformed, answered_malformed, id_mismatch,
    reply_count, input_count, eof_count;

static int64_t
clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int
square(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x;
	int     rc = syn_unpack(t, args, nargs, "i", &x);
	if (rc == 0) {
		*ret = syn_int((int64_t) ((uint64_t) x * (uint64_t) x));
	}
	return rc;
}

static int
sleep_ms(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc == 0 &&
	    (rc = syn_sleep(t, (syn_duration) clamp(ms, 0, 30))) == 0) {
		*ret = syn_int(ms);
	}
	return rc;
}

static int
fail(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	return rc != 0 ? rc
	               : syn_raise(t, SYN_EUSER((int) (n & 0xffff)),
	                     "boom %lld", (long long) n);
}

static int
echo(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const syn_value *v;
	int              rc = syn_unpack(t, args, nargs, "v", &v);
	if (rc == 0) {
		*ret = *v;
	}
	return rc;
}

static int
count(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	n          = clamp(n, 0, 100);
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		syn_value v = syn_int(i);
		syn_value sent;
		rc = syn_yield(t, &v, &sent);
	}
	return rc == SYN_EITERCLOSED ? 0 : rc;
}

static int
slow_items(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	for (int64_t i = 0; rc == 0 && i < 50; i++) {
		if ((rc = syn_sleep(t, (syn_duration) clamp(ms, 0, 10))) == 0) {
			syn_value v = syn_int(i);
			rc          = syn_yield(t, &v, NULL);
		}
	}
	return rc == SYN_EITERCLOSED ? 0 : rc;
}

static int
hidden(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t, (void) args, (void) nargs;
	*ret = syn_int(-1);
	return 0;
}

/* Awaits method(x) of the client's object p (a call back). */
static int
invoke_on(
    syn_task *t, syn_proxy *p, const char *method, int64_t x, syn_value *ret)
{
	syn_value        a = syn_int(x);
	syn_future      *f;
	const syn_value *v;
	int              rc = syn_invoke_future(p, method, &a, 1, &f);
	if (rc != 0) {
		return syn_raise(t, rc, "%s", syn_last_error()->message);
	}
	if ((rc = syn_await_timeout(t, f, 200)) == 0 &&
	    (rc = syn_future_value(f, &v)) == 0) {
		*ret = v->type == SYN_TYPE_INT ? *v : syn_nil();
	} else {
		const syn_error *e = syn_future_error(f);
		rc = syn_raise(t, rc, "%s", e != NULL ? e->message : "");
	}
	syn_future_free(f);
	return rc;
}

static int
call_back(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_proxy *p;
	int64_t    x;
	int        rc = syn_unpack(t, args, nargs, "Pi", &p, &x);
	return rc != 0 ? rc : invoke_on(t, p, "add", x, ret);
}

static int
nap_back(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_proxy *p;
	int64_t    ms;
	int        rc = syn_unpack(t, args, nargs, "Pi", &p, &ms);
	return rc != 0 ? rc : invoke_on(t, p, "nap", ms, ret);
}

typedef struct counter {
	int64_t value;
} counter;

static int
counter_init(syn_task *t, void *self, const syn_value *args, size_t nargs)
{
	int rc = syn_unpack(t, args, nargs, "i", &((counter *) self)->value);
	if (rc == 0) {
		atomic_fetch_add(&live_counters, 1);
	}
	return rc;
}

static void
counter_fini(void *self)
{
	(void) self;
	atomic_fetch_sub(&live_counters, 1);
}

static int
counter_add(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	counter *c = self;
	int64_t  n;
	int      rc = syn_unpack(t, args, nargs, "i", &n);
	c->value    = (int64_t) ((uint64_t) c->value + (uint64_t) (rc ? 0 : n));
	*ret        = syn_int(c->value);
	return rc;
}

static int
counter_value(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) t, (void) args, (void) nargs;
	*ret = syn_int(((counter *) self)->value);
	return 0;
}

static int
counter_plus(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	void *other;
	int   rc = syn_unpack(t, args, nargs, "o", &other);
	if (rc == 0) {
		*ret = syn_int(
		    ((counter *) self)->value + ((counter *) other)->value);
	}
	return rc;
}

static int
counter_twin(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) args, (void) nargs;
	syn_value v = syn_int(((counter *) self)->value);
	void     *twin;
	int       rc = syn_object_new(t, "Counter", &v, 1, &twin);
	if (rc == 0) {
		*ret = syn_object(twin);
	}
	return rc;
}

static int
counter_upto(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) ret;
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	n          = clamp(n, 0, 20);
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		syn_value v = syn_int(((counter *) self)->value + i);
		void     *c;
		if ((rc = syn_object_new(t, "Counter", &v, 1, &c)) == 0) {
			syn_value o = syn_object(c);
			rc          = syn_yield(t, &o, NULL);
		}
	}
	return rc == SYN_EITERCLOSED ? 0 : rc;
}

static const syn_method_def counter_methods[] = {
	{ "add", SYN_KIND_FUNCTION, counter_add, 0 },
	{ "value", SYN_KIND_FUNCTION, counter_value, SYN_METHOD_GETTER },
	{ "plus", SYN_KIND_FUNCTION, counter_plus, 0 },
	{ "twin", SYN_KIND_FUNCTION, counter_twin, 0 },
	{ "upto", SYN_KIND_GENERATOR, counter_upto, 0 },
};

static int
make_counter(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	void *c;
	int   rc = syn_object_new(t, "Counter", args, nargs, &c);
	if (rc == 0) {
		*ret = syn_object(c);
	}
	return rc;
}

static int
sum(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t total = 0;
	if (nargs != 1 || args[0].type != SYN_TYPE_LIST) {
		return syn_raise(t, SYN_EINVAL, "sum([counters])");
	}
	for (uint32_t i = 0; i < args[0].len; i++) {
		if (args[0].as.list[i].type != SYN_TYPE_OBJECT) {
			return syn_raise(t, SYN_EINVAL, "not a Counter");
		}
		total += ((counter *) args[0].as.list[i].as.object)->value;
	}
	*ret = syn_int(total);
	return 0;
}

static void
start_server(void)
{
	syn_config cfg = { .name = "fz",
		.max_message     = MAX_MESSAGE,
		.spin_us         = SYN_SPIN_OFF };
	if (syn_synchronizer_new(&server, &cfg) != 0) {
		fprintf(stderr, "fuzz_door: synchronizer: %s\n",
		    syn_last_error()->message);
		abort();
	}
	static const struct {
		const char *name;
		int         kind;
		syn_func_fn fn;
	} fns[] = {
		{ "square", SYN_KIND_FUNCTION, square },
		{ "sleep_ms", SYN_KIND_FUNCTION, sleep_ms },
		{ "fail", SYN_KIND_FUNCTION, fail },
		{ "echo", SYN_KIND_FUNCTION, echo },
		{ "count", SYN_KIND_GENERATOR, count },
		{ "slow_items", SYN_KIND_GENERATOR, slow_items },
		{ "hidden", SYN_KIND_FUNCTION, hidden },
		{ "make_counter", SYN_KIND_FUNCTION, make_counter },
		{ "sum", SYN_KIND_FUNCTION, sum },
		{ "call_back", SYN_KIND_FUNCTION, call_back },
		{ "nap_back", SYN_KIND_FUNCTION, nap_back },
	};
	syn_class_def cd = { "Counter", sizeof(counter), counter_init,
		counter_fini, counter_methods,
		sizeof(counter_methods) / sizeof(counter_methods[0]), 0 };
	if (syn_register_class(server, &cd) != 0) {
		abort();
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		syn_func_def d = { fns[i].name, fns[i].kind, fns[i].fn, NULL };
		if (syn_register(server, &d) != 0) {
			abort();
		}
	}
	static const char *const exports[] = { "square", "sleep_ms", "fail",
		"echo", "count", "slow_items", "make_counter", "sum",
		"call_back", "nap_back", "Counter", NULL };
	syn_serve_config         scfg      = { .exports = exports,
		             .max_message               = MAX_MESSAGE,
		             .reply_timeout             = 300 };
	char                     bound[256];
	if (syn_serve(server, "tcp://127.0.0.1:0", &scfg, bound,
	        sizeof(bound)) != 0) {
		fprintf(stderr, "fuzz_door: serve: %s\n",
		    syn_last_error()->message);
		abort();
	}
	port = atoi(strrchr(bound, ':') + 1);
}

/* ---- a raw SP (req0) peer over TCP ------------------------------------
 */

static uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

typedef struct out_req {
	uint32_t req_id;
	int      conn;
	int      kind;      /* sni_msg_kind of what was sent */
	bool     malformed; /* sni_msg_check refused it */
	bool     answered;
	bool     has_id;
	uint64_t call_id; /* readable from the body */
} out_req;

typedef struct conn {
	int      fd; /* -1: none */
	bool     eof;
	uint8_t *rx;
	size_t   rx_len, rx_cap;
	uint32_t next_id;
} conn;

static bool
write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pf = { fd, POLLOUT, 0 };
			if (poll(&pf, 1, 1000) == 0) {
				return false;
			}
			continue;
		}
		if (w <= 0) {
			return false;
		}
		b += w;
		n -= (size_t) w;
	}
	return true;
}

static bool
read_exact(int fd, void *p, size_t n, int timeout_ms)
{
	uint8_t *b = p;
	while (n > 0) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int           k  = poll(&pf, 1, timeout_ms);
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			return false;
		}
		ssize_t r = recv(fd, b, n, 0);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			return false;
		}
		b += r;
		n -= (size_t) r;
	}
	return true;
}

/* Opens c: TCP connect and SP handshake as a req0 peer. */
static bool
conn_open(conn *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return false;
	}
	struct sockaddr_in sa  = { .sin_family = AF_INET,
		 .sin_port                     = htons((uint16_t) port),
		 .sin_addr.s_addr              = htonl(INADDR_LOOPBACK) };
	int                one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* from 127.0.0.2 to 127.0.0.251 in turn: a closed connection stays
	 * in TIME_WAIT for a minute, and one source address has 28,000
	 * ports */
	static unsigned    src;
	struct sockaddr_in me = { .sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + (src++ % 250)) };
	int                rc = bind(fd, (struct sockaddr *) &me, sizeof(me));
	if (rc == 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
		/* (a signal, libFuzzer's: the connect goes on) */
		struct pollfd pf  = { fd, POLLOUT, 0 };
		int           err = errno;
		socklen_t     len = sizeof(err);
		while (err == EINTR && poll(&pf, 1, 2000) < 0 &&
		    errno == EINTR) { }
		if (err == EINTR) {
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		}
		rc    = err == 0 ? 0 : -1;
		errno = err;
	}
	if (rc != 0) {
		fprintf(stderr, "fuzz_door: connect: %s\n", strerror(errno));
		close(fd);
		return false;
	}
	static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, 0x30, 0, 0 };
	uint8_t              theirs[8];
	if (!write_all(fd, hello, 8) || !read_exact(fd, theirs, 8, 2000) ||
	    theirs[1] != 'S' || theirs[5] != 0x31) {
		fprintf(stderr, "fuzz_door: no SP handshake from the door\n");
		close(fd);
		return false;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c->fd      = fd;
	c->eof     = false;
	c->rx_len  = 0;
	c->next_id = 0x80000001u;
	return true;
}

static bool conn_pump(conn *c);

/* Closes c: with an RST (reset), or gracefully: a FIN, then what the
 * server still sends is read until it closes too (100 ms at most), so
 * that the kernel never turns the close into an RST. */
static void
conn_close(conn *c, bool reset)
{
	if (c->fd >= 0) {
		if (reset) {
			struct linger l = { 1, 0 };
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		} else if (!c->eof && shutdown(c->fd, SHUT_WR) == 0) {
			uint64_t end = now_ms() + 100;
			while (now_ms() < end && conn_pump(c)) {
				struct pollfd pf = { c->fd, POLLIN, 0 };
				poll(&pf, 1, 10);
				c->rx_len = 0; /* (not read any more) */
			}
		}
		close(c->fd);
	}
	c->fd     = -1;
	c->rx_len = 0;
}

/* Sends body as one request with a new request id; false if it could
 * not be sent. */
static bool
conn_send(conn *c, const uint8_t *body, size_t len, uint32_t *req_id)
{
	uint8_t  head[12];
	uint64_t n = len + 4;
	*req_id    = c->next_id++;
	if (c->next_id == 0) {
		c->next_id = 0x80000001u;
	}
	for (int i = 0; i < 8; i++) {
		head[i] = (uint8_t) (n >> (56 - 8 * i));
	}
	head[8]  = (uint8_t) (*req_id >> 24);
	head[9]  = (uint8_t) (*req_id >> 16);
	head[10] = (uint8_t) (*req_id >> 8);
	head[11] = (uint8_t) *req_id;
	return write_all(c->fd, head, 12) && write_all(c->fd, body, len);
}

/* Reads what has arrived on c (no wait); false at EOF or error. */
static bool
conn_pump(conn *c)
{
	for (;;) {
		if (c->rx_cap - c->rx_len < 65536) {
			size_t   cap = c->rx_cap * 2 + 65536;
			uint8_t *rx  = realloc(c->rx, cap);
			if (rx == NULL) {
				abort();
			}
			c->rx     = rx;
			c->rx_cap = cap;
		}
		ssize_t r =
		    recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
		if (r > 0) {
			c->rx_len += (size_t) r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			return true;
		}
		c->eof = true;
		return false;
	}
}

/* The next whole frame in c's buffer: its payload (req id + body). */
static bool
conn_frame(conn *c, uint8_t **payload, size_t *len, size_t *used)
{
	if (c->rx_len < 8) {
		return false;
	}
	uint64_t n = 0;
	for (int i = 0; i < 8; i++) {
		n = n << 8 | c->rx[i];
	}
	if (n > (uint64_t) 64 << 20) {
		fprintf(stderr, "fuzz_door: a reply frame of %llu bytes\n",
		    (unsigned long long) n);
		abort();
	}
	if (c->rx_len < 8 + n) {
		return false;
	}
	*payload = c->rx + 8;
	*len     = (size_t) n;
	*used    = 8 + (size_t) n;
	return true;
}

static void
conn_consume(conn *c, size_t used)
{
	memmove(c->rx, c->rx + used, c->rx_len - used);
	c->rx_len -= used;
}

static void
hexdump(const char *what, const uint8_t *p, size_t n)
{
	fprintf(stderr, "%s (%zu):", what, n);
	for (size_t i = 0; i < n && i < 512; i++) {
		fprintf(stderr, " %02x", p[i]);
	}
	fprintf(stderr, "%s\n", n > 512 ? " ..." : "");
}

/* ---- one input ----------------------------------------------------------
 */

typedef struct run {
	conn     conns[2];
	out_req  out[MAX_OUT];
	uint32_t nout;
	uint64_t objects[64]; /* object ids handed out in replies */
	uint32_t nobjects;
	uint32_t outstanding;
} run;

static const sni_limits reply_lim   = { SNI_MAX_DEPTH, (size_t) 64 << 20, false,
	  false, false, false };
static const sni_limits request_lim = { SNI_DEFAULT_MAX_DEPTH, MAX_MESSAGE,
	false, false, true, false };

/* Notes the object ids of the OBJECT exts in a reply. */
static void
note_objects(run *r, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i + 18 <= n && r->nobjects < 64; i++) {
		if (b[i] == 0xd8 && b[i + 1] == SNI_EXT_OBJECT) {
			uint64_t obj = 0;
			for (int k = 0; k < 8; k++) {
				obj = obj << 8 | b[i + 10 + k];
			}
			r->objects[r->nobjects++] = obj;
			i += 17;
		}
	}
}

/* A reply kind: what the door may answer with. */
static bool
reply_kind(int kind)
{
	return kind == SNI_MSG_RETURN || kind == SNI_MSG_ERROR ||
	    kind == SNI_MSG_END || kind == SNI_MSG_ITEMS ||
	    kind == SNI_MSG_RAW || kind == SNI_MSG_CALLBACK ||
	    kind == SNI_MSG_REPLIES;
}

static void
check_reply(run *r, int ci, const uint8_t *p, size_t n)
{
	if (n < 4) {
		hexdump("fuzz_door: a reply without its request id", p, n);
		abort();
	}
	uint32_t id = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
	    (uint32_t) p[2] << 8 | p[3];
	const uint8_t *body = p + 4;
	size_t         len  = n - 4;
	int            kind = 0;
	atomic_fetch_add(&reply_count, 1);
	if (verbose) {
		char what[64];
		snprintf(what, sizeof(what), "  <- conn %d req %08x", ci, id);
		hexdump(what, body, len);
	}
	if (sni_msg_check(body, len, &reply_lim, &kind) != 0 ||
	    !reply_kind(kind)) {
		hexdump("fuzz_door: a malformed reply", body, len);
		fprintf(stderr, "  (%s)\n",
		    sni_msg_check(body, len, &reply_lim, &kind) != 0
		        ? "refused by sni_msg_check"
		        : "not a reply kind");
		abort();
	}
	note_objects(r, body, len);
	for (uint32_t i = 0; i < r->nout; i++) {
		out_req *o = &r->out[i];
		if (o->conn != ci || o->req_id != id || o->answered) {
			continue;
		}
		o->answered = true;
		r->outstanding--;
		if (o->malformed) {
			atomic_fetch_add(&answered_malformed, 1);
		}
		uint64_t cid = 0;
		sni_msg_call_id(body, len, &cid);
		if (cid != (o->has_id ? o->call_id : 0) && cid != 0) {
			atomic_fetch_add(&id_mismatch, 1);
			if (verbose) {
				fprintf(stderr,
				    "  reply call id %llu for a request of "
				    "%llu\n",
				    (unsigned long long) cid,
				    (unsigned long long) o->call_id);
			}
		}
		return;
	}
	/* (a reply to a request of an earlier connection cannot come here:
	 * each connection is new) */
	fprintf(stderr, "fuzz_door: a reply to request %08x never sent\n", id);
	abort();
}

/* Reads whatever replies have arrived on connection ci. */
static void
drain(run *r, int ci)
{
	conn *c = &r->conns[ci];
	if (c->fd < 0 || c->eof) {
		return;
	}
	conn_pump(c);
	uint8_t *p;
	size_t   len, used;
	while (conn_frame(c, &p, &len, &used)) {
		check_reply(r, ci, p, len);
		conn_consume(c, used);
	}
	if (c->eof) {
		atomic_fetch_add(&eof_count, 1);
		/* the server closed it (a frame over the limit, a stalled
		 * reply): what it did not answer is not waited for */
		for (uint32_t i = 0; i < r->nout; i++) {
			if (r->out[i].conn == ci && !r->out[i].answered) {
				r->out[i].answered = true;
				r->outstanding--;
			}
		}
	}
}

/* Waits up to ms for every request outstanding to be answered. */
static void
wait_replies(run *r, int ms)
{
	uint64_t end = now_ms() + (uint64_t) ms;
	for (;;) {
		drain(r, 0);
		drain(r, 1);
		uint64_t now = now_ms();
		if (r->outstanding == 0 || now >= end) {
			return;
		}
		struct pollfd pf[2];
		nfds_t        n = 0;
		for (int i = 0; i < 2; i++) {
			if (r->conns[i].fd >= 0 && !r->conns[i].eof) {
				pf[n++] = (struct pollfd) { r->conns[i].fd,
					POLLIN, 0 };
			}
		}
		if (n == 0) {
			return;
		}
		poll(pf, n, (int) (end - now));
	}
}

/* A placeholder handle (object F0F0F0F0F0F0F0kk) names the kk-th object
 * handed out (mod their count). */
static void
patch_handles(const run *r, uint8_t *b, size_t n)
{
	if (r->nobjects == 0) {
		return;
	}
	for (size_t i = 0; i + 18 <= n; i++) {
		if (b[i] != 0xd8 || b[i + 1] < 1 || b[i + 1] > 5) {
			continue;
		}
		uint8_t *obj = b + i + 10;
		bool     ph  = true;
		for (int k = 0; k < 7 && ph; k++) {
			ph = obj[k] == 0xf0;
		}
		if (!ph) {
			continue;
		}
		uint64_t id = r->objects[obj[7] % r->nobjects];
		for (int k = 0; k < 8; k++) {
			obj[k] = (uint8_t) (id >> (56 - 8 * k));
		}
		i += 17;
	}
}

static void
send_on(run *r, int ci, const uint8_t *payload, size_t len)
{
	conn *c = &r->conns[ci];
	if (c->fd >= 0 && c->eof) {
		conn_close(c, false);
	}
	if (c->fd < 0 && !conn_open(c)) {
		fprintf(stderr, "fuzz_door: cannot connect to the door\n");
		abort();
	}
	uint8_t body[MAX_MESSAGE + 16];
	memcpy(body, payload, len);
	patch_handles(r, body, len);
	out_req o = { .conn = ci };
	o.kind    = sni_msg_kind(body, len);
	int k;
	o.malformed = sni_msg_check(body, len, &request_lim, &k) != 0;
	o.has_id    = sni_msg_call_id(body, len, &o.call_id) == 0;
	if (verbose) {
		char what[64];
		snprintf(what, sizeof(what), "  -> conn %d req %08x%s", ci,
		    c->next_id, o.malformed ? " (malformed)" : "");
		hexdump(what, body, len);
	}
	if (!conn_send(c, body, len, &o.req_id)) {
		c->eof = true; /* closed under us: the next send reopens */
		return;
	}
	if (r->nout < MAX_OUT) {
		r->out[r->nout++] = o;
		r->outstanding++;
	}
	drain(r, ci);
}

/* Closes connection ci (reset: with an RST); its requests are not
 * waited for. */
static void
close_conn(run *r, int ci, bool reset)
{
	drain(r, ci);
	conn_close(&r->conns[ci], reset);
	for (uint32_t i = 0; i < r->nout; i++) {
		if (r->out[i].conn == ci && !r->out[i].answered) {
			r->out[i].answered = true; /* (not counted as lost) */
			r->out[i].conn     = -1;
			r->outstanding--;
		}
	}
}

/* ---- the server's health, between inputs --------------------------------
 */

static conn checker = { .fd = -1 };

/* square(x) on a connection of its own: the door still serves. */
static void
check_alive(void)
{
	static uint32_t x = 1;
	if (checker.fd < 0 && !conn_open(&checker)) {
		fprintf(stderr, "fuzz_door: the door takes no connection\n");
		abort();
	}
	x                 = x % 1000 + 1;
	uint8_t  body[16] = { 0xc1, 1, 1, 0x05, 0xc0, 0xa6, 's', 'q', 'u', 'a',
		 'r', 'e', 0x91, 0xcd, (uint8_t) (x >> 8), (uint8_t) x };
	size_t   len      = 16;
	uint32_t id;
	if (!conn_send(&checker, body, len, &id)) {
		fprintf(stderr, "fuzz_door: the health check cannot send\n");
		abort();
	}
	uint64_t end = now_ms() + 5000;
	while (now_ms() < end) {
		struct pollfd pf = { checker.fd, POLLIN, 0 };
		poll(&pf, 1, 50);
		if (!conn_pump(&checker)) {
			fprintf(stderr,
			    "fuzz_door: the door closed the health "
			    "check's connection\n");
			abort();
		}
		uint8_t *p;
		size_t   n, used;
		if (!conn_frame(&checker, &p, &n, &used)) {
			continue;
		}
		syn_value v;
		uint32_t  rid = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 |
		    (uint32_t) p[2] << 8 | p[3];
		if (rid != id || !sni_msg_simple_return(p + 4, n - 4, &v) ||
		    v.type != SYN_TYPE_INT || v.as.i != (int64_t) x * x) {
			hexdump("fuzz_door: a wrong answer to the health check",
			    p, n);
			abort();
		}
		conn_consume(&checker, used);
		return;
	}
	fprintf(stderr,
	    "fuzz_door: the door did not answer square(%u) "
	    "within 5 s\n",
	    x);
	abort();
}

/* For a report: the server's live tasks, read racily (the loop may run
 * meanwhile: a diagnostic when it has been idle for seconds). */
static void
dump_tasks(void)
{
	sni_actor *a;
	if (sni_actor_hold(server.id, &a) != 0) {
		return;
	}
	for (sni_task *t = a->tasks; t != NULL; t = t->next) {
		fprintf(stderr,
		    "  task %s: wait %d, done %d, cancelled %d, origin %d, "
		    "pending %p, call id %llu, stream %llu, window %u, pipe %u "
		    "(%s), close_asked %d, close_ptr %p, remote %d\n",
		    t->call.name, t->wait, t->done, (int) t->cancelled,
		    t->origin, t->origin_ptr, (unsigned long long) t->call_id,
		    (unsigned long long) t->gen.stream, t->gen.window,
		    t->gen.pipe,
		    t->gen.pipe == 0                         ? "local"
		        : sni_door_pipe_gone(a, t->gen.pipe) ? "gone"
		                                             : "live",
		    t->gen.close_asked, t->gen.close_ptr, t->remote);
		if (t->gen.pipe != 0) {
			size_t sz = 0;
			int    rc = nng_pipe_get_size(
			       (nng_pipe) { t->gen.pipe }, NNG_OPT_RECVMAXSZ, &sz);
			fprintf(stderr, "    nng's pipe %u: %s\n", t->gen.pipe,
			    rc == 0 ? "open" : nng_strerror(rc));
		}
	}
	sni_actor_release(a);
	char cmd[256];
	snprintf(cmd, sizeof(cmd),
	    "ss -tanp 'sport = :%d or dport = :%d' >&2; ls -l /proc/%d/fd | "
	    "grep socket >&2",
	    port, port, (int) getpid());
	if (system(cmd) != 0) {
		fprintf(stderr, "  (ss failed)\n");
	}
}

/* Nothing a peer started outlives it: no call in flight, no Counter. */
static void
check_settled(void)
{
	uint64_t  end = now_ms() + 3000;
	syn_stats st;
	for (;;) {
		if (syn_synchronizer_stats(server, &st) != 0) {
			abort();
		}
		int live = atomic_load(&live_counters);
		if (st.calls_in_flight == 0 && live == 0) {
			return;
		}
		if (now_ms() >= end) {
			fprintf(stderr,
			    "fuzz_door: 3 s after the peers left, %llu calls "
			    "still in flight (%llu suspended) and %d Counters "
			    "alive\n",
			    (unsigned long long) st.calls_in_flight,
			    (unsigned long long) st.tasks_suspended, live);
			dump_tasks();
			abort();
		}
		usleep(1000);
	}
}

/* The sockets this process holds: the listener, the health check's two
 * ends, and the door's pipes that nng has not closed. */
static int
count_sockets(void)
{
	DIR *d = opendir("/proc/self/fd");
	int  n = 0;
	if (d == NULL) {
		return 0;
	}
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		char path[64], link[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(path, link, sizeof(link) - 1);
		n += k > 7 && strncmp(link, "socket:", 7) == 0;
	}
	closedir(d);
	return n;
}

/* Every peer's connection is closed by the server once it left: a pipe
 * nng never reaps keeps its socket (and all the peer held) for good. */
static void
check_sockets(void)
{
	uint64_t end = now_ms() + 2000;
	int      n;
	while ((n = count_sockets()) > 8) {
		if (now_ms() >= end) {
			fprintf(stderr,
			    "fuzz_door: %d sockets open 2 s after the peers "
			    "left (nng did not close their pipes)\n",
			    n);
			dump_tasks();
			abort();
		}
		usleep(1000);
	}
}

/* ---- the script --------------------------------------------------------
 */

typedef struct record {
	uint8_t        op;
	const uint8_t *payload;
	size_t         len;
} record;

/* Splits data into records (a short last one is cut to what is left). */
static size_t
parse(const uint8_t *data, size_t size, record *rec, size_t max)
{
	size_t n = 0, i = 0;
	while (i < size && n < max) {
		uint8_t op  = data[i++];
		size_t  len = 0;
		if (i + 2 <= size) {
			len = (size_t) data[i] | (size_t) data[i + 1] << 8;
			i += 2;
		} else {
			i = size;
		}
		if (len > size - i) {
			len = size - i;
		}
		rec[n++] = (record) { op, data + i, len };
		i += len;
	}
	return n;
}

static void
report(void)
{
	if (getenv("FUZZ_DOOR_NO_DESTROY") == NULL) {
		/* what is left goes: LeakSanitizer's report at exit then
		 * shows what the destroy did not free */
		syn_synchronizer_destroy(server);
		if (checker.fd >= 0) {
			conn_close(&checker, false);
		}
	}
	fprintf(stderr,
	    "fuzz_door: %ld inputs, %ld replies, malformed requests answered "
	    "%ld / unanswered %ld, reply call id mismatches %ld, connections "
	    "closed by the server %ld\n",
	    atomic_load(&input_count), atomic_load(&reply_count),
	    atomic_load(&answered_malformed),
	    atomic_load(&unanswered_malformed), atomic_load(&id_mismatch),
	    atomic_load(&eof_count));
}

static void write_seeds(const char *dir);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void) argc, (void) argv;
	verbose          = getenv("FUZZ_DOOR_VERBOSE") != NULL;
	strict           = getenv("FUZZ_DOOR_STRICT") != NULL;
	no_rst           = getenv("FUZZ_DOOR_NO_RST") != NULL;
	const char *seed = getenv("FUZZ_DOOR_SEEDS");
	if (seed != NULL) {
		write_seeds(seed);
		exit(0);
	}
	start_server();
	atexit(report);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static run r;
	record     rec[MAX_RECORDS];
	size_t     n = parse(data, size, rec, MAX_RECORDS);
	atomic_fetch_add(&input_count, 1);
	memset(&r.out, 0, sizeof(r.out));
	r.nout = r.outstanding = r.nobjects = 0;
	for (int i = 0; i < 2; i++) {
		r.conns[i].fd  = -1;
		r.conns[i].eof = false;
	}
	for (size_t i = 0; i < n; i++) {
		const record *x = &rec[i];
		switch (x->op % 8) {
		case 0:
		case 1:
		case 2:
			send_on(&r, 0, x->payload, x->len);
			break;
		case 3:
			send_on(&r, 1, x->payload, x->len);
			break;
		case 4:
			wait_replies(&r, 15);
			break;
		case 5:
			close_conn(&r, 0, false);
			break;
		case 6:
			send_on(&r, 0, x->payload, x->len);
			close_conn(&r, 0, !no_rst);
			break;
		case 7:
			wait_replies(&r, 0);
			usleep((useconds_t) ((x->len > 0 ? x->payload[0] : 0) %
			           8) *
			    1000);
			break;
		}
	}
	wait_replies(&r, 20);
	for (uint32_t i = 0; i < r.nout; i++) {
		out_req *o = &r.out[i];
		if (!o->answered && o->malformed) {
			atomic_fetch_add(&unanswered_malformed, 1);
			fprintf(stderr,
			    "fuzz_door: a malformed request (kind %d, call id "
			    "%llu) got no answer within 20 ms\n",
			    o->kind, (unsigned long long) o->call_id);
			if (strict) {
				abort();
			}
		}
	}
	close_conn(&r, 0, false);
	close_conn(&r, 1, false);
	check_alive();
	check_settled();
	check_sockets();
	return 0;
}

/* ---- structure-aware mutation -------------------------------------------
 */

#define S(x) (const uint8_t *) (x), sizeof(x) - 1

/* Messages a client sends, as seeds and as what the mutator inserts.
 * Call ids are small and distinct; F0F0F0F0F0F0F0kk is the placeholder
 * of the kk-th object handed out. */
static const struct tmpl {
	const uint8_t *b;
	size_t         n;
} templates[] = {
	/* 0 HELLO, largest reply 64 KiB */
	{ S("\xc1\x01\x12\x01\xce\x00\x01\x00\x00") },
	/* 1 CALL square(7) */
	{ S("\xc1\x01\x01\x02\xc0\xa6square\x91\x07") },
	/* 2 CALL sleep_ms(20) */
	{ S("\xc1\x01\x01\x03\xc0\xa8sleep_ms\x91\x14") },
	/* 3 CALL fail(3) */
	{ S("\xc1\x01\x01\x04\xc0\xa4"
	    "fail\x91\x03") },
	/* 4 CALL echo([nil, true, -1, "a", {"k": 1.5}, bin]) */
	{ S("\xc1\x01\x01\x05\xc0\xa4"
	    "echo\x91\x96\xc0\xc3\xff\xa1"
	    "a\x81"
	    "\xa1k\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00\xc4\x01\x00") },
	/* 5 OPEN count(3), stream 256, lock-step */
	{ S("\xc1\x01\x04\x06\xc0\xa5"
	    "count\x91\x03\xcd\x01\x00\x00") },
	/* 6 NEXT stream 256 */
	{ S("\xc1\x01\x05\x07\xcd\x01\x00\xc0") },
	/* 7 CLOSE stream 256 */
	{ S("\xc1\x01\x06\x08\xcd\x01\x00") },
	/* 8 OPEN count(10), stream 257, window 4 */
	{ S("\xc1\x01\x04\x09\xc0\xa5"
	    "count\x91\x0a\xcd\x01\x01\x04") },
	/* 9 NEXT stream 257 */
	{ S("\xc1\x01\x05\x0a\xcd\x01\x01\xc0") },
	/* 10 CANCEL of call 3 (sleep_ms) */
	{ S("\xc1\x01\x0b\x0b\x03") },
	/* 11 POLL */
	{ S("\xc1\x01\x0c\x0c") },
	/* 12 CALL make_counter(5) */
	{ S("\xc1\x01\x01\x0d\xc0\xacmake_counter\x91\x05") },
	/* 13 CALL Counter(1): a constructor, target object 0 */
	{ S("\xc1\x01\x01\x0e\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\x00\x00\x00\x00\x00\x00\x00\x00\xa7"
	    "Counter\x91\x01") },
	/* 14 CALL add(2) on object 0 handed out */
	{ S("\xc1\x01\x01\x0f\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x00\xa3"
	    "add\x91\x02") },
	/* 15 CALL twin() on object 0 */
	{ S("\xc1\x01\x01\x10\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x00\xa4twin\x90") },
	/* 16 CALL plus(object 1) on object 0 */
	{ S("\xc1\x01\x01\x11\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x00\xa4plus\x91\xd8\x01\x00\x00\x00"
	    "\x00\x00\x00\x00\x01\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x01") },
	/* 17 OPEN upto(3) on object 0, stream 258, lock-step */
	{ S("\xc1\x01\x04\x12\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x00\xa4upto\x91\x03\xcd\x01\x02"
	    "\x00") },
	/* 18 RELEASE 1 reference of object 0 */
	{ S("\xc1\x01\x09\x00\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x00\x01") },
	/* 19 CALL call_back(client object 1:2, 5): lends it */
	{ S("\xc1\x01\x01\x13\xc0\xa9"
	    "call_back\x92\xd8\x01\x80\x00\x00\x00"
	    "\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x05") },
	/* 20 RESULT for callback 1: RETURN 6 */
	{ S("\xc1\x01\x0e\x14\x01\xc4\x05\xc1\x01\x02\x00\x06") },
	/* 21 RESULT for callback 1: ERROR */
	{ S("\xc1\x01\x0e\x15\x01\xc4\x0f\xc1\x01\x03\x00\xc7\x08\x02\x93"
	    "\x05\xa3"
	    "abc\xa1x") },
	/* 22 BATCH 0x16 of square(3) 0x17 and sleep_ms(10) 0x18 */
	{ S("\xc1\x01\x0f\x16\x00\x02\xc4\x0e\xc1\x01\x01\x17\xc0\xa6square"
	    "\x91\x03\xc4\x10\xc1\x01\x01\x18\xc0\xa8sleep_ms\x91\x0a") },
	/* 23 FETCH of batch 0x16 */
	{ S("\xc1\x01\x11\x19\x16") },
	/* 24 CALL sum([object 0, object 1]) */
	{ S("\xc1\x01\x01\x1a\xc0\xa3sum\x91\x92\xd8\x01\x00\x00\x00\x00\x00"
	    "\x00\x00\x01\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x00\xd8\x01\x00\x00\x00"
	    "\x00\x00\x00\x00\x01\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x01") },
	/* 25 CALL nap_back(client object 1:3, 50) */
	{ S("\xc1\x01\x01\x1b\xc0\xa8nap_back\x92\xd8\x01\x80\x00\x00\x00"
	    "\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x32") },
	/* 26 OPEN slow_items(2), stream 259, window 8 */
	{ S("\xc1\x01\x04\x1c\xc0\xaaslow_items\x91\x02\xcd\x01\x03\x08") },
	/* 27 CALL hidden() (not exported) */
	{ S("\xc1\x01\x01\x1d\xc0\xa6hidden\x90") },
	/* 28 CANCEL of call 0x13 (call_back) */
	{ S("\xc1\x01\x0b\x1e\x13") },
	/* 29 CALL value on object 0 */
	{ S("\xc1\x01\x01\x1f\xd8\x01\x00\x00\x00\x00\x00\x00\x00\x01"
	    "\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x00\xa5value\x90") },
	/* 30 NEXT stream 258 (upto) */
	{ S("\xc1\x01\x05\x20\xcd\x01\x02\xc0") },
	/* 31 BATCH 0x21 of a CALL and an OPEN (a batch carries calls only) */
	{ S("\xc1\x01\x0f\x21\x00\x02\xc4\x0e\xc1\x01\x01\x22\xc0\xa6square"
	    "\x91\x03\xc4\x11\xc1\x01\x04\x23\xc0\xa5"
	    "count\x91\x03\xcd\x01"
	    "\x04\x00") },
	/* 32 CALL make_counter with an OBJECT ext (refused from a client) */
	{ S("\xc1\x01\x01\x24\xc0\xa4"
	    "echo\x91\xd8\x04\x00\x00\x00\x00\x00"
	    "\x00\x00\x01\xf0\xf0\xf0\xf0\xf0\xf0\xf0\x00") },
	/* 33 RESULT for callback 2 wrapping END */
	{ S("\xc1\x01\x0e\x25\x02\xc4\x04\xc1\x01\x07\x00") },
	/* 34 CANCEL of call 0x1b (nap_back) */
	{ S("\xc1\x01\x0b\x26\x1b") },
	/* 35 NEXT stream 259 (slow_items) */
	{ S("\xc1\x01\x05\x27\xcd\x01\x03\xc0") },
};

#define NTEMPLATES (sizeof(templates) / sizeof(templates[0]))

/* Appends record (op, b[0..n-1]) to out at *at; false if it does not
 * fit. */
static bool
put_record(uint8_t *out, size_t *at, size_t max, uint8_t op, const uint8_t *b,
    size_t n)
{
	if (n > 0xffff || *at + 3 + n > max) {
		return false;
	}
	out[*at]     = op;
	out[*at + 1] = (uint8_t) n;
	out[*at + 2] = (uint8_t) (n >> 8);
	if (n > 0) {
		memcpy(out + *at + 3, b, n);
	}
	*at += 3 + n;
	return true;
}

static uint32_t
rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

size_t
LLVMFuzzerCustomMutator(
    uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	record   rec[MAX_RECORDS + 1];
	size_t   n    = parse(data, size, rec, MAX_RECORDS);
	uint32_t what = rnd(&seed) % 100;
	if (n == 0 || what < 5) {
		return LLVMFuzzerMutate(data, size, max_size);
	}
	/* the records are copied out first: data is rewritten */
	static uint8_t copy[1 << 16];
	if (size > sizeof(copy)) {
		return LLVMFuzzerMutate(data, size, max_size);
	}
	memcpy(copy, data, size);
	for (size_t i = 0; i < n; i++) {
		rec[i].payload = copy + (rec[i].payload - data);
	}
	static uint8_t scratch[MAX_MESSAGE];
	size_t         pick = rnd(&seed) % n, at = 0;
	size_t         scratch_len = 0;
	record         extra       = { 0, NULL, 0 };
	int            mode;
	if (what < 45) {
		mode = 0; /* mutate one payload */
	} else if (what < 65) {
		mode = 1; /* insert a template */
	} else if (what < 72) {
		mode = 2; /* duplicate a record */
	} else if (what < 80) {
		mode = 3; /* delete one */
	} else if (what < 88) {
		mode = 4; /* change an op */
	} else if (what < 94) {
		mode = 5; /* insert a control record */
	} else {
		mode = 6; /* swap two */
	}
	if (mode == 0) {
		size_t room = max_size > size ? max_size - size : 0;
		size_t cap  = rec[pick].len + room;
		cap         = cap < sizeof(scratch) ? cap : sizeof(scratch);
		cap         = cap < 0xffff ? cap : 0xffff;
		memcpy(scratch, rec[pick].payload, rec[pick].len);
		scratch_len = rec[pick].len > cap ? cap : rec[pick].len;
		if (cap > 0) {
			scratch_len =
			    LLVMFuzzerMutate(scratch, scratch_len, cap);
		}
		rec[pick].payload = scratch;
		rec[pick].len     = scratch_len;
	} else if (mode == 1 || mode == 5) {
		if (mode == 1) {
			const struct tmpl *t =
			    &templates[rnd(&seed) % NTEMPLATES];
			uint32_t o = rnd(&seed) % 10;
			extra      = (record) { (uint8_t) (o < 7 ? 0
				                        : o < 9  ? 6
				                                 : 3),
				     t->b, t->n };
			if (o == 9) {
				extra.op = 3;
			}
		} else {
			static const uint8_t ms[1] = { 5 };
			uint32_t             o     = rnd(&seed) % 3;
			extra = (record) { (uint8_t) (o == 0 ? 4
				                   : o == 1  ? 5
				                             : 7),
				ms, o == 2 ? 1 : 0 };
		}
		if (n < MAX_RECORDS) {
			memmove(&rec[pick + 1], &rec[pick],
			    (n - pick) * sizeof(*rec));
			rec[pick] = extra;
			n++;
		}
	} else if (mode == 2 && n < MAX_RECORDS) {
		memmove(&rec[pick + 1], &rec[pick], (n - pick) * sizeof(*rec));
		n++;
	} else if (mode == 3 && n > 1) {
		memmove(
		    &rec[pick], &rec[pick + 1], (n - pick - 1) * sizeof(*rec));
		n--;
	} else if (mode == 4) {
		rec[pick].op = (uint8_t) rnd(&seed);
	} else if (mode == 6) {
		size_t other = rnd(&seed) % n;
		record tmp   = rec[pick];
		rec[pick]    = rec[other];
		rec[other]   = tmp;
	}
	for (size_t i = 0; i < n; i++) {
		if (!put_record(data, &at, max_size, rec[i].op, rec[i].payload,
		        rec[i].len)) {
			break;
		}
	}
	return at > 0 ? at : LLVMFuzzerMutate(data, size, max_size);
}

/* ---- seeds ---------------------------------------------------------------
 */

typedef struct step {
	uint8_t op;
	int     t; /* a template, or -1: no payload */
} step;

static void
write_seed(const char *dir, const char *name, const step *s, size_t n)
{
	static uint8_t buf[1 << 16];
	size_t         at = 0;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b   = s[i].t >= 0 ? templates[s[i].t].b : NULL;
		size_t         len = s[i].t >= 0 ? templates[s[i].t].n : 0;
		put_record(buf, &at, sizeof(buf), s[i].op, b, len);
	}
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, at, f) != at) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

#define SEED(name, ...)                                                       \
	do {                                                                  \
		static const step steps[] = { __VA_ARGS__ };                  \
		write_seed(dir, name, steps, sizeof(steps) / sizeof(*steps)); \
	} while (0)

static void
write_seeds(const char *dir)
{
	for (size_t i = 0; i < NTEMPLATES; i++) { /* each alone */
		char name[32];
		step s[2] = { { 0, (int) i }, { 4, -1 } };
		snprintf(name, sizeof(name), "door_t%02zu", i);
		write_seed(dir, name, s, 2);
	}
	SEED("door_hello_square", { 0, 0 }, { 4, -1 }, { 0, 1 }, { 4, -1 });
	SEED("door_gen", { 0, 5 }, { 4, -1 }, { 0, 6 }, { 4, -1 }, { 0, 6 },
	    { 4, -1 }, { 0, 7 }, { 4, -1 });
	SEED("door_gen_window", { 0, 8 }, { 4, -1 }, { 0, 9 }, { 4, -1 },
	    { 0, 9 }, { 4, -1 }, { 0, 7 });
	SEED("door_cancel", { 0, 2 }, { 0, 10 }, { 4, -1 });
	SEED("door_cancel_early", { 0, 10 }, { 0, 2 }, { 4, -1 });
	SEED("door_objects", { 0, 12 }, { 4, -1 }, { 0, 14 }, { 0, 15 },
	    { 4, -1 }, { 0, 16 }, { 0, 24 }, { 0, 29 }, { 4, -1 }, { 0, 18 },
	    { 4, -1 }, { 0, 14 }, { 4, -1 });
	SEED("door_ctor_upto", { 0, 13 }, { 4, -1 }, { 0, 17 }, { 4, -1 },
	    { 0, 30 }, { 4, -1 }, { 0, 30 }, { 4, -1 });
	SEED("door_callback", { 0, 19 }, { 0, 11 }, { 4, -1 }, { 0, 20 },
	    { 4, -1 });
	SEED("door_callback_cancel", { 0, 25 }, { 0, 11 }, { 4, -1 }, { 0, 34 },
	    { 0, 11 }, { 4, -1 }, { 0, 21 }, { 4, -1 });
	SEED("door_batch", { 0, 0 }, { 4, -1 }, { 0, 22 }, { 4, -1 }, { 0, 23 },
	    { 4, -1 });
	SEED("door_close_midway", { 0, 12 }, { 0, 2 }, { 0, 5 }, { 0, 19 },
	    { 0, 11 }, { 5, -1 }, { 0, 1 }, { 4, -1 });
	SEED("door_reset_midway", { 0, 22 }, { 0, 8 }, { 6, 11 }, { 0, 1 },
	    { 4, -1 });
	SEED("door_other_peer", { 0, 12 }, { 4, -1 }, { 3, 14 }, { 3, 18 },
	    { 3, 6 }, { 4, -1 });
	SEED("door_slow_items", { 0, 26 }, { 4, -1 }, { 7, 10 }, { 0, 35 },
	    { 4, -1 });
	SEED("door_batch_open", { 0, 31 }, { 4, -1 }, { 0, 32 }, { 4, -1 },
	    { 0, 33 });
}
