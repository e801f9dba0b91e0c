/*
 * A server process for tests/test_remote.c: serves a synchronizer at the
 * url in argv[1] (argv[2], when given, is the ipc file's mode in octal),
 * prints the address it took on a line of stdout, and serves until its
 * stdin closes; a reply waits 300 ms at most for a peer that does not
 * read. As "remote_server client URL N" it is a client instead
 * (see client() below).
 *
 * Exported: square(x), sleep_ms(ms), count(n) (a generator of 0..n-1),
 * fail(n) (raises SYN_EUSER(n)), echo(v), pid(), guarded(ms) (sleeps;
 * counts its cleanups when cancelled), slow_items(ms), counters(which):
 * the cleanups (0), the closes count saw (1), the Counters alive (2)
 * or dropped (3); the class Counter(v) (add, value, plus(other), twin,
 * upto(n)), make_counter(v), sum([counters]) and foreign() (a proxy of
 * another synchronizer's Counter); callbacks into the client's objects:
 * call_back(obj, x) (obj.add(x)), nap_back(obj, ms) (obj.nap(ms)),
 * keep(obj), call_kept(x), drop_kept(), call_back_blocking(obj, x)
 * (obj.add(x) by a blocking call from the server's own thread: returns
 * the call's code).
 * Not exported:
 * hidden().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synchronicity.h>

static int
square(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x;
	int     rc = syn_unpack(t, args, nargs, "i", &x);
	if (rc == 0) {
		*ret = syn_int(x * x);
	}
	return rc;
}

static int
sleep_ms(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc == 0 && (rc = syn_sleep(t, (syn_duration) ms)) == 0) {
		*ret = syn_int(ms);
	}
	return rc;
}

/* nap_big(ms, n): sleeps ms, then returns n bytes (at most 65,000). */
static int
nap_big(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	static char big[65000];
	int64_t     ms, n;
	int         rc = syn_unpack(t, args, nargs, "ii", &ms, &n);
	if (rc == 0 && (n < 0 || n > (int64_t) sizeof(big))) {
		rc = syn_raise(t, SYN_EINVAL, "n is 0 to 65,000");
	}
	if (rc == 0 && (rc = syn_sleep(t, (syn_duration) ms)) == 0) {
		memset(big, 'y', sizeof(big));
		*ret = syn_bytes(big, (size_t) n);
	}
	return rc;
}

static int cleanups;

/* guarded(ms): sleeps ms; counts its cleanup when cancelled. */
static int
guarded(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int rc = sleep_ms(t, args, nargs, ret);
	if (rc == SYN_ECANCELED) {
		usleep(20000); /* a cleanup that takes a while */
		cleanups++;
	}
	return rc;
}

/* slow_items(ms): yields 0, 1, ..., each after ms; a cancelled wait
 * counts as a cleanup. */
static int
slow_items(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	for (int64_t i = 0; rc == 0; i++) {
		if ((rc = syn_sleep(t, (syn_duration) ms)) == 0) {
			syn_value v = syn_int(i);
			rc          = syn_yield(t, &v, NULL);
		}
	}
	if (rc == SYN_ECANCELED) {
		cleanups++;
	}
	return rc == SYN_EITERCLOSED ? 0 : rc;
}

static int closes;
static int live_counters; /* Counters made and not yet dropped */
static int dropped_counters;
static int exits, last_exit_rc; /* of Counters as context managers */

/* counters(which): cleanups (0), closes seen by count (1), Counters
 * alive (2) or dropped (3), exits of Counters as context managers (4),
 * the last exit's rc (5). */
static int
counters(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t which;
	int     rc = syn_unpack(t, args, nargs, "i", &which);
	*ret       = syn_int(which == 0 ? cleanups
	              : which == 1      ? closes
	              : which == 2      ? live_counters
	              : which == 3      ? dropped_counters
	              : which == 4      ? exits
	                                : last_exit_rc);
	return rc;
}

