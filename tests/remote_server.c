/*
 * A server process for tests/test_remote.c: serves a synchronizer at the
 * url in argv[1] (argv[2], when given, is the ipc file's mode in octal),
 * prints the address it took on a line of stdout, and serves until its
 * stdin closes.
 *
 * Exported: square(x), sleep_ms(ms), count(n) (a generator of 0..n-1),
 * fail(n) (raises SYN_EUSER(n)), echo(v), pid(), guarded(ms) (sleeps;
 * counts its cleanups when cancelled), slow_items(ms), counters(which):
 * the cleanups (0) or the closes count saw (1). Not exported:
 * hidden().
 */
#include <stdio.h>
#include <stdlib.h>
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

/* counters(which): cleanups (0) or closes seen by count (1). */
static int
counters(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t which;
	int     rc = syn_unpack(t, args, nargs, "i", &which);
	*ret       = syn_int(which == 0 ? cleanups : closes);
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

static int
pid(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t, (void) args, (void) nargs;
	*ret = syn_int(getpid());
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: remote_server URL [MODE]\n");
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
		{ "pid", SYN_KIND_FUNCTION, pid },
		{ "guarded", SYN_KIND_FUNCTION, guarded },
		{ "counters", SYN_KIND_FUNCTION, counters },
		{ "slow_items", SYN_KIND_GENERATOR, slow_items },
		{ "hidden", SYN_KIND_FUNCTION, pid },
	};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		syn_func_def d = { fns[i].name, fns[i].kind, fns[i].fn, NULL };
		if (syn_register(s, &d) != 0) {
			return 1;
		}
	}
	static const char *const exports[] = { "square", "sleep_ms", "count",
		"fail", "echo", "pid", "guarded", "counters", "slow_items",
		NULL };
	syn_serve_config         scfg      = { .exports = exports,
		             .ipc_mode = argc > 2 ? (int) strtol(argv[2], NULL, 8) : 0 };
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
	return 0;
}
