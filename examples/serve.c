/*
 * A synchronizer served to another process, and called from there.
 *
 * Run without arguments, this program is the client: it starts itself
 * again as the server ("serve server URL", with posix_spawn: nng cannot
 * be used across a bare fork), reads from the server's stdout the address
 * it took, and connects to it with syn_connect(). The server registers
 * calc (a function, square, a generator, count, and served, which it
 * keeps to itself), serves it on tcp://127.0.0.1 with a port picked for
 * it, exporting square and count only, and serves until its stdin
 * closes. The client calls square blocking, then ten times at once as
 * futures, then with an argument the server refuses with an error of its
 * own; it streams count through a prefetch window, is refused served
 * (not exported), disconnects, and stops the server.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"

#define SLEEP_MS 100 /* square's sleep */
#define SERVE_URL "tcp://127.0.0.1:0"

extern char **environ;

/* [api] */
/* The server's interface: square and the generator count are for other
 * processes; served, the number of squares made, is for the server. */
#define CALC(F0, F1, F2, F3, F4, C)              \
	F1(C, FUNC, square, int64_t, int64_t, x) \
	F1(C, GEN, count, int64_t, int64_t, n)   \
	F0(C, FUNC, served, int64_t)
SYN_FUNCTIONS_DECLARE(calc, CALC)
/* [api] */

SYN_FUNCTIONS_DEFINE(calc, CALC)

/* [impl] */
#define E_OVERFLOW SYN_EUSER(1)

static int64_t squares; /* only calc's tasks touch it: no lock */

/* Runs as a task on the server's synchronizer. */
int
calc_square_impl(syn_task *t, int64_t x, int64_t *ret)
{
	if (x < INT32_MIN || x > INT32_MAX) { /* x * x would not fit */
		return syn_raise(
		    t, E_OVERFLOW, "%lld squared overflows", (long long) x);
	}
	int rc = syn_sleep(t, SLEEP_MS); /* a slow service, say */
	if (rc == 0) {
		*ret = x * x;
		squares++;
	}
	return rc;
}

/* Hands out 0 .. n-1. */
int
calc_count_impl(syn_task *t, int64_t n)
{
	int rc = 0;
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		rc = calc_count_yield(t, i);
	}
	return rc == SYN_EITERCLOSED ? 0 : rc; /* closed early: no error */
}

int
calc_served_impl(syn_task *t, int64_t *ret)
{
	*ret = squares;
	return 0;
}
/* [impl] */

/* [server] */
/* The server: this program, started as "serve server URL". */
static int
server(const char *url)
{
	syn_synchronizer s;
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(calc_register(s), "calc_register"); /* square, count, served */

	/* What other processes may call, by registered name: not served.
	 * A request over 64 KiB closes the connection it came on. */
	static const char *const exports[] = { "calc_square", "calc_count",
		NULL };
	syn_serve_config cfg = { .exports = exports, .max_message = 64 * 1024 };
	char             bound[256];
	check(syn_serve(s, url, &cfg, bound, sizeof(bound)), "syn_serve");
	printf("%s\n", bound); /* tcp://127.0.0.1:<the port picked> */
	fflush(stdout);

	/* s serves on its own thread; this one waits for stdin to close
	 * (the client closes it, or ends). */
	char buf[64];
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0) {
		continue;
	}

	int64_t n;
	check(calc_served(s, &n), "served"); /* in-process: not exported */
	fprintf(stderr, "server: %lld squares served\n", (long long) n);
	check(syn_synchronizer_destroy(s), "destroy");
	return 0;
}
/* [server] */

/* Stops the client when a system call failed (rc: -1 and errno, or an
 * errno value). */
static void
check_sys(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(
		    stderr, "%s: %s\n", what, strerror(rc < 0 ? errno : rc));
		exit(1);
	}
}

/* [spawn] */
/* Starts this program again as the server, its stdin and stdout piped
 * here, and reads the address it took from its first line. Closing
 * *to_server stops it (and so does this process's end). */
static pid_t
start_server(const char *self, int *to_server, char *url, size_t size)
{
	int in[2], out[2]; /* close-on-exec: the server gets only its ends */
	check_sys(pipe2(in, O_CLOEXEC), "pipe2");
	check_sys(pipe2(out, O_CLOEXEC), "pipe2");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	char *argv[] = { (char *) self, "server", SERVE_URL, NULL };
	pid_t pid;
	check_sys(posix_spawnp(&pid, self, &fa, NULL, argv, environ), "spawn");
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);

	FILE *from = fdopen(out[0], "r");
	if (from == NULL || fgets(url, (int) size, from) == NULL) {
		fprintf(stderr, "the server did not start\n");
		exit(1);
	}
	url[strcspn(url, "\n")] = '\0';
	fclose(from); /* the server writes nothing more there */
	*to_server = in[1];
	return pid;
}
/* [spawn] */