/* count(n): yields 0..n-1; counts the closes it sees. */
static int
count(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		syn_value v = syn_int(i);
		rc          = syn_yield(t, &v, NULL);
	}
	if (rc == SYN_EITERCLOSED) {
		closes++;
		return 0;
	}
	return rc;
}

static int
fail(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	return rc != 0
	    ? rc
	    : syn_raise(t, SYN_EUSER((int) n), "remote boom %d", (int) n);
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

/* context(key): the string the call context holds under key; raises
 * SYN_ENOENT when it holds none. */
static int
context(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const char *key;
	syn_result  res = SYN_RESULT_INIT;
	int         rc  = syn_unpack(t, args, nargs, "s", &key);
	if (rc == 0 && (rc = syn_context_get(key, &res)) != 0) {
		return syn_raise(t, rc, "no %s in the context", key);
	}
	if (rc == 0) {
		*ret = res.value.type == SYN_TYPE_STR
		    ? syn_task_printf(t, "%s", res.value.as.str)
		    : syn_nil();
	}
	syn_result_fini(&res);
	return rc;
}

/* ---- callbacks: calls into objects of the client ---- */

static syn_proxy *kept_cb; /* a client's object, kept by keep() */

/* Awaits method "add"(x) of the client's object p; *ret is its result. */
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
	if ((rc = syn_await(t, f)) == 0 &&
	    (rc = syn_future_value(f, &v)) == 0) {
		*ret = *v; /* an int: nothing to hold */
	} else {
		const syn_error *e = syn_future_error(f);
		rc = syn_raise(t, rc, "%s", e != NULL ? e->message : "");
	}
	syn_future_free(f);
	return rc;
}

static int
add_on(syn_task *t, syn_proxy *p, int64_t x, syn_value *ret)
{
	return invoke_on(t, p, "add", x, ret);
}

/* nap_back(obj, ms): obj.nap(ms) on the client's object, awaited (a
 * cancel of this call cancels that one). */
static int
nap_back(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_proxy *p;
	int64_t    ms;
	int        rc = syn_unpack(t, args, nargs, "Pi", &p, &ms);
	return rc != 0 ? rc : invoke_on(t, p, "nap", ms, ret);
}

/* call_back(obj, x): obj.add(x) on the client's object. */
static int
call_back(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_proxy *p;
	int64_t    x;
	int        rc = syn_unpack(t, args, nargs, "Pi", &p, &x);
	return rc != 0 ? rc : add_on(t, p, x, ret);
}

/* call_back_blocking(obj, x): obj.add(x) by syn_invoke from this task,
 * a misuse (the call can only be carried out by this very thread, the
 * server's, which would wait for it): returns the call's code. */
static int
call_back_blocking(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_proxy *p;
	int64_t    x;
	int        rc = syn_unpack(t, args, nargs, "Pi", &p, &x);
	if (rc == 0) {
		syn_value a = syn_int(x);
		*ret        = syn_int(syn_invoke(p, "add", &a, 1, NULL));
	}
	return rc;
}

/* keep(obj): keeps the client's object; call_kept(x) calls its add;
 * drop_kept() lets it go. */
static int
keep(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_proxy *p;
	int        rc = syn_unpack(t, args, nargs, "P", &p);
	if (rc == 0) {
		syn_proxy_release(kept_cb);
		kept_cb = syn_proxy_ref(p);
	}
	*ret = syn_nil();
	return rc;
}

static int
call_kept(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x;
	int     rc = syn_unpack(t, args, nargs, "i", &x);
	if (rc == 0 && kept_cb == NULL) {
		rc = syn_raise(t, SYN_ENOENT, "nothing kept");
	}
	return rc != 0 ? rc : add_on(t, kept_cb, x, ret);
}

static int
drop_kept(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t, (void) args, (void) nargs;
	syn_proxy_release(kept_cb);
	kept_cb = NULL;
	*ret    = syn_nil();
	return 0;
}

/* ---- Counter: a class served to clients ---- */

typedef struct counter {
	int64_t value;
} counter;

static int
counter_init(syn_task *t, void *self, const syn_value *args, size_t nargs)
{
	int rc = syn_unpack(t, args, nargs, "i", &((counter *) self)->value);
	live_counters += rc == 0;
	return rc;
}

static void
counter_fini(void *self)
{
	(void) self;
	live_counters--;
	dropped_counters++;
}

/* add(n): value += n, returns the new value. */
static int
counter_add(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	counter *c = self;
	int64_t  n;
	int      rc = syn_unpack(t, args, nargs, "i", &n);
	c->value += rc == 0 ? n : 0;
	*ret = syn_int(c->value);
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

/* plus(other): this value plus other's (other arrives as the object). */
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

/* twin(): a new Counter with the same value (an object returned). */
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

/* upto(): yields value, value + 1, ..., each as a new Counter. */
static int
counter_upto(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) ret;
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
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

/* foreign(): a proxy of another synchronizer's object, which cannot go
 * to another process (SYN_ENOTSUP for a remote caller). */
static syn_synchronizer aside;
static syn_proxy       *kept; /* the last one handed out, kept alive */

static int
foreign(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs;
	syn_value        one = syn_int(1);
	syn_future      *f;
	const syn_value *v;
	int              rc = syn_new_future(aside, "Counter", &one, 1, &f);
	if (rc != 0) {
		return rc;
	}
	if ((rc = syn_await(t, f)) == 0 &&
	    (rc = syn_future_value(f, &v)) == 0) {
		syn_proxy_release(kept);
		kept = syn_proxy_ref(v->as.proxy);
		*ret = syn_proxy_value(kept);
	}
	syn_future_free(f);
	return rc;
}

/* enter(): the value; exit(rc, message): counts exits, keeps rc. */
static int
counter_enter(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	return counter_value(t, self, args, nargs, ret);
}

static int
counter_exit(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self;
	int64_t          rc;
	const syn_value *message;
	int              urc = syn_unpack(t, args, nargs, "i|v", &rc, &message);
	exits += urc == 0;
	last_exit_rc = (int) rc;
	*ret         = syn_nil();
	return urc;
}

static const syn_method_def counter_methods[] = {
	{ "add", SYN_KIND_FUNCTION, counter_add, 0 },
	{ "value", SYN_KIND_FUNCTION, counter_value, SYN_METHOD_GETTER },
	{ "plus", SYN_KIND_FUNCTION, counter_plus, 0 },
	{ "twin", SYN_KIND_FUNCTION, counter_twin, 0 },
	{ "upto", SYN_KIND_GENERATOR, counter_upto, 0 },
	{ "enter", SYN_KIND_FUNCTION, counter_enter, 0 },
	{ "exit", SYN_KIND_FUNCTION, counter_exit, 0 },
};

/* make_counter(v): a function that returns a new Counter. */
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

/* sum(list of Counters): the objects arrive inside a list. */
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

static int
pid(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t, (void) args, (void) nargs;
	*ret = syn_int(getpid());
	return 0;
}

/*
 * "client URL N": connects to URL, makes N Counters there and keeps
 * their proxies, prints "ready" and waits until killed (or stdin closes).
 */
static int
client(const char *url, int n)
{
	syn_synchronizer r;
	if (syn_connect(url, NULL, &r) != 0) {
		return 1;
	}
	for (int i = 0; i < n; i++) {
		syn_value  v = syn_int(i);
		syn_proxy *p;
		if (syn_new(r, "Counter", &v, 1, &p) != 0) {
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0) { }
	return 0;
}

/* 300 ms, or RS_REPLY_TIMEOUT_MS from the environment (a test's). */
static int32_t
reply_timeout_ms(void)
{
	const char *v = getenv("RS_REPLY_TIMEOUT_MS");
	return v != NULL ? (int32_t) atoi(v) : 300;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "client") == 0) {
		return client(argv[2], atoi(argv[3]));
	}
	if (argc < 2) {
		fprintf(stderr,
		    "usage: remote_server URL [MODE [CERT_KEY [CA]]]\n");
		return 2;
	}
	syn_synchronizer s;
	syn_config       cfg = { .name = "served", .max_message = 65536 };
	if (syn_synchronizer_new(&s, &cfg) != 0) {
		return 1;
	}
	static const struct {
		const char *name;
		int         kind;
		syn_func_fn fn;
	} fns[] = {
		{ "square", SYN_KIND_FUNCTION, square },
		{ "sleep_ms", SYN_KIND_FUNCTION, sleep_ms },
		{ "count", SYN_KIND_GENERATOR, count },
		{ "fail", SYN_KIND_FUNCTION, fail },
		{ "echo", SYN_KIND_FUNCTION, echo },
		{ "context", SYN_KIND_FUNCTION, context },
		{ "nap_big", SYN_KIND_FUNCTION, nap_big },
		{ "pid", SYN_KIND_FUNCTION, pid },
		{ "guarded", SYN_KIND_FUNCTION, guarded },
		{ "counters", SYN_KIND_FUNCTION, counters },
		{ "slow_items", SYN_KIND_GENERATOR, slow_items },
		{ "hidden", SYN_KIND_FUNCTION, pid },
		{ "make_counter", SYN_KIND_FUNCTION, make_counter },
		{ "sum", SYN_KIND_FUNCTION, sum },
		{ "foreign", SYN_KIND_FUNCTION, foreign },
		{ "call_back", SYN_KIND_FUNCTION, call_back },
		{ "nap_back", SYN_KIND_FUNCTION, nap_back },
		{ "keep", SYN_KIND_FUNCTION, keep },
		{ "call_kept", SYN_KIND_FUNCTION, call_kept },
		{ "drop_kept", SYN_KIND_FUNCTION, drop_kept },
		{ "call_back_blocking", SYN_KIND_FUNCTION, call_back_blocking },
	};
	syn_class_def cd = { "Counter", sizeof(counter), counter_init,
		counter_fini, counter_methods,
		sizeof(counter_methods) / sizeof(counter_methods[0]), 0 };
	if (syn_register_class(s, &cd) != 0 ||
	    syn_synchronizer_new(&aside, NULL) != 0 ||
	    syn_register_class(aside, &cd) != 0) {
		return 1;
	}
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		syn_func_def d = { fns[i].name, fns[i].kind, fns[i].fn, NULL };
		if (syn_register(s, &d) != 0) {
			return 1;
		}
	}
	static const char *const exports[] = { "square", "sleep_ms", "count",
		"fail", "echo", "pid", "guarded", "counters", "slow_items",
		"Counter", "make_counter", "sum", "foreign", "call_back",
		"nap_back", "keep", "call_kept", "drop_kept",
		"call_back_blocking", "nap_big", "context", NULL };
	syn_serve_config         scfg      = { .exports = exports,
		             .reply_timeout             = reply_timeout_ms(),
		             .ipc_mode = argc > 2 ? (int) strtol(argv[2], NULL, 8) : 0,
		             .tls_cert_key_file = argc > 3 ? argv[3] : NULL,
		             .tls_ca_file       = argc > 4 ? argv[4] : NULL };
	char                     bound[1024];
	int rc = syn_serve(s, argv[1], &scfg, bound, sizeof(bound));
	if (rc != 0) {
		fprintf(stderr, "remote_server: syn_serve %s: %s: %s\n",
		    argv[1], syn_errname(rc), syn_last_error()->message);
		return 1;
	}
	printf("%s\n", bound);
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof(buf)) > 0) { } /* until stdin closes */
	syn_synchronizer_destroy(s);
	syn_proxy_release(kept);
	syn_proxy_release(kept_cb);
	syn_synchronizer_destroy(aside);
	return 0;
}