static void
calls(syn_synchronizer r)
{
	/* [blocking] */
	int64_t v;
	check(calc_square(r, 12, &v), "square(12)"); /* a round trip */
	printf("square(12) = %lld, from the server\n", (long long) v);
	/* [blocking] */
	expect(v == 144, "square(12) is 144");

	/* [futures] */
	calc_square_future_t *fs[10];
	double                t0  = now_ms();
	int64_t               sum = 0;
	for (int i = 0; i < 10; i++) { /* ten calls in flight at once */
		check(calc_square_future(r, i, &fs[i]), "square future");
	}
	for (int i = 0; i < 10; i++) {
		check(calc_square_get(fs[i], &v), "get");
		sum += v;
		calc_square_free(fs[i]);
	}
	double took = now_ms() - t0; /* about SLEEP_MS, not ten times it */
	/* [futures] */
	printf("ten squares as futures: sum %lld in %.0f ms\n", (long long) sum,
	    took);
	expect(sum == 285, "0 + 1 + 4 + ... + 81 is 285");
	expect(took < 5 * SLEEP_MS, "the ten calls ran side by side");

	/* [error] */
	int rc = calc_square(r, 1LL << 40, &v); /* raised on the server */
	const syn_error *e = syn_last_error();  /* its code and message */
	printf("square(2^40): %s: %s [%s]\n", syn_errname(rc), e->message,
	    e->where);
	/* [error] */
	expect(rc == E_OVERFLOW, "the server's own error code");
	expect(strcmp(e->message, "1099511627776 squared overflows") == 0,
	    "the server's message");
}

static void
stream(syn_synchronizer r)
{
	/* [stream] */
	/* The typed calc_count_open() takes no configuration: a window
	 * takes syn_iter_open() of the registered name. */
	syn_iter       *it;
	syn_iter_config cfg  = { .prefetch = 64 }; /* 32 items a message */
	syn_value       n    = syn_int(1000);
	syn_result      item = SYN_RESULT_INIT;
	int64_t         sum = 0, items = 0;
	int             rc;
	double          t0 = now_ms();
	check(syn_iter_open(r, "calc_count", &n, 1, &cfg, &it), "open");
	while ((rc = syn_iter_next(it, &item)) == 0) {
		sum += item.value.as.i;
		items++;
		syn_result_fini(&item);
	}
	check(syn_iter_close(it), "close"); /* rc: SYN_EEND, the end */
	/* [stream] */
	printf("count(1000): %lld items, sum %lld, in %.0f ms; then %s\n",
	    (long long) items, (long long) sum, now_ms() - t0, syn_errname(rc));
	expect(rc == SYN_EEND, "the stream ended");
	expect(items == 1000 && sum == 999 * 1000 / 2, "every item, in order");
}

static void
not_exported(syn_synchronizer r)
{
	/* [not_exported] */
	int64_t n;
	int     rc = calc_served(r, &n); /* registered there, not exported */
	/* SYN_ENOENT, as for a name nobody registered */
	/* [not_exported] */
	printf(
	    "served(): %s: %s\n", syn_errname(rc), syn_last_error()->message);
	expect(rc == SYN_ENOENT, "served is not exported");
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "server") == 0) {
		return server(argv[2]);
	}

	/* [connect] */
	char  url[256];
	int   to_server;
	pid_t pid = start_server(argv[0], &to_server, url, sizeof(url));
	syn_synchronizer r; /* names the server's synchronizer */
	check(syn_connect(url, NULL, &r), "syn_connect");
	printf("connected to %s\n", url);
	/* [connect] */

	calls(r);
	stream(r);
	not_exported(r);

	/* [shutdown] */
	check(syn_synchronizer_destroy(r), "disconnect"); /* server goes on */
	close(to_server); /* its stdin closes: it stops serving, and exits */
	int status;
	check_sys(waitpid(pid, &status, 0) == pid ? 0 : -1, "waitpid");
	/* [shutdown] */
	expect(
	    WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server's exit");
	return failures == 0 ? 0 : 1;
}
