/*
 * Serving to other processes: a real server process (tests/remote_server.c,
 * started with posix_spawn: nng cannot be used across a bare fork) served
 * over tcp:// and ipc://, called through syn_connect() with the same API
 * as a local synchronizer; exports, bad input, lost peers.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "core/nngclose.h"
#include "helpers.h"
#include "proto/proto.h"

extern char **environ;

typedef struct server {
	pid_t pid;
	int   in; /* its stdin: closing it stops it */
	char  url[1024];
} server;

/* Starts tests/remote_server with argv and reads its first line of
 * output into sv->url. */
static void
spawn(server *sv, char *const argv[])
{
	int in[2], out[2];
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_addclose(&fa, in[1]);
	posix_spawn_file_actions_addclose(&fa, out[0]);
	ck_assert_int_eq(
	    posix_spawn(&sv->pid, SYN_REMOTE_SERVER, &fa, NULL, argv, environ),
	    0);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	sv->in          = in[1];
	size_t        n = 0;
	struct pollfd p = { out[0], POLLIN, 0 };
	while (n < sizeof(sv->url) - 1 && poll(&p, 1, 20000) == 1) {
		ssize_t k = read(out[0], sv->url + n, 1);
		if (k <= 0 || sv->url[n] == '\n') {
			break;
		}
		n++;
	}
	sv->url[n] = '\0';
	close(out[0]);
	ck_assert_msg(n > 0, "the server did not start");
}

/* Starts the server on a tls+tcp:// address with its certificate, and
 * asking clients for theirs when ca is not NULL. */
static void
server_start_tls(server *sv, const char *ca)
{
	char *argv[] = { (char *) SYN_REMOTE_SERVER,
		(char *) "tls+tcp://127.0.0.1:0", (char *) "0",
		(char *) SYN_TLS_DIR "/server.pem", (char *) ca, NULL };
	spawn(sv, argv);
}

/* Starts the server on url (mode: the ipc file's mode, or NULL) and
 * reads the address it took. */
static void
server_start(server *sv, const char *url, const char *mode)
{
	char *argv[] = { (char *) SYN_REMOTE_SERVER, (char *) url,
		(char *) mode, NULL };
	spawn(sv, argv);
}

/* Stops it (stdin closes) and checks that it ended well. */
static void
server_stop(server *sv)
{
	close(sv->in);
	int status;
	ck_assert_int_eq(waitpid(sv->pid, &status, 0), sv->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the server ended with status %#x", status);
}

/* A server on tcp whose replies time out after ms (a string) unread. */
static void
server_start_timing_out(server *sv, const char *ms)
{
	setenv("RS_REPLY_TIMEOUT_MS", ms, 1);
	server_start(sv, "tcp://127.0.0.1:0", NULL);
	unsetenv("RS_REPLY_TIMEOUT_MS");
}

static syn_synchronizer
connect_to(const server *sv)
{
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(sv->url, NULL, &r));
	return r;
}

static int64_t
remote_int(syn_synchronizer r, const char *name, int64_t x)
{
	syn_value  a   = syn_int(x);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(r, name, &a, 1, &res));
	int64_t v = res.value.as.i;
	syn_result_fini(&res);
	return v;
}

/* Every form of call, errors and generators, on one address. */
static void
every_form_on(const server *sv, const syn_connect_config *cfg)
{
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(sv->url, cfg, &r));
	ck_assert_int_eq(remote_int(r, "square", 12), 144);

	/* Ten futures of D each resolve together: under 2 D. */
	syn_future *fs[10];
	double      t0 = th_now_ms();
	for (int i = 0; i < 10; i++) {
		syn_value a = syn_int(D_MS);
		ck_assert_syn_ok(syn_call_future(r, "sleep_ms", &a, 1, &fs[i]));
	}
	ck_assert_syn_ok(syn_future_wait_all(fs, 10, 10000));
	ck_assert_msg(th_now_ms() - t0 < 2 * D_MS, "futures were serial");
	for (int i = 0; i < 10; i++) {
		syn_future_free(fs[i]);
	}

	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	syn_value a = syn_int(5);
	syn_call_aio(r, "square", &a, 1, aio);
	nng_aio_wait(aio);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_aio_result(aio, &res));
	ck_assert_int_eq(res.value.as.i, 25);
	syn_result_fini(&res);
	nng_aio_free(aio);

	a = syn_int(4);
	ck_assert_syn_rc(syn_call(r, "fail", &a, 1, NULL), SYN_EUSER(4));
	ck_assert_str_eq(syn_last_error()->message, "remote boom 4");
	ck_assert_syn_rc(syn_call(r, "hidden", NULL, 0, NULL), SYN_ENOENT);
	ck_assert_syn_rc(syn_call(r, "nothing", NULL, 0, NULL), SYN_ENOENT);
	syn_value s = syn_str("héllo");
	ck_assert_syn_ok(syn_call(r, "echo", &s, 1, &res));
	ck_assert_str_eq(res.value.as.str, "héllo");
	syn_result_fini(&res);

	for (uint32_t window = 0; window <= 16; window += 16) {
		syn_iter       *it;
		syn_iter_config icfg = { .prefetch = window };
		syn_value       n    = syn_int(100);
		ck_assert_syn_ok(syn_iter_open(r, "count", &n, 1, &icfg, &it));
		int64_t expect = 0;
		int     rc;
		while ((rc = syn_iter_next(it, &res)) == 0) {
			ck_assert_int_eq(res.value.as.i, expect++);
			syn_result_fini(&res);
		}
		ck_assert_int_eq(rc, SYN_EEND);
		ck_assert_int_eq(expect, 100);
		/* ended: so it stays, without asking the server again */
		ck_assert_syn_rc(syn_iter_next(it, &res), SYN_EEND);
		syn_future *f;
		ck_assert_syn_rc(syn_iter_next_future(it, NULL, &f),
		    window == 0 ? SYN_EEND : SYN_ENOTSUP);
		syn_iter_close(it);
	}
	/* closed early: the server's generator ends */
	syn_iter *it;
	syn_value n = syn_int(1000000);
	ck_assert_syn_ok(syn_iter_open(r, "count", &n, 1, NULL, &it));
	ck_assert_syn_ok(syn_iter_next(it, &res));
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_iter_close(it));

	ck_assert_syn_rc(
	    syn_register(
	        r, &(syn_func_def) { "x", SYN_KIND_FUNCTION, NULL, NULL }),
	    SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
}

START_TEST(over_tcp)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	ck_assert_msg(strncmp(sv.url, "tcp://127.0.0.1:", 16) == 0 &&
	        strcmp(sv.url, "tcp://127.0.0.1:0") != 0,
	    "bound %s", sv.url);
	every_form_on(&sv, NULL);
	server_stop(&sv);
}
END_TEST

START_TEST(over_ipc)
{
	char dir[] = "/tmp/syn-remote-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char url[300], path[256];
	snprintf(path, sizeof(path), "%s/s.ipc", dir);
	snprintf(url, sizeof(url), "ipc://%s", path);
	server sv;
	server_start(&sv, url, "600");
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	every_form_on(&sv, NULL);
	server_stop(&sv);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* Two clients at once; one goes away with calls in flight: the other is
 * served on, and the server ends well. */
/* tls+tcp://: every call form over TLS with the server verified; a
 * client that trusts another CA, or names another host, is refused; a
 * server that asks for client certificates takes only clients that have
 * one signed by its CA. TLS options are refused where they mean nothing. */
START_TEST(over_tls)
{
	server sv;
	server_start_tls(&sv, NULL);
	/* (mbedtls 2 checks names, not addresses: the certificate is for
	 * localhost, and the server is at 127.0.0.1) */
	syn_connect_config cfg = { .tls_ca_file = SYN_TLS_DIR "/ca.pem",
		.tls_server_name                = "localhost" };
	syn_synchronizer   r;
	ck_assert_syn_ok(syn_connect(sv.url, &cfg, &r));
	ck_assert_int_eq(remote_int(r, "square", 12), 144);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	every_form_on(&sv, &cfg);

	syn_connect_config other = { .tls_ca_file = SYN_TLS_DIR "/other_ca.pem",
		.tls_server_name                  = "localhost" };
	int                rc    = syn_connect(sv.url, &other, &r);
	ck_assert_msg(
	    rc == SYN_EPEERAUTH || rc == SYN_ECRYPTO, "%s", syn_errname(rc));
	syn_connect_config name = { .tls_ca_file = SYN_TLS_DIR "/ca.pem",
		.tls_server_name                 = "elsewhere.example" };
	rc                      = syn_connect(sv.url, &name, &r);
	ck_assert_msg(
	    rc == SYN_EPEERAUTH || rc == SYN_ECRYPTO, "%s", syn_errname(rc));
	ck_assert_syn_rc(syn_connect(sv.url, NULL, &r), SYN_EINVAL);
	ck_assert_syn_rc(
	    syn_connect("tcp://127.0.0.1:1", &cfg, &r), SYN_EINVAL);
	server_stop(&sv);

	server_start_tls(&sv, SYN_TLS_DIR "/ca.pem"); /* mutual TLS */
	rc = syn_connect(sv.url, &cfg, &r);
	if (rc == 0) { /* the handshake may end after the dial: no call */
		ck_assert_syn_rc(
		    syn_call(r, "square", &(syn_value) { 0 }, 0, NULL),
		    SYN_ECONNRESET);
		ck_assert_syn_ok(syn_synchronizer_destroy(r));
	} else {
		ck_assert_msg(rc == SYN_EPEERAUTH || rc == SYN_ECRYPTO ||
		        rc == SYN_ECONNRESET || rc == SYN_ECONNSHUT ||
		        rc == SYN_ECLOSED,
		    "%s", syn_errname(rc));
	}
	syn_connect_config mutual = { .tls_ca_file = SYN_TLS_DIR "/ca.pem",
		.tls_server_name                   = "localhost",
		.tls_cert_key_file = SYN_TLS_DIR "/client.pem" };
	ck_assert_syn_ok(syn_connect(sv.url, &mutual, &r));
	ck_assert_int_eq(remote_int(r, "square", 5), 25);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);

	syn_synchronizer s       = th_new();
	syn_serve_config none    = { 0 };
	syn_serve_config plain   = { .tls_cert_key_file =
		                         SYN_TLS_DIR "/server.pem" };
	syn_serve_config missing = { .tls_cert_key_file = "/nonexistent.pem" };
	ck_assert_syn_rc(
	    syn_serve(s, "tls+tcp://127.0.0.1:0", &none, NULL, 0), SYN_EINVAL);
	ck_assert_syn_rc(
	    syn_serve(s, "tcp://127.0.0.1:0", &plain, NULL, 0), SYN_EINVAL);
	rc = syn_serve(s, "tls+tcp://127.0.0.1:0", &missing, NULL, 0);
	ck_assert_msg(rc != 0, "a missing certificate file was taken");
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A peer that takes the TCP connection but never speaks: syn_connect
 * gives up after its timeout. */
START_TEST(connect_bounded)
{
	int                fd  = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa  = { .sin_family = AF_INET,
		 .sin_addr.s_addr              = htonl(INADDR_LOOPBACK) };
	socklen_t          len = sizeof(sa);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
	char url[64];
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
	syn_connect_config cfg = { .timeout = 300 };
	syn_synchronizer   r;
	double             t0 = th_now_ms();
	ck_assert_syn_rc(syn_connect(url, &cfg, &r), SYN_ETIMEDOUT);
	double took = th_now_ms() - t0;
	ck_assert_msg(took >= 250 && took < 3000, "took %.0f ms", took);
	close(fd);
}
END_TEST

START_TEST(clients_come_and_go)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer a = connect_to(&sv), b = connect_to(&sv);
	syn_future      *f;
	syn_value        ms = syn_int(60000);
	ck_assert_syn_ok(syn_call_future(a, "sleep_ms", &ms, 1, &f));
	syn_iter *it;
	syn_value n = syn_int(1000);
	ck_assert_syn_ok(syn_iter_open(a, "count", &n, 1, NULL, &it));
	syn_result item = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_iter_next(it, &item));
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECLOSED);
	syn_future_free(f);
	syn_iter_close(it);
	ck_assert_syn_rc(syn_call(a, "square", &n, 1, NULL), SYN_ECLOSED);
	for (int i = 0; i < 50; i++) {
		ck_assert_int_eq(remote_int(b, "square", i), i * i);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	server_stop(&sv);
}
END_TEST

/* Thousands of calls in flight on one connection, sent in order: every
 * one is answered, and one cancelled before it was sent ends with
 * SYN_ECANCELED. */
START_TEST(many_in_flight)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r = connect_to(&sv);
	enum { N = 3000 };
	syn_future **fs = calloc(N, sizeof(*fs));
	for (int i = 0; i < N; i++) {
		syn_value a = syn_int(i);
		ck_assert_syn_ok(syn_call_future(r, "square", &a, 1, &fs[i]));
	}
	ck_assert_syn_ok(syn_future_cancel(fs[N - 1]));
	ck_assert_syn_rc(syn_future_wait(fs[N - 1]), SYN_ECANCELED);
	for (int i = 0; i < N - 1; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->as.i, (int64_t) i * i);
	}
	for (int i = 0; i < N; i++) {
		syn_future_free(fs[i]);
	}
	free(fs);
	/* destroyed with calls in flight: each ends with SYN_ECLOSED */
	syn_future *more[20];
	for (int i = 0; i < 20; i++) {
		syn_value a = syn_int(i);
		ck_assert_syn_ok(syn_call_future(r, "square", &a, 1, &more[i]));
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	for (int i = 0; i < 20; i++) {
		int rc = syn_future_wait(more[i]);
		ck_assert_msg(
		    rc == 0 || rc == SYN_ECLOSED, "%s", syn_errname(rc));
		syn_future_free(more[i]);
	}
	server_stop(&sv);
}
END_TEST

/* n calls of fn(*arg) from r at once: their futures in fs. */
static void
call_futures(
    syn_synchronizer r, const char *fn, syn_value *arg, syn_future **fs, int n)
{
	for (int i = 0; i < n; i++) {
		ck_assert_syn_ok(syn_call_future(r, fn, arg, 1, &fs[i]));
	}
}

/* Serves s on tcp://127.0.0.1:0 with the names in exports (NULL at the
 * end) reachable; the address it took goes in url (128 bytes). */
static void
serve_tcp(syn_synchronizer s, const char *const *exports, char *url)
{
	syn_serve_config cfg = { .exports = exports };
	ck_assert_syn_ok(syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, 128));
}

/* Connects to url (cfg: NULL or its config) and makes a first call,
 * probe(1), so that the server's answer to the HELLO came: from then on,
 * calls in flight together go in batches. */
static syn_synchronizer
connect_ready(const char *url, const syn_connect_config *cfg, const char *probe)
{
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, cfg, &r));
	remote_int(r, probe, 1);
	return r;
}

/* Calls made faster than they go out leave in batches: slow calls among
 * quick ones delay none of them (their replies come as they are ready),
 * and cancelling the slow ones reaches their tasks on the server. */
START_TEST(batched_calls)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r = connect_to(&sv);
	enum { N = 2000, SLOW = 7 };
	syn_future **fs = calloc(N, sizeof(*fs));
	for (int i = 0; i < N; i++) {
		bool      slow = i % (N / SLOW) == N / SLOW / 2;
		syn_value a    = syn_int(slow ? 60000 : i);
		ck_assert_syn_ok(syn_call_future(
		    r, slow ? "sleep_ms" : "square", &a, 1, &fs[i]));
	}
	int slow = 0;
	for (int i = 0; i < N; i++) {
		if (i % (N / SLOW) == N / SLOW / 2) {
			slow++;
			continue;
		}
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->as.i, (int64_t) i * i);
	}
	ck_assert_int_ge(slow, SLOW);
	for (int i = 0; i < N; i++) {
		if (i % (N / SLOW) == N / SLOW / 2) {
			ck_assert_syn_rc(syn_future_poll(fs[i]), SYN_EAGAIN);
			ck_assert_syn_ok(syn_future_cancel(fs[i]));
			ck_assert_syn_rc(syn_future_wait(fs[i]), SYN_ECANCELED);
		}
		syn_future_free(fs[i]);
	}
	free(fs);
	ck_assert_int_eq(remote_int(r, "square", 12), 144);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* Batches fit the server's limit (it says it in the HELLO), a call
 * refused inside a batch is answered at once with its own error (not
 * after the batch's slow calls), and a client on the door's own inproc
 * address batches too. The server here is of this process. */
START_TEST(batches_sized_and_answered)
{
	syn_config               scfg      = { .max_depth = 4 };
	syn_synchronizer         s         = th_new_cfg(&scfg);
	static const char *const exports[] = { "echo", "sleep_ms", "square_now",
		NULL };
	syn_serve_config cfg = { .exports = exports, .max_message = 16384 };
	char             url[128], inproc[128];
	ck_assert_syn_ok(
	    syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, sizeof(url)));
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));

	enum { N = 200 };
	static char text[1024];
	syn_future *fs[N];
	memset(text, 'x', sizeof(text) - 1);
	for (int i = 0; i < N; i++) { /* 64 of them would be 64 KiB */
		syn_value v = syn_str(text);
		ck_assert_syn_ok(syn_call_future(r, "echo", &v, 1, &fs[i]));
	}
	for (int i = 0; i < N; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_uint_eq(v->len, sizeof(text) - 1);
		syn_future_free(fs[i]);
	}

	/* too deep for the server: refused there, among a slow call and
	 * quick ones */
	syn_value   d[6] = { syn_int(1) };
	syn_value   ms   = syn_int(60000), deep;
	syn_future *slow, *bad;
	for (int i = 1; i < 6; i++) {
		d[i] = syn_list(&d[i - 1], 1);
	}
	deep = d[5];
	ck_assert_syn_ok(syn_call_future(r, "sleep_ms", &ms, 1, &slow));
	for (int i = 0; i < 50; i++) {
		syn_value x = syn_int(i);
		ck_assert_syn_ok(
		    syn_call_future(r, "square_now", &x, 1, &fs[i]));
		if (i == 25) {
			ck_assert_syn_ok(
			    syn_call_future(r, "echo", &deep, 1, &bad));
		}
	}
	int rc = syn_future_wait_timeout(bad, 10000);
	ck_assert_msg(rc != 0 && rc != SYN_ETIMEDOUT, "%s", syn_errname(rc));
	ck_assert_ptr_nonnull(strstr(syn_future_error(bad)->message, "deep"));
	syn_future_free(bad);
	for (int i = 0; i < 50; i++) {
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		syn_future_free(fs[i]);
	}
	ck_assert_syn_rc(syn_future_poll(slow), SYN_EAGAIN);
	ck_assert_syn_ok(syn_future_cancel(slow));
	ck_assert_syn_rc(syn_future_wait(slow), SYN_ECANCELED);
	syn_future_free(slow);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));

	/* by the door's own inproc address */
	ck_assert_syn_ok(syn_synchronizer_url(s, inproc, sizeof(inproc)));
	ck_assert_syn_ok(syn_connect(inproc, NULL, &r));
	for (int i = 0; i < N; i++) {
		syn_value x = syn_int(i);
		ck_assert_syn_ok(
		    syn_call_future(r, "square_now", &x, 1, &fs[i]));
	}
	for (int i = 0; i < N; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->as.i, (int64_t) i * i);
		syn_future_free(fs[i]);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * Waits (15 s at most) until the calls in flight on s stop changing, at
 * 704 or more: the same count in 30 polls 10 ms apart (with other tests
 * beside it under ThreadSanitizer, the client's sends once paused for
 * more than 100 ms). Returns that count.
 */
static uint64_t
settled_in_flight(syn_synchronizer s)
{
	syn_stats st;
	uint64_t  was  = 0;
	int       same = 0; /* polls in a row that saw no change */
	for (int i = 0; i < 1500 && same < 30; i++) {
		usleep(10000);
		ck_assert_syn_ok(syn_synchronizer_stats(s, &st));
		same =
		    st.calls_in_flight == was && was >= 768 - 64 ? same + 1 : 0;
		was = st.calls_in_flight;
	}
	return was;
}

/* A server runs at most 1,024 calls of batches at once, besides 1,024
 * requests that came alone, and one connection 768 of each; the rest
 * wait, and a cancel reaches a call that waits as well as one that
 * runs. */
START_TEST(batches_bounded)
{
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "sleep_ms", "square_now", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r = connect_ready(url, NULL, "square_now");
	enum { N = 2500 };
	syn_future **fs = calloc(N, sizeof(*fs));
	syn_value    ms = syn_int(60000);
	call_futures(r, "sleep_ms", &ms, fs, N);
	syn_stats st;
	uint64_t  settled = settled_in_flight(s);
	/* (a batch of 64 waits for 64 places) */
	ck_assert_uint_ge(settled, 768 - 64);
	ck_assert_uint_le(settled, 768 + 768);
	ck_assert_uint_lt(settled, N); /* some wait */
	for (int i = N - 1; i >= 0; i--) {
		ck_assert_syn_ok(syn_future_cancel(fs[i]));
	}
	for (int i = 0; i < N; i++) {
		ck_assert_syn_rc(
		    syn_future_wait_timeout(fs[i], 10000), SYN_ECANCELED);
		syn_future_free(fs[i]);
	}
	free(fs);
	ck_assert_int_eq(remote_int(r, "square_now", 5), 25);
	ck_assert_syn_ok(syn_synchronizer_stats(s, &st));
	ck_assert_uint_eq(st.calls_in_flight, 0);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* More calls than run at once, each ending by itself: the batches that
 * waited start as places free up (from the loop, not from the stack of
 * the task whose end freed the place), and every call is answered. */
START_TEST(batches_overflow_complete)
{
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "sleep_ms", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r = connect_ready(url, NULL, "sleep_ms");
	enum { N = 1600 };
	syn_future **fs = calloc(N, sizeof(*fs));
	syn_value    ms = syn_int(D_MS);
	call_futures(r, "sleep_ms", &ms, fs, N);
	for (int i = 0; i < N; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait_timeout(fs[i], 30000));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->as.i, D_MS);
		syn_future_free(fs[i]);
	}
	free(fs);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Replies close to the client's limit come back in batches too: the
 * REPLIES around them may pass the limit by its own few bytes. */
START_TEST(batches_near_limit)
{
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "echo", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	enum { MAX = 100000, LEN = MAX - 24, N = 20 };
	syn_connect_config ccfg = { .max_message = MAX };
	syn_synchronizer   r    = connect_ready(url, &ccfg, "echo");
	char              *blob = calloc(1, LEN);
	memset(blob, 'x', LEN);
	syn_value   arg = syn_bytes(blob, LEN);
	syn_future *fs[N];
	call_futures(r, "echo", &arg, fs, N);
	for (int i = 0; i < N; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait_timeout(fs[i], 10000));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->type, SYN_TYPE_BYTES);
		ck_assert_uint_eq(v->len, LEN);
		syn_future_free(fs[i]);
	}
	free(blob);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* blob(n): n bytes of 'x'. */
static int
blob(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	char   *p  = rc == 0 ? syn_task_alloc(t, (size_t) n + 1) : NULL;
	if (p == NULL) {
		return rc != 0 ? rc : SYN_ENOMEM;
	}
	memset(p, 'x', (size_t) n);
	*ret = syn_bytes(p, (size_t) n);
	return 0;
}

/* long_error(n): raises SYN_EUSER(4) with a message of n bytes of 'e'
 * and one last character of two bytes. */
static int
long_error(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	char   *p  = rc == 0 ? syn_task_alloc(t, (size_t) n + 3) : NULL;
	if (p == NULL) {
		return rc != 0 ? rc : SYN_ENOMEM;
	}
	memset(p, 'e', (size_t) n);
	memcpy(p + n, "\xc3\xa9", 3);
	return syn_raise(t, SYN_EUSER(4), "%s", p);
}

/* chunks(n, size): yields n items of size bytes each. */
static int
chunks(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t n, size;
	int     rc = syn_unpack(t, args, nargs, "ii", &n, &size);
	char   *p  = rc == 0 ? syn_task_alloc(t, (size_t) size + 1) : NULL;
	if (p == NULL) {
		return rc != 0 ? rc : SYN_ENOMEM;
	}
	memset(p, 'c', (size_t) size);
	for (int64_t i = 0; i < n && rc == 0; i++) {
		syn_value v = syn_bytes(p, (size_t) size);
		rc          = syn_yield(t, &v, NULL);
	}
	return rc;
}

/* A server of blob, long_error, chunks and sleep_ms, and a client of it
 * that takes messages of at most 1024 bytes. */
static syn_synchronizer
small_client(syn_synchronizer *sp)
{
	static const char *const exports[] = { "blob", "long_error", "chunks",
		"sleep_ms", "square", NULL };
	char                     url[128];
	*sp = th_new();
	th_register(*sp, "blob", blob, NULL);
	th_register(*sp, "long_error", long_error, NULL);
	syn_func_def gen = { "chunks", SYN_KIND_GENERATOR, chunks, NULL };
	ck_assert_syn_ok(syn_register(*sp, &gen));
	serve_tcp(*sp, exports, url);
	syn_connect_config ccfg = { .max_message = 1024 };
	return connect_ready(url, &ccfg, "square");
}

/*
 * A reply larger than the client takes is refused on the server with
 * SYN_EMSGSIZE: it must not reach the client's socket, which would cut
 * the connection and every call in flight on it.
 */
START_TEST(reply_over_peer_limit)
{
	syn_synchronizer s, r = small_client(&s);
	syn_value        ms = syn_int(300);
	syn_future      *other;
	ck_assert_syn_ok(syn_call_future(r, "sleep_ms", &ms, 1, &other));
	syn_value n = syn_int(4000);
	ck_assert_syn_rc(syn_call(r, "blob", &n, 1, NULL), SYN_EMSGSIZE);
	n              = syn_int(900);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(r, "blob", &n, 1, &res));
	ck_assert_uint_eq(res.value.len, 900);
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_future_wait_timeout(other, 5000));
	syn_future_free(other);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* An error message longer than the client takes comes cut (on a UTF-8
 * boundary), with its code. */
START_TEST(error_over_peer_limit)
{
	syn_synchronizer s, r = small_client(&s);
	syn_value        n = syn_int(3000);
	ck_assert_syn_rc(syn_call(r, "long_error", &n, 1, NULL), SYN_EUSER(4));
	size_t len = strlen(syn_last_error()->message);
	ck_assert_msg(len > 100 && len < 1024, "message of %zu bytes", len);
	n = syn_int(10);
	ck_assert_syn_rc(syn_call(r, "long_error", &n, 1, NULL), SYN_EUSER(4));
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "\xc3\xa9"));
	ck_assert_int_eq(remote_int(r, "square", 5), 25);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Items come in batches no larger than the client takes; an item alone
 * larger than that ends the stream with SYN_EMSGSIZE, not the
 * connection. */
START_TEST(items_over_peer_limit)
{
	syn_synchronizer s, r = small_client(&s);
	for (uint32_t window = 0; window <= 16; window += 16) {
		syn_iter_config icfg = { .prefetch = window };
		syn_value       a[2] = { syn_int(20), syn_int(300) };
		syn_iter       *it;
		syn_result      res = SYN_RESULT_INIT;
		int             got = 0, rc;
		ck_assert_syn_ok(syn_iter_open(r, "chunks", a, 2, &icfg, &it));
		while ((rc = syn_iter_next(it, &res)) == 0) {
			ck_assert_uint_eq(res.value.len, 300);
			syn_result_fini(&res);
			got++;
		}
		ck_assert_syn_rc(rc, SYN_EEND);
		ck_assert_int_eq(got, 20);
		syn_iter_close(it);
		a[1] = syn_int(3000);
		ck_assert_syn_ok(syn_iter_open(r, "chunks", a, 2, &icfg, &it));
		ck_assert_syn_rc(syn_iter_next(it, &res), SYN_EMSGSIZE);
		syn_iter_close(it);
	}
	ck_assert_int_eq(remote_int(r, "square", 5), 25);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* 20 echoes of len bytes at once, as futures: how many were answered. */
static int
echoes_answered(syn_synchronizer r, size_t len)
{
	char       *blob = calloc(1, len);
	syn_value   arg  = syn_bytes(blob, len);
	syn_future *fs[20];
	int         ok = 0;
	call_futures(r, "echo", &arg, fs, 20);
	for (int i = 0; i < 20; i++) {
		ok += syn_future_wait_timeout(fs[i], 10000) == 0;
		syn_future_free(fs[i]);
	}
	free(blob);
	return ok;
}

/* After a reconnect the client asks the new server what it takes: a
 * server that came back with a smaller limit gets batches it can read. */
START_TEST(reconnect_asks_anew)
{
	static const char *const exports[] = { "echo", NULL };
	syn_serve_config         cfg       = { .exports = exports };
	char                     url[128];
	syn_synchronizer         s = th_new();
	ck_assert_syn_ok(
	    syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, sizeof(url)));
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	ck_assert_int_eq(echoes_answered(r, 1000), 20);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));

	syn_config small = { .max_message = 4096 };
	s                = th_new_cfg(&small);
	int rc           = SYN_EADDRINUSE;
	for (int i = 0; i < 200 && rc != 0; i++) { /* the port frees */
		rc = syn_serve(s, url, &cfg, NULL, 0);
		usleep(rc != 0 ? 10000 : 0);
	}
	ck_assert_syn_ok(rc);
	syn_value  one = syn_int(1);
	syn_result res = SYN_RESULT_INIT;
	rc             = SYN_ECONNRESET;
	for (int i = 0; i < 500 && rc != 0; i++) { /* nng redials */
		rc = syn_call(r, "echo", &one, 1, &res);
		usleep(rc != 0 ? 10000 : 0);
	}
	ck_assert_syn_ok(rc);
	syn_result_fini(&res);
	ck_assert_int_eq(echoes_answered(r, 1000), 20);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static void *
cancel_later(void *arg)
{
	usleep(100000);
	syn_canceller_cancel(arg);
	return NULL;
}

/* Cancelling a remote call cancels its task on the server, whose cleanup
 * runs before the caller is told: by syn_future_cancel, by a canceller
 * from another thread, by syn_call_timeout. */
START_TEST(cancel_crosses_processes)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r  = connect_to(&sv);
	syn_value        ms = syn_int(60000);
	syn_future      *f;
	ck_assert_syn_ok(syn_call_future(r, "guarded", &ms, 1, &f));
	usleep(50000);
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	ck_assert_msg(th_now_ms() - t0 < 10000, "the cancel took long");
	syn_future_free(f);
	ck_assert_int_eq(
	    remote_int(r, "counters", 0), 1); /* ran before we were told */

	syn_canceller *c;
	ck_assert_syn_ok(syn_canceller_new(&c));
	ck_assert_syn_ok(syn_canceller_bind(c, SYN_DURATION_INFINITE));
	pthread_t th;
	pthread_create(&th, NULL, cancel_later, c);
	ck_assert_syn_rc(syn_call(r, "guarded", &ms, 1, NULL), SYN_ECANCELED);
	pthread_join(th, NULL);
	ck_assert_syn_ok(syn_canceller_unbind(c));
	syn_canceller_free(c);
	ck_assert_int_eq(remote_int(r, "counters", 0), 2);

	ck_assert_syn_rc(
	    syn_call_timeout(r, "guarded", &ms, 1, 100, NULL), SYN_ETIMEDOUT);
	ck_assert_int_eq(remote_int(r, "counters", 0), 3);

	/* many at once: every one cancelled, every cleanup ran */
	syn_future *fs[20];
	call_futures(r, "guarded", &ms, fs, 20);
	usleep(50000);
	for (int i = 0; i < 20; i++) {
		syn_future_cancel(fs[i]);
	}
	for (int i = 0; i < 20; i++) {
		ck_assert_syn_rc(syn_future_wait(fs[i]), SYN_ECANCELED);
		syn_future_free(fs[i]);
	}
	ck_assert_int_eq(remote_int(r, "counters", 0), 23);

	/* an iterator's pending request: its generator sees SYN_ECANCELED */
	syn_iter *it;
	ck_assert_syn_ok(syn_iter_open(r, "slow_items", &ms, 1, NULL, &it));
	ck_assert_syn_ok(syn_iter_next_future(it, NULL, &f));
	usleep(50000);
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	syn_future_free(f);
	ck_assert_int_eq(remote_int(r, "counters", 0), 24);
	syn_iter_close(it);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* A client goes away with a stream open: the server's generator is
 * closed (its syn_yield returns SYN_EITERCLOSED); another client's
 * stream of the same id space is not touched. */
START_TEST(gone_client_streams_close)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer a = connect_to(&sv), b = connect_to(&sv);
	syn_iter        *ia, *ib;
	syn_value        n    = syn_int(1000);
	syn_result       item = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_iter_open(a, "count", &n, 1, NULL, &ia));
	ck_assert_syn_ok(syn_iter_open(b, "count", &n, 1, NULL, &ib));
	ck_assert_syn_ok(syn_iter_next(ia, &item));
	ck_assert_syn_ok(syn_iter_next(ib, &item));
	ck_assert_int_eq(remote_int(b, "counters", 1), 0);
	ck_assert_syn_ok(syn_synchronizer_destroy(a)); /* a goes away */
	int64_t closes = 0;
	for (int i = 0; i < 200 && closes == 0; i++) {
		usleep(10000);
		closes = remote_int(b, "counters", 1);
	}
	ck_assert_int_eq(closes, 1);
	ck_assert_syn_ok(syn_iter_next(ib, &item)); /* b's goes on */
	ck_assert_int_eq(item.value.as.i, 1);
	syn_iter_close(ib);
	syn_iter_close(ia);
	ck_assert_int_eq(remote_int(b, "counters", 1), 2);
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	server_stop(&sv);
}
END_TEST

/* The server is killed: calls in flight fail with SYN_ECONNRESET within
 * a bounded time, new ones at once. */
START_TEST(server_killed)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r = connect_to(&sv);
	ck_assert_int_eq(remote_int(r, "square", 3), 9);
	syn_future *f;
	syn_value   ms = syn_int(60000);
	ck_assert_syn_ok(syn_call_future(r, "sleep_ms", &ms, 1, &f));
	usleep(50000);
	kill(sv.pid, SIGKILL);
	double t0 = th_now_ms();
	ck_assert_syn_rc(syn_future_wait_timeout(f, 10000), SYN_ECONNRESET);
	ck_assert_msg(th_now_ms() - t0 < 5000, "the loss took long");
	syn_future_free(f);
	usleep(50000);
	t0 = th_now_ms();
	ck_assert_syn_rc(syn_call(r, "square", &ms, 1, NULL), SYN_ECONNRESET);
	ck_assert_msg(th_now_ms() - t0 < 6000, "a call waited for ever");
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	close(sv.in);
	waitpid(sv.pid, NULL, 0);
}
END_TEST

typedef struct steady {
	syn_synchronizer r;
	atomic_bool      stop;
	long             calls, failed;
} steady;

static void *
steady_calls(void *arg)
{
	steady *st = arg;
	while (!atomic_load(&st->stop)) {
		syn_value  a   = syn_int(st->calls % 1000);
		syn_result res = SYN_RESULT_INIT;
		if (syn_call(st->r, "square", &a, 1, &res) != 0 ||
		    res.value.as.i != (st->calls % 1000) * (st->calls % 1000)) {
			st->failed++;
		}
		syn_result_fini(&res);
		st->calls++;
	}
	return NULL;
}

/* Sends one raw frame on a req0 socket; returns the reply's first byte
 * kind (or -errno-ish codes); the socket times out after 2 s. */
static int
raw_frame(const char *url, const void *bytes, size_t len)
{
	nng_socket req;
	nng_msg   *m;
	ck_assert_int_eq(nng_req0_open(&req), 0);
	nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 2000);
	nng_socket_set_ms(req, NNG_OPT_SENDTIMEO, 2000);
	int rc = nng_dial(req, url, NULL, 0);
	if (rc == 0) {
		ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
		ck_assert_int_eq(nng_msg_append(m, bytes, len), 0);
		if ((rc = nng_sendmsg(req, m, 0)) != 0) {
			nng_msg_free(m);
		} else if ((rc = nng_recvmsg(req, &m, 0)) == 0) {
			rc = nng_msg_len(m) >= 3
			    ? ((const uint8_t *) nng_msg_body(m))[2]
			    : -1;
			nng_msg_free(m);
		}
	}
	nng_close(req);
	return rc;
}

/* The caller's call context reaches the task of a server in another
 * process, blocking and as a future; a CALL whose context names an object
 * is refused with an ERROR, and the server serves on. */
START_TEST(context_crosses)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r   = connect_to(&sv);
	syn_value        key = syn_str("request"), id = syn_str("r-42");
	syn_result       res = SYN_RESULT_INIT;
	ck_assert_syn_rc(syn_call(r, "context", &key, 1, &res), SYN_ENOENT);
	ck_assert_str_eq(
	    syn_last_error()->message, "no request in the context");
	ck_assert_syn_ok(syn_context_set("request", &id));
	ck_assert_syn_ok(syn_call(r, "context", &key, 1, &res));
	ck_assert_str_eq(res.value.as.str, "r-42");
	syn_result_fini(&res);
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(r, "context", &key, 1, &f));
	ck_assert_syn_ok(syn_future_wait(f));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_str_eq(v->as.str, "r-42");
	syn_future_free(f);
	syn_context_clear();
	ck_assert_syn_rc(syn_call(r, "context", &key, 1, &res), SYN_ENOENT);

	const uint8_t bad[] = { 0xc1, 1, 1, 0x05, 0xc0, 0xa7, 'c', 'o', 'n',
		't', 'e', 'x', 't', 0x91, 0xa1, 'k', 0x81, 0xa1, 'k', 0xd8,
		SNI_EXT_HANDLE, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
		2 };
	ck_assert_int_eq(raw_frame(sv.url, bad, sizeof(bad)), SNI_MSG_ERROR);
	ck_assert_syn_ok(syn_context_set("request", &id));
	ck_assert_syn_ok(syn_call(r, "context", &key, 1, &res));
	ck_assert_str_eq(res.value.as.str, "r-42");
	syn_result_fini(&res);
	syn_context_clear();
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/*
 * A peer that never fetches the replies of its batches: each batch stays
 * open while its slow call sleeps, and the server takes at most 256 open
 * batches from one connection (then SYN_EBUSY), so what it keeps for such
 * a peer is bounded. A well-behaved client meanwhile calls on.
 */
START_TEST(unfetched_batches_bounded)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r = connect_to(&sv);
	/* (each call of a connection has its own id: bytes 4 and 5) */
	uint8_t    slow[] = { 0xc1, 1, 1, 0xcd, 0, 0, 0xc0, 0xa8, 's', 'l', 'e',
		   'e', 'p', '_', 'm', 's', 0x91, 0xcd, 0xea, 0x60 };
	uint8_t    call[] = { 0xc1, 1, 1, 0xcd, 0, 0, 0xc0, 0xa6, 's', 'q', 'u',
		   'a', 'r', 'e', 0x91, 0x07 };
	nng_socket req;
	ck_assert_int_eq(nng_req0_open(&req), 0);
	nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 5000);
	ck_assert_int_eq(nng_dial(req, sv.url, NULL, 0), 0);
	int replies = 0, busy = 0;
	for (int i = 0; i < 260; i++) {
		uint8_t frame[64] = { 0xc1, 1, 15, 0xcd, (uint8_t) (i >> 8),
			(uint8_t) i, 0x00, 0x02, 0xc4, sizeof(slow) };
		size_t  n         = 10;
		slow[4] = call[4] = (uint8_t) ((2 * i + 1000) >> 8);
		slow[5]           = (uint8_t) (2 * i + 1000);
		call[5]           = (uint8_t) (2 * i + 1001);
		memcpy(frame + n, slow, sizeof(slow));
		n += sizeof(slow);
		frame[n++] = 0xc4;
		frame[n++] = sizeof(call);
		memcpy(frame + n, call, sizeof(call));
		n += sizeof(call);
		nng_msg *m;
		ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
		ck_assert_int_eq(nng_msg_append(m, frame, n), 0);
		ck_assert_int_eq(nng_sendmsg(req, m, 0), 0);
		ck_assert_int_eq(nng_recvmsg(req, &m, 0), 0);
		int kind = nng_msg_len(m) >= 3
		    ? ((const uint8_t *) nng_msg_body(m))[2]
		    : -1;
		nng_msg_free(m);
		replies += kind == 16; /* REPLIES: the quick call's */
		busy += kind == 3;     /* ERROR: too many open */
		ck_assert_int_eq(
		    remote_int(r, "square", i % 50), (i % 50) * (i % 50));
	}
	ck_assert_int_eq(replies, 256);
	ck_assert_int_eq(busy, 4);
	nng_close(req);
	ck_assert_int_eq(remote_int(r, "square", 9), 81);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* A BATCH (id batch) of n calls of method with args, call ids from
 * id0. */
static nng_msg *
batch_msg(uint64_t batch, uint32_t n, uint64_t id0, const char *method,
    const syn_value *args, size_t nargs)
{
	sni_limits lim = { SNI_DEFAULT_MAX_DEPTH, SNI_DEFAULT_MAX_SIZE, false,
		false, false, false };
	sni_wbuf   w, call;
	sni_wbuf_init(&w);
	sni_msg_encode_bundle(&w, SNI_MSG_BATCH, batch, 0, n);
	for (uint32_t i = 0; i < n; i++) {
		sni_wbuf_init(&call);
		ck_assert_syn_ok(sni_msg_encode_call(&call, id0 + i, NULL,
		    method, strlen(method), args, nargs, &lim));
		sni_msg_bundle_add(&w, call.buf, call.len);
		sni_wbuf_fini(&call);
	}
	ck_assert_int_eq(w.err, 0);
	nng_msg *m;
	ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
	ck_assert_int_eq(nng_msg_append(m, w.buf, w.len), 0);
	sni_wbuf_fini(&w);
	return m;
}

/*
 * A connection that sends batches and never fetches their replies gets
 * its next batches held back once 32 MiB of replies wait for it (they
 * grew for as long as it stayed: 1 GB in the review's run). Its BATCHes
 * are then not answered; another connection's calls go on.
 */
START_TEST(unfetched_replies_hold_back)
{
	enum { BATCHES = 40, CALLS = 16, KIB = 256 };
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r = connect_to(&sv);
	nng_socket       req;
	ck_assert_int_eq(nng_req0_open(&req), 0);
	nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 2000);
	ck_assert_int_eq(nng_dial(req, sv.url, NULL, 0), 0);
	char     *blob     = calloc(1, KIB << 10);
	syn_value arg      = syn_bytes(blob, KIB << 10);
	int       answered = 0;
	for (int b = 0; b < BATCHES; b++) {
		nng_msg *m = batch_msg((uint64_t) b + 1, CALLS,
		    1000 + (uint64_t) b * CALLS, "echo", &arg, 1);
		ck_assert_int_eq(nng_sendmsg(req, m, 0), 0);
		if (nng_recvmsg(req, &m, 0) != 0) {
			break; /* held back */
		}
		nng_msg_free(m); /* its first replies; the rest wait */
		answered++;
	}
	/* 32 MiB are 8 batches of 4 MiB; what ran meanwhile adds some */
	ck_assert_int_lt(answered, 16);
	ck_assert_int_eq(remote_int(r, "square", 9), 81);
	free(blob);
	/* (bounded: nng 1.5.2's close of a socket with a request in flight
	 * can hang, see core/nngclose.h) */
	sni_close_bounded(req, 2000, NULL, NULL);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/*
 * One connection's batches take at most 768 of the 1,024 places of batch
 * calls: another connection's batch runs meanwhile (it waited behind the
 * first one's calls: found by review).
 */
START_TEST(batch_member_share)
{
	enum { BATCHES = 20, CALLS = 64 };
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	nng_socket a, b;
	ck_assert_int_eq(nng_req0_open(&a), 0);
	ck_assert_int_eq(nng_req0_open(&b), 0);
	nng_socket_set_ms(b, NNG_OPT_RECVTIMEO, 5000);
	ck_assert_int_eq(nng_dial(a, sv.url, NULL, 0), 0);
	ck_assert_int_eq(nng_dial(b, sv.url, NULL, 0), 0);
	nng_ctx   ctx[BATCHES];
	nng_aio  *aio[BATCHES];
	syn_value ms = syn_int(60000);
	for (int i = 0; i < BATCHES; i++) {
		ck_assert_int_eq(nng_ctx_open(&ctx[i], a), 0);
		ck_assert_int_eq(nng_aio_alloc(&aio[i], NULL, NULL), 0);
		nng_aio_set_msg(aio[i],
		    batch_msg((uint64_t) i + 1, CALLS,
		        1000 + (uint64_t) i * CALLS, "sleep_ms", &ms, 1));
		nng_ctx_send(ctx[i], aio[i]);
	}
	for (int i = 0; i < BATCHES; i++) {
		nng_aio_wait(aio[i]);
		ck_assert_int_eq(nng_aio_result(aio[i]), 0);
	}
	usleep(300000); /* they start, or wait */
	syn_value two = syn_int(2);
	nng_msg  *m   = batch_msg(1, 1, 5, "square", &two, 1);
	ck_assert_int_eq(nng_sendmsg(b, m, 0), 0);
	ck_assert_int_eq(nng_recvmsg(b, &m, 0), 0); /* its REPLIES */
	ck_assert_int_eq(((const uint8_t *) nng_msg_body(m))[2], 16);
	nng_msg_free(m);
	for (int i = 0; i < BATCHES; i++) {
		nng_aio_free(aio[i]);
	}
	sni_close_bounded(a, 2000, NULL, NULL); /* (as in unfetched_...) */
	nng_close(b);
	server_stop(&sv);
}
END_TEST

/* A client with more calls in flight than 256 batches hold keeps the
 * rest back until a batch ends: every call is answered. */
START_TEST(batches_held_back)
{
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "sleep_ms", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r = connect_ready(url, NULL, "sleep_ms");
	enum { N = 256 * 64 + 2000 };
	syn_future **fs = calloc(N, sizeof(*fs));
	syn_value    ms = syn_int(20);
	call_futures(r, "sleep_ms", &ms, fs, N);
	for (int i = 0; i < N; i++) {
		ck_assert_syn_ok(syn_future_wait_timeout(fs[i], 60000));
		syn_future_free(fs[i]);
	}
	free(fs);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Garbage at the server, while a well-behaved client calls on. */
START_TEST(bad_input_is_survived)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	steady    st = { .r = connect_to(&sv) };
	pthread_t th;
	pthread_create(&th, NULL, steady_calls, &st);

	/* Random frames, every prefix of a call, a wrong version, a handle
	 * (objects cannot cross yet), and frames over the size limit. */
	unsigned seed = 12345;
	uint8_t  junk[512];
	for (int i = 0; i < 200; i++) {
		size_t len = (size_t) (rand_r(&seed) % sizeof(junk));
		for (size_t k = 0; k < len; k++) {
			junk[k] = (uint8_t) rand_r(&seed);
		}
		if (i % 2) {
			junk[0] = 0xc1; /* looks like ours */
			junk[1] = 1;
		}
		int rc = raw_frame(sv.url, junk, len);
		ck_assert_msg(
		    rc == 3 || rc == NNG_ETIMEDOUT || rc == NNG_ECLOSED,
		    "frame %d: %d", i, rc);
	}
	static const uint8_t call[] = { 0xc1, 1, 1, 0x00, 0xc0, 0xa6, 's', 'q',
		'u', 'a', 'r', 'e', 0x91, 0x07 };
	for (size_t len = 0; len < sizeof(call); len++) {
		ck_assert_int_eq(raw_frame(sv.url, call, len), 3); /* ERROR */
	}
	ck_assert_int_eq(raw_frame(sv.url, call, sizeof(call)), 2); /* RETURN */
	uint8_t v2[sizeof(call)];
	memcpy(v2, call, sizeof(call));
	v2[1] = 2;
	ck_assert_int_eq(raw_frame(sv.url, v2, sizeof(v2)), 3);
	uint8_t handle_call[32] = { 0xc1, 1, 1, 0x00, 0xc0, 0xa4, 'e', 'c', 'h',
		'o', 0x91, 0xd8, 1 };
	ck_assert_int_eq(raw_frame(sv.url, handle_call, 13 + 16), 3);
	/* Batches: two calls; a slow call and a quick one (the quick one's
	 * reply comes at once); a reply where a call belongs and garbage in
	 * a batch (each answered with its error); empty; and a FETCH of no
	 * batch. */
	uint8_t batch[64] = { 0xc1, 1, 15, 0x7f, 0x00, 0x02 };
	size_t  n         = 6;
	for (int i = 0; i < 2; i++) {
		batch[n++] = 0xc4;
		batch[n++] = sizeof(call);
		memcpy(batch + n, call, sizeof(call));
		batch[n + 3] = (uint8_t) (i + 1); /* its call id */
		n += sizeof(call);
	}
	ck_assert_int_eq(raw_frame(sv.url, batch, n), 16); /* REPLIES */
	static const uint8_t slow[] = { 0xc1, 1, 1, 0x05, 0xc0, 0xa8, 's', 'l',
		'e', 'e', 'p', '_', 'm', 's', 0x91, 0xcd, 0xea, 0x60 };
	uint8_t slow_batch[64]      = { 0xc1, 1, 15, 0x7f, 0x00, 0x02, 0xc4,
		     sizeof(slow) };
	memcpy(slow_batch + 8, slow, sizeof(slow));
	memcpy(slow_batch + 8 + sizeof(slow), batch + 6, 2 + sizeof(call));
	ck_assert_int_eq(
	    raw_frame(sv.url, slow_batch, 8 + sizeof(slow) + 2 + sizeof(call)),
	    16);
	batch[8 + 2] = 2; /* the first is a RETURN */
	ck_assert_int_eq(raw_frame(sv.url, batch, n), 16);
	batch[8] = 0x00; /* and garbage */
	ck_assert_int_eq(raw_frame(sv.url, batch, n), 16);
	static const uint8_t empty[] = { 0xc1, 1, 15, 0x7f, 0x00, 0x00 };
	ck_assert_int_eq(raw_frame(sv.url, empty, sizeof(empty)), 3);
	static const uint8_t fetch[] = { 0xc1, 1, 17, 0x01, 0x7f };
	ck_assert_int_eq(raw_frame(sv.url, fetch, sizeof(fetch)), 3);

	uint8_t *big = calloc(1, 200000);
	memcpy(big, call, sizeof(call));
	int rc = raw_frame(sv.url, big, 200000); /* over 64 KiB */
	ck_assert_msg(rc != 2 && rc != 3, "an oversized frame got %d", rc);
	free(big);

	/* Not even the SP protocol: raw bytes on a TCP connection. */
	int                port = atoi(strrchr(sv.url, ':') + 1);
	struct sockaddr_in sa   = { .sin_family = AF_INET,
		  .sin_port                     = htons((uint16_t) port),
		  .sin_addr.s_addr              = htonl(INADDR_LOOPBACK) };
	for (int i = 0; i < 20; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(fd, 0);
		if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
			(void) !write(fd, junk, 64 + (size_t) i * 20);
		}
		close(fd);
	}

	atomic_store(&st.stop, true);
	pthread_join(th, NULL);
	ck_assert_int_gt(st.calls, 10);
	ck_assert_int_eq(st.failed, 0);
	ck_assert_int_eq(remote_int(st.r, "square", 7), 49);
	ck_assert_syn_ok(syn_synchronizer_destroy(st.r));
	server_stop(&sv);
}
END_TEST

/* A server that answers every request with the next bad reply. */
typedef struct liar {
	nng_socket rep;
	int        answered;
} liar;

static void *
lie(void *arg)
{
	liar                *l = arg;
	nng_msg             *m;
	unsigned             seed           = 7;
	static const uint8_t handle_reply[] = { 0xc1, 1, 2, 0x01, 0xd8, 9, 0, 0,
		0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5 }; /* no such ext */
	static const uint8_t ptr_reply[] = { 0xc1, 1, 2, 0x01, 0xd8, 3, 1, 2, 3,
		4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 5 };
	static const uint8_t call_reply[] = { 0xc1, 1, 1, 0x01, 0xc0, 0xa1, 'f',
		0x90 }; /* a request where a reply belongs */
	while (nng_recvmsg(l->rep, &m, 0) == 0) {
		nng_msg_chop(m, nng_msg_len(m)); /* keep the header */
		switch (l->answered++ % 5) {
		case 0:
			nng_msg_append(m, handle_reply, sizeof(handle_reply));
			break;
		case 1:
			nng_msg_append(m, ptr_reply, sizeof(ptr_reply));
			break;
		case 2:
			nng_msg_append(m, call_reply, sizeof(call_reply));
			break;
		case 3:
			for (int i = 0; i < 40; i++) {
				uint8_t b = (uint8_t) rand_r(&seed);
				nng_msg_append(m, &b, 1);
			}
			break;
		default:
			nng_msg_append(m, handle_reply, 5); /* truncated */
			break;
		}
		if (nng_sendmsg(l->rep, m, 0) != 0) {
			nng_msg_free(m);
		}
	}
	return NULL;
}

/* A server that lies: every bad reply is SYN_EPROTO for its call, and
 * the client goes on. */
START_TEST(bad_replies_are_refused)
{
	liar         l = { 0 };
	nng_listener lst;
	int          port;
	char         url[64];
	ck_assert_int_eq(nng_rep0_open(&l.rep), 0);
	ck_assert_int_eq(nng_listen(l.rep, "tcp://127.0.0.1:0", &lst, 0), 0);
	ck_assert_int_eq(
	    nng_listener_get_int(lst, NNG_OPT_TCP_BOUND_PORT, &port), 0);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	pthread_t th;
	pthread_create(&th, NULL, lie, &l);
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	for (int i = 0; i < 25; i++) {
		syn_value  a   = syn_int(i);
		syn_result res = SYN_RESULT_INIT;
		int        rc  = syn_call(r, "anything", &a, 1, &res);
		ck_assert_msg(
		    rc == SYN_EPROTO, "reply %d: %s", i, syn_errname(rc));
		syn_result_fini(&res);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	nng_close(l.rep);
	pthread_join(th, NULL);
}
END_TEST

/*
 * A process that only connects (no synchronizer of its own) forks: in
 * the child its connection and pending future are the parent's
 * (SYN_EFORK). (The fork handler was installed only with a first
 * synchronizer, so the child's call went to nng, which aborted: found by
 * review.)
 */
START_TEST(fork_in_a_client_only_process)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r  = connect_to(&sv);
	syn_value        ms = syn_int(10000);
	syn_future      *f;
	ck_assert_syn_ok(syn_call_future(r, "sleep_ms", &ms, 1, &f));
	usleep(50000); /* (ASan's allocator is not fork-safe: let the
	                  threads settle) */
	pid_t pid = fork();
	if (pid == 0) {
		syn_value x = syn_int(3);
		_exit(syn_future_poll(f) != SYN_EFORK ? 1
		        : syn_call(r, "square_now", &x, 1, NULL) != SYN_EFORK
		        ? 2
		        : 0);
	}
	int status = 0;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child: %s %d", WIFEXITED(status) ? "exit" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	ck_assert_syn_ok(syn_future_cancel(f));
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* What cannot be done yet, and bad arguments, say so clearly. */
START_TEST(refusals)
{
	syn_synchronizer r;
	ck_assert_syn_rc(syn_connect(NULL, NULL, &r), SYN_EINVAL);
	ck_assert_syn_rc(
	    syn_connect("tcp://127.0.0.1:1", NULL, &r), SYN_ECONNREFUSED);
	ck_assert_syn_rc(syn_connect("bogus://x", NULL, &r), SYN_ENOTSUP);
	syn_synchronizer s = th_new();
	ck_assert_syn_rc(syn_serve(s, NULL, NULL, NULL, 0), SYN_EINVAL);
	ck_assert_syn_rc(
	    syn_serve(s, "tcp://127.0.0.1:0", NULL, (char[4]) { 0 }, 4),
	    SYN_EINVAL);
	const char *const bad[] = { "", NULL };
	syn_serve_config  cfg   = { .exports = bad };
	ck_assert_syn_rc(
	    syn_serve(s, "tcp://127.0.0.1:0", &cfg, NULL, 0), SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	syn_config nd = { .no_door = true };
	s             = th_new_cfg(&nd);
	ck_assert_syn_rc(
	    syn_serve(s, "tcp://127.0.0.1:0", NULL, NULL, 0), SYN_ENOENT);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "no_door"));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));

	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	r                     = connect_to(&sv);
	syn_synchronizer here = th_new();
	syn_result       res  = SYN_RESULT_INIT;
	ck_assert_syn_rc(syn_new(r, "Anything", NULL, 0, NULL), SYN_EINVAL);
	syn_proxy *p;
	ck_assert_syn_rc(syn_new(r, "Anything", NULL, 0, &p), SYN_ENOENT);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "served"));
	syn_handle h = { here.id, 5 };
	syn_value  hv;
	hv.type      = SYN_TYPE_HANDLE;
	hv.as.handle = &h;
	ck_assert_syn_rc(syn_call(r, "echo", &hv, 1, &res), SYN_ENOTSUP);
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* ---- objects across processes ---------------------------------------- */

/* counters(which) of the server, through r. */
static int64_t
server_count(syn_synchronizer r, int which)
{
	return remote_int(r, "counters", which);
}

/* Waits (2 s at most) until the server has want Counters alive. */
static void
wait_live(syn_synchronizer r, int64_t want)
{
	int64_t live = -1;
	for (int i = 0; i < 400 && (live = server_count(r, 2)) != want; i++) {
		usleep(5000);
	}
	ck_assert_msg(live == want, "%lld Counters alive, not %lld",
	    (long long) live, (long long) want);
}

static syn_proxy *
remote_counter(syn_synchronizer r, int64_t v)
{
	syn_value  a = syn_int(v);
	syn_proxy *p;
	ck_assert_syn_ok(syn_new(r, "Counter", &a, 1, &p));
	return p;
}

static int64_t
invoke_int(syn_proxy *p, const char *method, const syn_value *args, size_t n)
{
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_invoke(p, method, args, n, &res));
	ck_assert_int_eq(res.value.type, SYN_TYPE_INT);
	int64_t v = res.value.as.i;
	syn_result_fini(&res);
	return v;
}

/* Objects made, returned and yielded by a served synchronizer become
 * proxies in the client, with every call form; proxies passed back
 * arrive as the objects; the last release drops the object there. */
START_TEST(objects_cross)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r = connect_to(&sv);
	syn_proxy       *p = remote_counter(r, 5);
	ck_assert_uint_eq(syn_proxy_synchronizer(p).id, r.id);
	syn_value three = syn_int(3);
	ck_assert_int_eq(invoke_int(p, "add", &three, 1), 8);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_get(p, "value", &res));
	ck_assert_int_eq(res.value.as.i, 8);
	syn_result_fini(&res);

	/* future and aio forms */
	syn_future *f;
	ck_assert_syn_ok(syn_invoke_future(p, "add", &three, 1, &f));
	ck_assert_syn_ok(syn_future_wait(f));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_int_eq(v->as.i, 11);
	syn_future_free(f);
	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	syn_invoke_aio(p, "add", &three, 1, aio);
	nng_aio_wait(aio);
	ck_assert_syn_ok(syn_aio_result(aio, &res));
	ck_assert_int_eq(res.value.as.i, 14);
	syn_result_fini(&res);
	nng_aio_free(aio);

	/* an object returned by a function and by a method */
	syn_value ten = syn_int(10);
	ck_assert_syn_ok(syn_call(r, "make_counter", &ten, 1, &res));
	ck_assert_int_eq(res.value.type, SYN_TYPE_PROXY);
	syn_proxy *q = syn_proxy_ref(res.value.as.proxy);
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_invoke(p, "twin", NULL, 0, &res));
	syn_proxy *twin = syn_proxy_ref(res.value.as.proxy);
	syn_result_fini(&res);
	ck_assert_ptr_ne(twin, p);
	ck_assert_int_eq(invoke_int(twin, "value", NULL, 0), 14);
	wait_live(r, 3);

	/* proxies passed back arrive as the objects: alone and in a list */
	syn_value qv = syn_proxy_value(q);
	ck_assert_int_eq(invoke_int(p, "plus", &qv, 1), 24);
	syn_value items[3] = { syn_proxy_value(p), syn_proxy_value(q),
		syn_proxy_value(twin) };
	syn_value list     = syn_list(items, 3);
	ck_assert_syn_ok(syn_call(r, "sum", &list, 1, &res));
	ck_assert_int_eq(res.value.as.i, 38);
	syn_result_fini(&res);

	/* a generator method yields objects */
	syn_iter *it;
	ck_assert_syn_ok(syn_invoke_iter(p, "upto", &three, 1, NULL, &it));
	for (int i = 0; i < 3; i++) {
		ck_assert_syn_ok(syn_iter_next(it, &res));
		ck_assert_int_eq(res.value.type, SYN_TYPE_PROXY);
		ck_assert_int_eq(
		    invoke_int(res.value.as.proxy, "value", NULL, 0), 14 + i);
		syn_result_fini(&res);
	}
	ck_assert_syn_rc(syn_iter_next(it, &res), SYN_EEND);
	ck_assert_syn_ok(syn_iter_close(it));

	/* a context manager: exit runs with the block's outcome */
	int rc = -1;
	SYN_WITH(w, p, &rc)
	{
		ck_assert_int_eq(w.value.value.as.i, 14);
		w.rc = SYN_EUSER(3);
	}
	ck_assert_int_eq(rc, SYN_EUSER(3));
	ck_assert_int_eq(server_count(r, 4), 1);
	ck_assert_int_eq(server_count(r, 5), SYN_EUSER(3));

	/* The same object comes back as the same proxy. */
	ck_assert_syn_ok(syn_call(r, "echo", &qv, 1, &res));
	ck_assert_ptr_eq(res.value.as.proxy, q);
	syn_result_fini(&res);

	/* Released: the server drops them (the yielded ones went too). */
	syn_proxy_release(q);
	syn_proxy_release(twin);
	wait_live(r, 1);
	int64_t dropped = server_count(r, 3);
	syn_proxy_release(p);
	wait_live(r, 0);
	ck_assert_int_eq(server_count(r, 3), dropped + 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* A call made as a future and its proxy's last release at once: the
 * release cannot overtake the call (the call holds the proxy). */
START_TEST(release_after_call)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r = connect_to(&sv);
	syn_future      *fs[100];
	syn_value        one = syn_int(1);
	for (int i = 0; i < 100; i++) {
		syn_proxy *p = remote_counter(r, i);
		ck_assert_syn_ok(syn_invoke_future(p, "add", &one, 1, &fs[i]));
		syn_proxy_release(p);
	}
	for (int i = 0; i < 100; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(v->as.i, i + 1);
		syn_future_free(fs[i]);
	}
	wait_live(r, 0);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* A proxy released and its connection destroyed at once, again and
 * again: the RELEASE still on its way neither stalls the destroy nor
 * leaks, and the server drops every object (the connection's end gives
 * back what its RELEASE did not). */
START_TEST(release_then_destroy)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer watch = connect_to(&sv);
	for (int i = 0; i < 20; i++) {
		syn_synchronizer r = connect_to(&sv);
		syn_proxy_release(remote_counter(r, i));
		double t0 = th_now_ms();
		ck_assert_syn_ok(syn_synchronizer_destroy(r));
		ck_assert_msg(th_now_ms() - t0 < 2000,
		    "destroy %d took %.0f ms", i, th_now_ms() - t0);
	}
	wait_live(watch, 0);
	ck_assert_syn_ok(syn_synchronizer_destroy(watch));
	server_stop(&sv);
}
END_TEST

/* Starts a client process that makes n Counters on url and keeps them. */
static void
client_start(server *cl, const char *url, int n)
{
	char count[16];
	snprintf(count, sizeof(count), "%d", n);
	char *argv[] = { (char *) SYN_REMOTE_SERVER, (char *) "client",
		(char *) url, count, NULL };
	spawn(cl, argv);
	ck_assert_str_eq(cl->url, "ready");
}

/* A client that goes away (killed, or disconnected) lets go of what it
 * held on the server; the server keeps serving the others. */
START_TEST(gone_client_objects)
{
	server sv, cl;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r = connect_to(&sv);
	client_start(&cl, sv.url, 3);
	wait_live(r, 3);
	kill(cl.pid, SIGKILL);
	waitpid(cl.pid, NULL, 0);
	close(cl.in);
	wait_live(r, 0);

	/* Disconnecting while holding proxies: the same, and the proxies
	 * left here fail cleanly and can still be released. */
	syn_synchronizer r2 = connect_to(&sv);
	syn_proxy       *p  = remote_counter(r2, 1);
	syn_proxy       *q  = remote_counter(r2, 2);
	wait_live(r, 2);
	ck_assert_syn_ok(syn_synchronizer_destroy(r2));
	wait_live(r, 0);
	ck_assert_syn_rc(syn_invoke(p, "value", NULL, 0, NULL), SYN_ECLOSED);
	syn_proxy_release(p);
	syn_proxy_release(q);
	ck_assert_int_eq(remote_int(r, "square", 9), 81);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* A connection reaches only the objects handed to it: a handle made up
 * or taken from another connection is refused; what cannot cross is
 * refused with a clear error. */
START_TEST(objects_guarded)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer a = connect_to(&sv);
	syn_synchronizer b = connect_to(&sv);
	syn_proxy       *p = remote_counter(a, 7);
	/* b names a's object by its id: a proxy begins with its handle */
	syn_handle stolen = { b.id, ((const syn_handle *) (void *) p)->object };
	ck_assert_syn_rc(
	    syn_ref_invoke(&stolen, "value", NULL, 0, NULL), SYN_ECLOSED);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "holds no"));
	syn_value hv   = { .type = SYN_TYPE_HANDLE, .as.handle = &stolen };
	syn_value list = syn_list(&hv, 1);
	ck_assert_syn_rc(syn_call(b, "sum", &list, 1, NULL), SYN_ECLOSED);
	/* a's proxy cannot go to b; a local proxy goes to a (lent: see
	 * callbacks), but not back in a result */
	syn_value pv = syn_proxy_value(p);
	ck_assert_syn_rc(syn_call(b, "echo", &pv, 1, NULL), SYN_ENOTSUP);
	syn_synchronizer here = th_new();
	syn_class_def    cd   = { .name = "Local", .size = 8 };
	ck_assert_syn_ok(syn_register_class(here, &cd));
	syn_proxy *local;
	ck_assert_syn_ok(syn_new(here, "Local", NULL, 0, &local));
	syn_value lv = syn_proxy_value(local);
	ck_assert_syn_rc(syn_call(a, "echo", &lv, 1, NULL), SYN_ENOTSUP);
	/* a proxy of the server's other synchronizer cannot come here */
	ck_assert_syn_rc(syn_call(a, "foreign", NULL, 0, NULL), SYN_ENOTSUP);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "proxy"));
	/* nothing was lost: a's object still works */
	ck_assert_int_eq(invoke_int(p, "value", NULL, 0), 7);
	/* a proxy whose synchronizer is gone is closed (found by review:
	 * it was refused as no local one, SYN_ENOTSUP) */
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	ck_assert_syn_rc(syn_call(a, "echo", &lv, 1, NULL), SYN_ECLOSED);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "destroyed"));
	syn_proxy_release(local);
	syn_proxy_release(p);
	wait_live(a, 1); /* the one foreign() keeps on the server's side */
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	server_stop(&sv);
}
END_TEST

/*
 * A raw peer that sends up to max calls with large replies (size bytes,
 * 256 to 65535) and reads none of them; returns its socket, the number
 * sent in *sent.
 */
static nng_socket
stalled_peer(const server *sv, int max, size_t size, int *sent)
{
	nng_socket bad;
	ck_assert_int_eq(nng_req0_open_raw(&bad), 0);
	ck_assert_int_eq(nng_dial(bad, sv->url, NULL, 0), 0);
	ck_assert_int_eq(nng_socket_set_ms(bad, NNG_OPT_SENDTIMEO, 500), 0);
	/* CALL echo("xxx...") of size bytes, made by hand */
	const uint8_t head[] = { 0xc1, 1, 1, 0x00, 0xc0, 0xa4, 'e', 'c', 'h',
		'o', 0x91, 0xda, (uint8_t) (size >> 8), (uint8_t) size };
	uint8_t      *frame  = malloc(sizeof(head) + size);
	memcpy(frame, head, sizeof(head));
	memset(frame + sizeof(head), 'x', size);
	*sent = 0;
	for (uint32_t i = 0; i < (uint32_t) max; i++) {
		nng_msg *m;
		ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
		nng_msg_append(m, frame, sizeof(head) + size);
		nng_msg_header_append_u32(m, 0x80000000u | (i + 1));
		if (nng_sendmsg(bad, m, 0) != 0) { /* it blocked: full */
			nng_msg_free(m);
			break;
		}
		(*sent)++;
	}
	free(frame);
	return bad;
}

/* Reads n replies on the raw socket bad (within 20 s each), counting the
 * RETURNs in *returns and the ERRORs in *errors: all are one or other. */
static void
read_replies_of(nng_socket bad, int n, int *returns, int *errors)
{
	ck_assert_int_eq(nng_socket_set_ms(bad, NNG_OPT_RECVTIMEO, 20000), 0);
	*returns = *errors = 0;
	for (int i = 0; i < n; i++) {
		nng_msg *m;
		ck_assert_int_eq(nng_recvmsg(bad, &m, 0), 0);
		const uint8_t *b = nng_msg_body(m);
		*returns += b[2] == SNI_MSG_RETURN;
		*errors += b[2] == SNI_MSG_ERROR;
		nng_msg_free(m);
	}
	ck_assert_int_eq(*returns + *errors, n);
}

/*
 * A peer that leaves its replies unread holds at most 32 MiB of them
 * (beyond what nng and the kernel took at once): its next calls are
 * answered SYN_EBUSY, small, and it reads them all once it reads. (It
 * held all it asked for, up to the door's 4,096 slots: 1 GB of 256 KiB
 * replies, found by review.)
 */
START_TEST(unread_replies_bounded)
{
	server sv;
	/* (a long reply timeout: under ThreadSanitizer the replies that
	 * wait for their reader wait long) */
	server_start_timing_out(&sv, "60000");
	int        sent;
	nng_socket bad = stalled_peer(&sv, 3000, 65000, &sent);
	ck_assert_int_gt(sent, 1500);
	usleep(500 * 1000); /* (the server answers them all) */
	int returns, busy;
	read_replies_of(bad, sent, &returns, &busy);
	ck_assert_msg(returns < 1200 && busy > 300,
	    "%d replies of 65,000 bytes, %d refusals", returns, busy);
	nng_close(bad);
	server_stop(&sv);
}
END_TEST

/* Sends n calls nap_big(ms, 60000) on the raw socket bad, numbered on
 * from *next. */
static void
send_nap_big(nng_socket bad, int n, uint32_t *next, int ms)
{
	const uint8_t frame[] = { 0xc1, 1, 1, 0x00, 0xc0, 0xa7, 'n', 'a', 'p',
		'_', 'b', 'i', 'g', 0x92, 0xcd, (uint8_t) (ms >> 8),
		(uint8_t) ms, 0xcd, 0xea, 0x60 };
	for (int i = 0; i < n; i++) {
		nng_msg *m;
		ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
		nng_msg_append(m, frame, sizeof(frame));
		nng_msg_header_append_u32(m, 0x80000000u | ++*next);
		ck_assert_int_eq(nng_sendmsg(bad, m, 0), 0);
	}
}

/*
 * Calls that waited in the backlog are refused as they start once their
 * connection leaves 32 MiB of replies unread: 1,500 slow calls of 60,000
 * bytes, 768 running and the rest waiting, read by nobody (found by
 * review: those that waited were answered in full, 85.8 MiB).
 */
START_TEST(unread_replies_bound_the_backlog)
{
	server sv;
	server_start_timing_out(&sv, "60000"); /* (as above) */
	nng_socket bad;
	ck_assert_int_eq(nng_req0_open_raw(&bad), 0);
	ck_assert_int_eq(nng_dial(bad, sv.url, NULL, 0), 0);
	ck_assert_int_eq(nng_socket_set_ms(bad, NNG_OPT_SENDTIMEO, 2000), 0);
	uint32_t next = 0;
	send_nap_big(bad, 1500, &next, 400);
	usleep(2500 * 1000); /* (they run: 768 at once, the rest after) */
	int returns, busy;
	read_replies_of(bad, 1500, &returns, &busy);
	ck_assert_msg(busy > 10, "%d replies of 60,000 bytes, %d refusals",
	    returns, busy);
	nng_close(bad);
	server_stop(&sv);
}
END_TEST

/* A stalled peer's replies time out (300 ms, see remote_server.c) and
 * the door's slots go back to serving the others. */
START_TEST(stalled_reader)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	int        sent;
	nng_socket bad = stalled_peer(&sv, 3000, 32768, &sent);
	ck_assert_int_gt(sent, 100);
	syn_synchronizer r  = connect_to(&sv);
	double           t0 = th_now_ms();
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(remote_int(r, "square", i), i * i);
	}
	ck_assert_msg(th_now_ms() - t0 < 8000, "the reader stalled the door");
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	nng_close(bad);
	server_stop(&sv);
}
END_TEST

typedef struct reader {
	nng_socket sock;
	int        want, got;
} reader;

static void *
read_replies(void *arg)
{
	reader  *x = arg;
	nng_msg *m;
	while (x->got < x->want && nng_recvmsg(x->sock, &m, 0) == 0) {
		nng_msg_free(m);
		x->got++;
	}
	return NULL;
}

/* A raw peer pipelines n calls to sv while a thread reads the replies:
 * the milliseconds until the last one came. */
static double
pipelined_ms(const server *sv, int n)
{
	reader x = { .want = n };
	ck_assert_int_eq(nng_req0_open_raw(&x.sock), 0);
	ck_assert_int_eq(nng_dial(x.sock, sv->url, NULL, 0), 0);
	static const uint8_t call[] = { 0xc1, 1, 1, 0x00, 0xc0, 0xa4, 'e', 'c',
		'h', 'o', 0x91, 0xa1, 'x' };
	pthread_t            th;
	double               t0 = th_now_ms();
	pthread_create(&th, NULL, read_replies, &x);
	for (uint32_t i = 0; i < (uint32_t) n; i++) {
		nng_msg *m;
		ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
		nng_msg_append(m, call, sizeof(call));
		nng_msg_header_append_u32(m, 0x80000000u | (i + 1));
		ck_assert_int_eq(nng_sendmsg(x.sock, m, 0), 0);
	}
	pthread_join(th, NULL);
	double ms = th_now_ms() - t0;
	ck_assert_int_eq(x.got, n);
	nng_close(x.sock);
	return ms;
}

/*
 * While a stalled peer's replies wait (for 8 s here), a peer that
 * pipelines 10,000 calls gets its replies at full speed: the door's
 * slots are not held up by the stalled ones (about 0.6 s; 7.7 s when
 * every reply that queued up waited behind the stalled peer's).
 */
START_TEST(stalled_reader_holds_no_one)
{
	server sv;
	server_start_timing_out(&sv, "8000");
	int        sent;
	nng_socket bad = stalled_peer(&sv, 300, 32768, &sent);
	ck_assert_int_gt(sent, 100);
	usleep(300 * 1000); /* its replies queue up */
	double ms = pipelined_ms(&sv, 10000);
	ck_assert_msg(ms < 5000, "10,000 replies took %.0f ms", ms);
	nng_close(bad);
	server_stop(&sv);
}
END_TEST

/*
 * A peer that sends thousands of calls and reads no reply would hold
 * every slot of the door until its replies time out (8 s here): once
 * the door is full, a pipe none of whose waiting replies ended for a
 * quarter of that is cut off, and a peer that pipelines 10,000 calls
 * meanwhile is served (7.7 s before the cut; about 2.5 s with it).
 */
START_TEST(stalled_peer_holding_the_door_is_cut)
{
	server sv;
	server_start_timing_out(&sv, "8000");
	int        sent;
	nng_socket bad = stalled_peer(&sv, 4000, 8192, &sent);
	ck_assert_int_gt(sent, 3100); /* (the door takes 4,096 at most) */
	usleep(300 * 1000);
	double ms = pipelined_ms(&sv, 10000);
	ck_assert_msg(ms < 6000, "10,000 replies took %.0f ms", ms);
	nng_close(bad);
	server_stop(&sv);
}
END_TEST

typedef struct sender {
	nng_socket sock;
	int        n, sent;
} sender;

/* Sends echo("xxx...") calls of 8 KiB, n of them, waiting as needed. */
static void *
send_calls(void *arg)
{
	sender *x = arg;
	enum { N = 8192 };
	static const uint8_t head[] = { 0xc1, 1, 1, 0x00, 0xc0, 0xa4, 'e', 'c',
		'h', 'o', 0x91, 0xda, N >> 8, N & 0xff };
	static uint8_t       frame[sizeof(head) + N];
	memcpy(frame, head, sizeof(head));
	memset(frame + sizeof(head), 'x', N);
	for (uint32_t i = 0; i < (uint32_t) x->n; i++) {
		nng_msg *m;
		if (nng_msg_alloc(&m, 0) != 0) {
			break;
		}
		nng_msg_append(m, frame, sizeof(frame));
		nng_msg_header_append_u32(m, 0x80000000u | (i + 1));
		if (nng_sendmsg(x->sock, m, 0) != 0) {
			nng_msg_free(m);
			break;
		}
		x->sent++;
	}
	return NULL;
}

/*
 * A peer that keeps the door full for seconds but reads its replies,
 * slowly, is not cut: all of 6,000 replies come, though with the door's
 * 3,072 slots ahead of it each waits about 2 s, longer than a quarter
 * of the reply timeout (1 s here).
 */
START_TEST(slow_reader_filling_the_door_is_not_cut)
{
	server sv;
	server_start_timing_out(&sv, "4000");
	sender x = { .n = 6000 };
	ck_assert_int_eq(nng_req0_open_raw(&x.sock), 0);
	ck_assert_int_eq(nng_dial(x.sock, sv.url, NULL, 0), 0);
	/* (a cut loses the replies: then both sides give up) */
	ck_assert_int_eq(nng_socket_set_ms(x.sock, NNG_OPT_RECVTIMEO, 5000), 0);
	ck_assert_int_eq(nng_socket_set_ms(x.sock, NNG_OPT_SENDTIMEO, 5000), 0);
	pthread_t th;
	pthread_create(&th, NULL, send_calls, &x);
	double   t0  = th_now_ms();
	int      got = 0;
	nng_msg *m;
	while (got < x.n && nng_recvmsg(x.sock, &m, 0) == 0) {
		nng_msg_free(m);
		if (++got % 3 == 0) {
			usleep(2000); /* about 1,500 replies a second */
		}
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(x.sent, x.n);
	ck_assert_int_eq(got, x.n);
	ck_assert_msg(th_now_ms() - t0 > 3000,
	    "drained in %.0f ms: too fast to test the cut", th_now_ms() - t0);
	nng_close(x.sock);
	server_stop(&sv);
}
END_TEST

/* ---- callbacks: the server calls objects of its client ---------------- */

static atomic_int local_finis;

typedef struct local_counter {
	int64_t value;
} local_counter;

static int
local_add(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	local_counter *c = self;
	int64_t        n;
	int            rc = syn_unpack(t, args, nargs, "i", &n);
	c->value += rc == 0 ? n : 0;
	*ret = syn_int(c->value);
	return rc;
}

/* nap(ms): sleeps; a cancel is counted in local_naps_cancelled. */
static atomic_int local_naps_cancelled;
static atomic_int local_naps_now, local_naps_most; /* at once */

static int
local_nap(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) self;
	int64_t ms;
	int     rc  = syn_unpack(t, args, nargs, "i", &ms);
	int     now = atomic_fetch_add(&local_naps_now, 1) + 1;
	if (now > atomic_load(&local_naps_most)) {
		atomic_store(&local_naps_most, now); /* (one thread: no race) */
	}
	if (rc == 0 &&
	    (rc = syn_sleep(t, (syn_duration) ms)) == SYN_ECANCELED) {
		atomic_fetch_add(&local_naps_cancelled, 1);
	}
	atomic_fetch_sub(&local_naps_now, 1);
	*ret = syn_int(ms);
	return rc;
}

static void
local_fini(void *self)
{
	(void) self;
	atomic_fetch_add(&local_finis, 1);
}

static const syn_method_def local_methods[] = {
	{ "add", SYN_KIND_FUNCTION, local_add, 0 },
	{ "nap", SYN_KIND_FUNCTION, local_nap, 0 },
};

/* A synchronizer of this process with a class LocalCounter. */
static syn_synchronizer
local_sync(void)
{
	syn_synchronizer s  = th_new();
	syn_class_def    cd = { "LocalCounter", sizeof(local_counter), NULL,
		   local_fini, local_methods, 2, 0 };
	ck_assert_syn_ok(syn_register_class(s, &cd));
	return s;
}

static void
wait_finis(int want)
{
	/* (10 s at most: under ThreadSanitizer, beside other tests, 2 s
	 * were once too few) */
	for (int i = 0; i < 2000 && atomic_load(&local_finis) != want; i++) {
		usleep(5000);
	}
	ck_assert_int_eq(atomic_load(&local_finis), want);
}

static int64_t
call_int2(syn_synchronizer r, const char *fn, syn_value *args, size_t n)
{
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(r, fn, args, n, &res));
	int64_t v = res.value.as.i;
	syn_result_fini(&res);
	return v;
}

/*
 * A client of syn_connect() on the door's own inproc:// address is served
 * as a client from another process is: objects it makes work through its
 * proxies (the server renamed none of its handles: SYN_EINVAL), its
 * message limit cuts a long error's message (the code was lost to
 * SYN_EMSGSIZE), and only exported names exist for it.
 */
START_TEST(inproc_connect_is_a_connection)
{
	static const char *const exports[] = { "LocalCounter", "long_error",
		"square", NULL };
	syn_synchronizer         s         = local_sync();
	th_register(s, "long_error", long_error, NULL);
	char url[128], inproc[128];
	serve_tcp(s, exports, url);
	ck_assert_syn_ok(syn_synchronizer_url(s, inproc, sizeof(inproc)));
	syn_connect_config ccfg = { .max_message = 1024 };
	syn_synchronizer   r    = connect_ready(inproc, &ccfg, "square");
	syn_proxy         *p;
	ck_assert_syn_ok(syn_new(r, "LocalCounter", NULL, 0, &p));
	syn_value two = syn_int(2);
	ck_assert_int_eq(invoke_int(p, "add", &two, 1), 2);
	ck_assert_int_eq(invoke_int(p, "add", &two, 1), 4);
	syn_proxy_release(p);
	syn_value n = syn_int(3000);
	ck_assert_syn_rc(syn_call(r, "long_error", &n, 1, NULL), SYN_EUSER(4));
	ck_assert_uint_lt(strlen(syn_last_error()->message), 1024);
	/* a syn_serve that fails exports nothing */
	static const char *const more[] = { "sleep_ms", NULL };
	syn_serve_config         bad    = { .exports = more };
	ck_assert_int_ne(syn_serve(s, "tcp://[::1", &bad, url, 128), 0);
	ck_assert_syn_rc(syn_call(r, "sleep_ms", &two, 1, NULL), SYN_ENOENT);
	ck_assert_syn_ok(syn_call(s, "sleep_ms", &two, 1, NULL)); /* (here) */
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	/* The first request right after the connect is served as a
	 * connection's too (found by review: the door may hand it to the
	 * loop before the HELLO, which then took it for a local caller's,
	 * about once in 200 connections under load; the client now waits
	 * for the HELLO's answer over inproc://). */
	for (int i = 0; i < 100; i++) {
		ck_assert_syn_ok(syn_connect(inproc, NULL, &r));
		ck_assert_syn_ok(syn_new(r, "LocalCounter", NULL, 0, &p));
		syn_proxy_release(p);
		ck_assert_syn_ok(syn_synchronizer_destroy(r));
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Makes two objects on each of n connections to url, and one on the
 * last, asserting each succeeded but that one, whose code is returned. */
static int
two_each(const char *url, syn_synchronizer *r, syn_proxy **p, int n)
{
	int rc = 0;
	for (int i = 0; i < 2 * n - 1; i++) {
		if (i % 2 == 0) {
			ck_assert_syn_ok(syn_connect(url, NULL, &r[i / 2]));
		}
		rc = syn_new(r[i / 2], "LocalCounter", NULL, 0, &p[i]);
		ck_assert_msg(rc == 0 || i == 2 * n - 2, "object %d: %s", i,
		    syn_errname(rc));
	}
	return rc;
}

/*
 * The connections from one host hold at most 4 times
 * max_objects_per_connection, and all connections 16 times: with 2,
 * four connections from 127.0.0.1 hold 8 and a fifth is refused; peers
 * of this machine over inproc:// are not counted by host, and fill the
 * rest up to 32. (A host holding 65,536 objects per connection, times
 * 256 connections, was found by the hostile-client review.)
 */
START_TEST(host_objects_bounded)
{
	static const char *const exports[] = { "LocalCounter", NULL };
	syn_synchronizer         s         = local_sync();
	char                     url[128], inproc[128];
	syn_serve_config         cfg = { .exports   = exports,
		        .max_objects_per_connection = 2 };
	ck_assert_syn_ok(syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, 128));
	ck_assert_syn_ok(syn_synchronizer_url(s, inproc, sizeof(inproc)));
	enum { TCP = 5, LOCAL = 13 };
	syn_synchronizer r[TCP + LOCAL];
	syn_proxy       *p[2 * (TCP + LOCAL)];
	ck_assert_syn_rc(two_each(url, r, p, TCP), SYN_EBUSY);
	ck_assert_str_eq(syn_last_error()->message,
	    "the connections from this host hold 8 objects, their most: "
	    "release some first");
	ck_assert_syn_rc(
	    two_each(inproc, r + TCP, p + 2 * TCP, LOCAL), SYN_EBUSY);
	ck_assert_str_eq(syn_last_error()->message,
	    "other processes hold 32 objects of this synchronizer, its most");
	for (int i = 0; i < TCP + LOCAL; i++) { /* (all they hold goes) */
		ck_assert_syn_ok(syn_synchronizer_destroy(r[i]));
	}
	ck_assert_syn_ok(syn_connect(url, NULL, &r[0]));
	ck_assert_syn_ok(syn_new(r[0], "LocalCounter", NULL, 0, &p[0]));
	syn_proxy_release(p[0]);
	ck_assert_syn_ok(syn_synchronizer_destroy(r[0]));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* two_counters(): a list of two new LocalCounters. */
static int
two_counters(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args;
	(void) nargs;
	syn_value *items = syn_task_alloc(t, 2 * sizeof(*items));
	for (int i = 0; items != NULL && i < 2; i++) {
		void *o;
		int   rc = syn_object_new(t, "LocalCounter", NULL, 0, &o);
		if (rc != 0) {
			return rc;
		}
		items[i] = syn_object(o);
	}
	*ret = items != NULL ? syn_list(items, 2) : syn_nil();
	return items != NULL ? 0 : SYN_ENOMEM;
}

/* A reply refused halfway through its objects (the first fits the
 * connection's bound, the second does not) keeps no room for either:
 * once the client let go of what it held, it can hold the bound's worth
 * again (found by review: the room made for the first stayed, for the
 * connection's life). */
START_TEST(refused_reply_keeps_no_room)
{
	static const char *const exports[] = { "LocalCounter", "two_counters",
		NULL };
	syn_synchronizer         s         = local_sync();
	th_register(s, "two_counters", two_counters, NULL);
	char             url[128];
	syn_serve_config cfg = { .exports   = exports,
		.max_objects_per_connection = 2 };
	ck_assert_syn_ok(syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, 128));
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	syn_proxy *p, *q[2];
	ck_assert_syn_ok(syn_new(r, "LocalCounter", NULL, 0, &p));
	ck_assert_syn_rc(syn_call(r, "two_counters", NULL, 0, NULL), SYN_EBUSY);
	wait_finis(2); /* the two made for the refused reply */
	syn_proxy_release(p);
	int rc = SYN_EBUSY;
	for (int i = 0; i < 200 && rc == SYN_EBUSY; i++) {
		rc = syn_new(r, "LocalCounter", NULL, 0, &q[0]);
		if (rc == SYN_EBUSY) {
			usleep(10000); /* (the release is on its way) */
		}
	}
	ck_assert_syn_ok(rc);
	ck_assert_syn_ok(syn_new(r, "LocalCounter", NULL, 0, &q[1]));
	syn_proxy_release(q[0]);
	syn_proxy_release(q[1]);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A thrown error crosses to the served generator, with its message, and
 * what the generator makes of it comes back. */
START_TEST(throw_crosses)
{
	static const char *const exports[] = { "catcher", NULL };
	syn_synchronizer         s         = th_new();
	syn_func_def def = { "catcher", SYN_KIND_GENERATOR, th_catcher_gen,
		NULL };
	ck_assert_syn_ok(syn_register(s, &def));
	char url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	syn_iter  *it;
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_iter_open(r, "catcher", NULL, 0, NULL, &it));
	ck_assert_syn_ok(syn_iter_next(it, &res));
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_iter_throw(it, SYN_EUSER(1), "over tcp", &res));
	ck_assert_int_eq(res.value.type, SYN_TYPE_STR);
	ck_assert_str_eq(res.value.as.str, "over tcp");
	syn_result_fini(&res);
	ck_assert_syn_rc(
	    syn_iter_throw(it, SYN_EUSER(2), "far", &res), SYN_EUSER(3));
	ck_assert_str_eq(syn_last_error()->message, "caught far");
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Calls c's square until it answers (its refused connection closed and
 * dialed again), within 10 s: the other codes are a refusal's. */
static void
gets_in(syn_synchronizer c)
{
	syn_value one = syn_int(1);
	int       rc  = SYN_EBUSY;
	for (int i = 0; i < 200 && rc != 0; i++) {
		rc = syn_call_timeout(c, "square", &one, 1, 2000, NULL);
		ck_assert_msg(rc == 0 || rc == SYN_EBUSY ||
		        rc == SYN_ECONNRESET || rc == SYN_ETIMEDOUT,
		    "%s", syn_errname(rc));
		if (rc != 0) {
			usleep(50000);
		}
	}
	ck_assert_syn_ok(rc);
}

/* A connection past max_connections, or past max_connections_per_host
 * from one host, gets SYN_EBUSY with the reason for each request, then
 * closes; once a served one went, a refused client gets in (its dialer
 * dials again). inproc:// peers count only towards the total. */
START_TEST(connection_limits)
{
	static const char *const exports[] = { "square", NULL };
	syn_synchronizer         s         = local_sync();
	char                     url[128], inproc[128];
	syn_serve_config         cfg = { .exports = exports,
		        .max_connections          = 3,
		        .max_connections_per_host = 2 };
	ck_assert_syn_ok(syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, 128));
	ck_assert_syn_ok(syn_synchronizer_url(s, inproc, sizeof(inproc)));
	syn_synchronizer a = connect_ready(url, NULL, "square");
	syn_synchronizer b = connect_ready(url, NULL, "square");
	syn_synchronizer c, e;
	ck_assert_syn_ok(syn_connect(url, NULL, &c));
	syn_value one = syn_int(1);
	ck_assert_syn_rc(
	    syn_call_timeout(c, "square", &one, 1, 5000, NULL), SYN_EBUSY);
	ck_assert_str_eq(syn_last_error()->message,
	    "the server has its 2 connections from this host");
	syn_synchronizer d = connect_ready(inproc, NULL, "square");
	ck_assert_syn_ok(syn_connect(inproc, NULL, &e));
	ck_assert_syn_rc(
	    syn_call_timeout(e, "square", &one, 1, 5000, NULL), SYN_EBUSY);
	ck_assert_str_eq(
	    syn_last_error()->message, "the server has its 3 connections");
	ck_assert_syn_ok(syn_synchronizer_destroy(e));
	ck_assert_syn_ok(syn_synchronizer_destroy(a));
	gets_in(c);
	ck_assert_int_eq(remote_int(b, "square", 3), 9);
	ck_assert_int_eq(remote_int(d, "square", 4), 16);
	ck_assert_syn_ok(syn_synchronizer_destroy(b));
	ck_assert_syn_ok(syn_synchronizer_destroy(c));
	ck_assert_syn_ok(syn_synchronizer_destroy(d));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A connection holds at most max_objects_per_connection objects: one
 * more is refused (SYN_EBUSY, and the object, handed to nobody, is
 * dropped); another connection has its own; a release makes room. */
START_TEST(objects_per_connection)
{
	static const char *const exports[] = { "LocalCounter", NULL };
	syn_synchronizer         s         = local_sync();
	char                     url[128];
	syn_serve_config         cfg = { .exports   = exports,
		        .max_objects_per_connection = 1 };
	/* a syn_serve that fails asks nothing */
	ck_assert_int_ne(syn_serve(s, "tcp://[::1", &cfg, url, 128), 0);
	cfg.max_objects_per_connection = 3;
	ck_assert_syn_ok(syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, 128));
	syn_synchronizer r, r2;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	ck_assert_syn_ok(syn_connect(url, NULL, &r2));
	syn_proxy *p[4], *q[3];
	for (int i = 0; i < 3; i++) {
		ck_assert_syn_ok(syn_new(r, "LocalCounter", NULL, 0, &p[i]));
	}
	ck_assert_syn_rc(syn_new(r, "LocalCounter", NULL, 0, &p[3]), SYN_EBUSY);
	ck_assert_str_eq(syn_last_error()->message,
	    "this connection holds 3 objects, its most: release some first");
	wait_finis(1);
	for (int i = 0; i < 3; i++) {
		ck_assert_syn_ok(syn_new(r2, "LocalCounter", NULL, 0, &q[i]));
	}
	syn_value two = syn_int(2);
	ck_assert_int_eq(invoke_int(p[2], "add", &two, 1), 2);
	syn_proxy_release(p[0]);
	int rc = SYN_EBUSY, refused = 0;
	for (int i = 0; i < 200 && rc == SYN_EBUSY; i++) {
		rc = syn_new(r, "LocalCounter", NULL, 0, &p[0]);
		if (rc == SYN_EBUSY) {
			refused++;     /* (its object was made, and dropped) */
			usleep(10000); /* (the release is on its way) */
		}
	}
	ck_assert_syn_ok(rc);
	for (int i = 0; i < 3; i++) {
		syn_proxy_release(p[i]);
		syn_proxy_release(q[i]);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(r2));
	wait_finis(8 + refused);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A proxy of this process's object passed to the server: the server
 * calls it back (its method runs here, on its synchronizer), keeps it
 * alive while it holds it, and lets go when it releases it or when the
 * connection goes. */
START_TEST(callbacks)
{
	atomic_store(&local_finis, 0);
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r    = connect_to(&sv);
	syn_synchronizer here = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value args[2] = { syn_proxy_value(p), syn_int(5) };
	ck_assert_int_eq(call_int2(r, "call_back", args, 2), 5);
	ck_assert_int_eq(call_int2(r, "call_back", args, 2), 10);

	/* kept by the server: it stays alive without our proxy */
	ck_assert_syn_ok(syn_call(r, "keep", args, 1, NULL));
	syn_proxy_release(p);
	syn_value one = syn_int(1);
	ck_assert_int_eq(call_int2(r, "call_kept", &one, 1), 11);
	syn_future *fs[10];
	call_futures(r, "call_kept", &one, fs, 10);
	ck_assert_syn_ok(syn_future_wait_all(fs, 10, 10000));
	for (int i = 0; i < 10; i++) {
		ck_assert_syn_ok(syn_future_poll(fs[i]));
		syn_future_free(fs[i]);
	}
	ck_assert_int_eq(call_int2(r, "call_kept", &one, 1), 22);
	ck_assert_int_eq(atomic_load(&local_finis), 0);
	/* the server lets go: the object goes here */
	ck_assert_syn_ok(syn_call(r, "drop_kept", NULL, 0, NULL));
	wait_finis(1);

	/* kept, then the connection goes: given back here, and the server's
	 * proxy fails cleanly */
	syn_synchronizer r2 = connect_to(&sv);
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	args[0] = syn_proxy_value(p);
	ck_assert_syn_ok(syn_call(r2, "keep", args, 1, NULL));
	syn_proxy_release(p);
	ck_assert_int_eq(call_int2(r, "call_kept", &one, 1), 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(r2));
	wait_finis(2);
	int rc = 0;
	for (int i = 0; i < 400; i++) { /* until the server saw it go */
		rc = syn_call(r, "call_kept", &one, 1, NULL);
		if (rc != 0) {
			break;
		}
		usleep(5000);
	}
	ck_assert_msg(
	    rc == SYN_ECLOSED || rc == SYN_ECONNRESET, "%s", syn_errname(rc));
	ck_assert_syn_ok(syn_call(r, "drop_kept", NULL, 0, NULL));
	ck_assert_int_eq(remote_int(r, "square", 3), 9);

	/* a blocking call back from the server's own thread: only that
	 * thread could carry it out, so it fails at once (it hung) */
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	args[0] = syn_proxy_value(p);
	ck_assert_int_eq(
	    call_int2(r, "call_back_blocking", args, 2), SYN_EDEADLK);
	ck_assert_int_eq(call_int2(r, "call_back", args, 2), 5);
	syn_proxy_release(p);
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* What a call lent the server comes back when the server refuses the
 * call (it gives the reference back through the callback channel), and
 * when the call never left (no connection): the object goes once this
 * process lets go of it, without waiting for the connection's end. */
START_TEST(lent_refs_come_back)
{
	atomic_store(&local_finis, 0);
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r    = connect_to(&sv);
	syn_synchronizer here = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value arg = syn_proxy_value(p);
	ck_assert_syn_rc(syn_call(r, "not_served", &arg, 1, NULL), SYN_ENOENT);
	syn_proxy_release(p);
	wait_finis(1);

	kill(sv.pid, SIGKILL);
	waitpid(sv.pid, NULL, 0);
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	arg    = syn_proxy_value(p);
	int rc = 0;
	for (int i = 0; i < 400 && rc != SYN_ECONNRESET; i++) {
		rc = syn_call(r, "keep", &arg, 1, NULL);
		usleep(rc == SYN_ECONNRESET ? 0 : 5000);
	}
	ck_assert_syn_rc(rc, SYN_ECONNRESET);
	syn_proxy_release(p);
	wait_finis(2);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	close(sv.in);
}
END_TEST

/* A call refused before its values were decoded (nested deeper than the
 * server takes) gives back the object it lent, as a refused call does. */
START_TEST(too_deep_gives_back)
{
	atomic_store(&local_finis, 0);
	static const char *const exports[] = { "echo", NULL };
	syn_config               shallow   = { .max_depth = 4 };
	syn_synchronizer         s         = th_new_cfg(&shallow);
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	syn_synchronizer here = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value deep[7];
	deep[0] = syn_int(1);
	for (int i = 1; i < 7; i++) {
		deep[i] = syn_list(&deep[i - 1], 1);
	}
	syn_value args[2] = { syn_proxy_value(p), deep[6] };
	ck_assert_syn_rc(syn_call(r, "echo", args, 2, NULL), SYN_EPROTO);
	syn_proxy_release(p);
	wait_finis(1); /* while the connection lives */
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* An iterator that lent an object in its OPEN and is closed before its
 * first request (the OPEN never left) gives the object back at once. */
START_TEST(unsent_open_gives_back)
{
	atomic_store(&local_finis, 0);
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "sleep_ms", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r    = connect_ready(url, NULL, "sleep_ms");
	syn_synchronizer here = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value args[2] = { syn_int(3), syn_proxy_value(p) };
	syn_iter *it;
	ck_assert_syn_ok(syn_iter_open(r, "count", args, 2, NULL, &it));
	ck_assert_syn_ok(syn_iter_close(it));
	syn_proxy_release(p);
	wait_finis(1); /* while the connection lives */
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * A server that stops answering (stopped, its connection still up): a
 * call cancelled by its timeout ends within the connection's timeout
 * after its own, not when the server comes back; once it does, the late
 * answer is dropped and the connection serves on.
 */
START_TEST(stalled_server_cancel_bounded)
{
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_connect_config ccfg = { .timeout = 500 };
	syn_synchronizer   r;
	ck_assert_syn_ok(syn_connect(sv.url, &ccfg, &r));
	ck_assert_int_eq(remote_int(r, "square", 3), 9);
	ck_assert_int_eq(kill(sv.pid, SIGSTOP), 0);
	syn_value ms = syn_int(100);
	double    t0 = th_now_ms();
	ck_assert_syn_rc(
	    syn_call_timeout(r, "sleep_ms", &ms, 1, 200, NULL), SYN_ETIMEDOUT);
	double      took = th_now_ms() - t0;
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(r, "sleep_ms", &ms, 1, &f));
	usleep(50000);
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait_timeout(f, 3000), SYN_ECANCELED);
	syn_future_free(f);
	ck_assert_int_eq(kill(sv.pid, SIGCONT), 0);
	ck_assert_msg(took >= 650 && took < 3000, "took %.0f ms", took);
	ck_assert_int_eq(remote_int(r, "square", 4), 16);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	server_stop(&sv);
}
END_TEST

/* Late: a class whose objects count their finalizations. */
static atomic_int late_finis;

static void
late_fini(void *self)
{
	(void) self;
	atomic_fetch_add(&late_finis, 1);
}

/* late_object(): ignores its cancel, blocks its thread a while, then
 * returns a new Late all the same. */
static int
late_object(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs;
	syn_sleep(t, 5000); /* cancelled: returns at once */
	usleep(600000);
	void *o;
	int   rc = syn_object_new(t, "Late", NULL, 0, &o);
	if (rc == 0) {
		*ret = syn_object(o);
	}
	return rc;
}

/* An answer that comes after its call ended here (its cancel was not
 * answered in time) gives back the objects it carries: the server lets
 * them go while the connection lives. */
START_TEST(late_answer_gives_back)
{
	atomic_store(&late_finis, 0);
	syn_synchronizer s  = th_new();
	syn_class_def    cd = { .name = "Late", .size = 8, .fini = late_fini };
	ck_assert_syn_ok(syn_register_class(s, &cd));
	th_register(s, "late_object", late_object, NULL);
	static const char *const exports[] = { "late_object", "Late", "square",
		NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_connect_config ccfg = { .timeout = 300 };
	syn_synchronizer   r    = connect_ready(url, &ccfg, "square");
	ck_assert_syn_rc(syn_call_timeout(r, "late_object", NULL, 0, 100, NULL),
	    SYN_ETIMEDOUT);
	for (int i = 0; i < 400 && atomic_load(&late_finis) == 0; i++) {
		usleep(5000);
	}
	ck_assert_int_eq(atomic_load(&late_finis), 1);
	ck_assert_int_eq(remote_int(r, "square", 6), 36);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* app_square(x): x * x. */
static int
app_square(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x;
	int     rc = syn_unpack(t, args, nargs, "i", &x);
	*ret       = syn_int(x * x);
	return rc;
}

/* wipe(): a static method that must stay out of reach. */
static int
wipe(syn_task *t, void *self, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) t, (void) self, (void) args, (void) nargs;
	*ret = syn_str("wiped");
	return 0;
}

/*
 * A name is served as it resolves: a function by its whole name, a
 * static method by its class (up to the last dot). With "app" exported,
 * the unexported function "app.admin" and the static method of the
 * unexported class "app.Internal" stay out of reach (they ran before).
 */
START_TEST(exports_by_resolved_name)
{
	syn_synchronizer s = th_new();
	th_register(s, "app", app_square, NULL);
	th_register(s, "app.admin", app_square, NULL);
	static const syn_method_def m[] = { { "wipe", SYN_KIND_FUNCTION, wipe,
	    SYN_METHOD_STATIC } };
	syn_class_def               internal = {
		              .name = "app.Internal", .size = 8, .methods = m, .nmethods = 1
	};
	syn_class_def pub = {
		.name = "Pub", .size = 8, .methods = m, .nmethods = 1
	};
	ck_assert_syn_ok(syn_register_class(s, &internal));
	ck_assert_syn_ok(syn_register_class(s, &pub));
	static const char *const exports[] = { "app", "Pub", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	ck_assert_int_eq(remote_int(r, "app", 3), 9);
	syn_value three = syn_int(3);
	ck_assert_syn_rc(syn_call(r, "app.admin", &three, 1, NULL), SYN_ENOENT);
	ck_assert_syn_rc(
	    syn_call(r, "app.Internal.wipe", NULL, 0, NULL), SYN_ENOENT);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(r, "Pub.wipe", NULL, 0, &res));
	ck_assert_str_eq(res.value.as.str, "wiped");
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A server of the count generator (th_count_gen) on tcp; its address in
 * url (128 bytes). */
static syn_synchronizer
count_server(char *url)
{
	syn_synchronizer s = th_new();
	syn_func_def d = { "count", SYN_KIND_GENERATOR, th_count_gen, NULL };
	ck_assert_syn_ok(syn_register(s, &d));
	static const char *const exports[] = { "count", NULL };
	serve_tcp(s, exports, url);
	return s;
}

/* Opens n streams of count on r, each asked for its first item; the
 * code of the last. */
static int
open_streams(syn_synchronizer r, syn_iter **its, int n)
{
	syn_value  big = syn_int(1000);
	syn_result res = SYN_RESULT_INIT;
	int        rc  = 0;
	for (int i = 0; i < n; i++) {
		ck_assert_syn_ok(
		    syn_iter_open(r, "count", &big, 1, NULL, &its[i]));
		rc = syn_iter_next(its[i], &res);
		syn_result_fini(&res);
		ck_assert_msg(
		    rc == 0 || i == n - 1, "stream %d: %s", i, syn_errname(rc));
	}
	return rc;
}

/*
 * The connections from one host keep at most SNI_HOST_STREAMS_MAX
 * generators open together: the fifth connection from 127.0.0.1, after
 * four that opened SNI_PEER_STREAMS_MAX each, is refused its first, and
 * a peer of this machine over inproc:// is not counted by host. (1,024
 * connections of 1,024 streams each held 1 GB per host, found by the
 * hostile-client review.)
 */
START_TEST(host_streams_bounded)
{
	enum { PER = SNI_PEER_STREAMS_MAX, CONNS = SNI_HOST_STREAMS_MAX / PER };
	char             url[128], inproc[128];
	syn_synchronizer s = count_server(url);
	ck_assert_syn_ok(syn_synchronizer_url(s, inproc, sizeof(inproc)));
	syn_synchronizer r[CONNS + 1], local;
	syn_iter       **its = calloc((CONNS + 1) * PER, sizeof(*its));
	for (int c = 0; c < CONNS; c++) {
		ck_assert_syn_ok(syn_connect(url, NULL, &r[c]));
		ck_assert_syn_ok(open_streams(r[c], its + c * PER, PER));
	}
	ck_assert_syn_ok(syn_connect(url, NULL, &r[CONNS]));
	ck_assert_syn_rc(
	    open_streams(r[CONNS], its + CONNS * PER, 1), SYN_EBUSY);
	ck_assert_str_eq(syn_last_error()->message,
	    "4096 generators of connections from this host are open already");
	ck_assert_syn_ok(syn_iter_close(its[CONNS * PER]));
	ck_assert_syn_ok(syn_connect(inproc, NULL, &local));
	syn_iter *other;
	ck_assert_syn_ok(open_streams(local, &other, 1));
	ck_assert_syn_ok(syn_iter_close(other));
	ck_assert_syn_ok(syn_iter_close(its[0])); /* room for one */
	ck_assert_syn_ok(open_streams(r[CONNS], its, 1));
	for (int i = 0; i < CONNS * PER; i++) {
		ck_assert_syn_ok(syn_iter_close(its[i]));
	}
	free(its);
	for (int c = 0; c <= CONNS; c++) {
		ck_assert_syn_ok(syn_synchronizer_destroy(r[c]));
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(local));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * One connection keeps at most SNI_PEER_STREAMS_MAX generators open (each
 * holds a suspended task there): the next OPEN is refused with SYN_EBUSY,
 * and once one closes another opens. Other connections are not held up.
 */
START_TEST(open_streams_bounded)
{
	enum { MAX = SNI_PEER_STREAMS_MAX };
	char             url[128];
	syn_synchronizer s = count_server(url);
	syn_synchronizer r, other;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	ck_assert_syn_ok(syn_connect(url, NULL, &other));
	syn_iter **its = calloc(MAX + 1, sizeof(*its));
	syn_value  n   = syn_int(1000);
	syn_result res = SYN_RESULT_INIT;
	for (int i = 0; i <= MAX; i++) {
		ck_assert_syn_ok(
		    syn_iter_open(r, "count", &n, 1, NULL, &its[i]));
		int rc = syn_iter_next(its[i], &res);
		syn_result_fini(&res);
		ck_assert_msg(i < MAX ? rc == 0 : rc == SYN_EBUSY,
		    "stream %d: %s", i, syn_errname(rc));
	}
	/* (its reason reaches the client: it read "the call was cancelled"
	 * before) */
	ck_assert_str_eq(syn_last_error()->message,
	    "1024 generators of this connection are open already");
	syn_iter *more;
	ck_assert_syn_ok(syn_iter_open(other, "count", &n, 1, NULL, &more));
	ck_assert_syn_ok(syn_iter_next(more, &res));
	syn_result_fini(&res);
	ck_assert_syn_ok(syn_iter_close(more));
	ck_assert_syn_ok(syn_iter_close(its[0]));
	ck_assert_syn_ok(syn_iter_close(its[MAX]));
	ck_assert_syn_ok(syn_iter_open(r, "count", &n, 1, NULL, &its[0]));
	ck_assert_syn_ok(syn_iter_next(its[0], &res));
	syn_result_fini(&res);
	for (int i = 0; i < MAX; i++) {
		ck_assert_syn_ok(syn_iter_close(its[i]));
	}
	free(its);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(other));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * An iterator closed while its request still waits to be sent (a NEXT
 * that lends a proxy goes after the POLL the lending queues): the cancel
 * ends the request at once, on the closing thread, and close returns
 * (it took the iterator's lock twice and spun for ever).
 */
START_TEST(close_with_request_unsent)
{
	char             url[128];
	syn_synchronizer s = count_server(url);
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	syn_value  n   = syn_int(100);
	syn_result res = SYN_RESULT_INIT;
	syn_iter  *it;
	ck_assert_syn_ok(syn_iter_open(r, "count", &n, 1, NULL, &it));
	ck_assert_syn_ok(syn_iter_next(it, &res));
	syn_result_fini(&res);
	syn_synchronizer here = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value   v = syn_proxy_value(p);
	syn_future *f;
	ck_assert_syn_ok(syn_iter_next_future(it, &v, &f));
	syn_proxy_release(p);
	double t0 = th_now_ms();
	ck_assert_syn_ok(syn_iter_close(it));
	ck_assert_msg(th_now_ms() - t0 < 5000, "close took long");
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Calls that lent an object and were cancelled while their batch waited
 * to start give the object back (the server takes the references and
 * returns them, as for a call refused): it goes once this process lets
 * go, without waiting for the connection's end. */
START_TEST(cancelled_in_batch_gives_back)
{
	atomic_store(&local_finis, 0);
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "sleep_ms", "echo", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r    = connect_ready(url, NULL, "sleep_ms");
	syn_synchronizer here = local_sync();
	enum { SLOW = 2500, LENDING = 64 };
	syn_future **slow = calloc(SLOW, sizeof(*slow));
	syn_future  *lending[LENDING];
	syn_value    ms = syn_int(60000);
	call_futures(r, "sleep_ms", &ms, slow, SLOW);
	syn_stats  st;
	uint64_t   was = settled_in_flight(s); /* the rest wait */
	syn_proxy *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value arg = syn_proxy_value(p);
	call_futures(r, "echo", &arg, lending, LENDING);
	syn_proxy_release(p);
	usleep(200000); /* they reach the server, and wait there */
	ck_assert_syn_ok(syn_synchronizer_stats(s, &st));
	ck_assert_uint_eq(st.calls_in_flight, was);
	for (int i = 0; i < LENDING; i++) {
		ck_assert_syn_ok(syn_future_cancel(lending[i]));
	}
	for (int i = 0; i < SLOW; i++) { /* places free: the batches start */
		ck_assert_syn_ok(syn_future_cancel(slow[i]));
	}
	for (int i = 0; i < LENDING; i++) {
		ck_assert_syn_rc(
		    syn_future_wait_timeout(lending[i], 10000), SYN_ECANCELED);
		syn_future_free(lending[i]);
	}
	for (int i = 0; i < SLOW; i++) {
		ck_assert_syn_rc(
		    syn_future_wait_timeout(slow[i], 10000), SYN_ECANCELED);
		syn_future_free(slow[i]);
	}
	free(slow);
	wait_finis(1);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
}
END_TEST

/* Waits (10 s at most) until s has want calls in flight (at_least: or
 * more); its count then. */
static uint64_t
in_flight_reaches(syn_synchronizer s, uint64_t want, bool at_least)
{
	syn_stats st = { 0 };
	for (int i = 0; i < 1000; i++) {
		ck_assert_syn_ok(syn_synchronizer_stats(s, &st));
		if (st.calls_in_flight == want ||
		    (at_least && st.calls_in_flight > want)) {
			break;
		}
		usleep(10000);
	}
	return st.calls_in_flight;
}

/* Waits (10 s at most) until s has want calls in flight. */
static void
wait_in_flight(syn_synchronizer s, uint64_t want)
{
	ck_assert_uint_eq(in_flight_reaches(s, want, false), want);
}

/* Waits (10 s at most) until s has at least want calls in flight. */
static void
wait_in_flight_at_least(syn_synchronizer s, uint64_t want)
{
	ck_assert_uint_ge(in_flight_reaches(s, want, true), want);
}

/*
 * Calls made one at a time each go alone, and each holds one of the
 * server's 1,024 places while it runs. Three clients make 900 slow calls
 * each that way: the calls past the 1,024th wait at the server without a
 * place, those past 1,024 more are refused (SYN_EBUSY), and the server
 * keeps reading, so the CANCELs that follow reach every call, running or
 * waiting. (Before, a door with every place busy read nothing more, and
 * the CANCELs waited behind the calls it could not read, for the calls'
 * minute: 1,024 calls still ran after 10 s; and when the waiting ones
 * were 1,024 it stopped reading again.)
 */
START_TEST(calls_alone_leave_room)
{
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "sleep_ms", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	enum { CLIENTS = 3, EACH = 900, N = CLIENTS * EACH };
	syn_synchronizer r[CLIENTS];
	for (int k = 0; k < CLIENTS; k++) {
		r[k] = connect_ready(url, NULL, "sleep_ms");
	}
	syn_future **fs = calloc(N, sizeof(*fs));
	syn_value    ms = syn_int(60000);
	for (int i = 0; i < N; i++) {
		ck_assert_syn_ok(syn_call_future(
		    r[i % CLIENTS], "sleep_ms", &ms, 1, &fs[i]));
		usleep(300); /* it leaves before the next one comes */
	}
	wait_in_flight_at_least(s, 1024); /* the others wait, or went */
	for (int i = 0; i < N; i++) {
		ck_assert_syn_ok(syn_future_cancel(fs[i]));
	}
	for (int i = 0; i < N; i++) {
		int rc = syn_future_wait_timeout(fs[i], 10000);
		ck_assert_msg(rc == SYN_ECANCELED || rc == SYN_EBUSY,
		    "call %d: %s", i, syn_errname(rc));
		syn_future_free(fs[i]);
	}
	free(fs);
	wait_in_flight(s, 0); /* the CANCELs reached every call there */
	for (int k = 0; k < CLIENTS; k++) {
		ck_assert_syn_ok(syn_synchronizer_destroy(r[k]));
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * 600 slow calls made one at a time all run at the server, and a quick
 * call after them is answered at once: a client holds no call back while
 * the server has places. (A client that sent at most 256 calls alone and
 * the next 256 as batches of one held every later call back until one of
 * them ended: a minute here.)
 */
START_TEST(quick_call_after_slow_ones)
{
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "sleep_ms", "square_now", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r = connect_ready(url, NULL, "sleep_ms");
	enum { N = 600 };
	syn_future **fs = calloc(N, sizeof(*fs));
	syn_value    ms = syn_int(60000);
	for (int i = 0; i < N; i++) {
		ck_assert_syn_ok(
		    syn_call_future(r, "sleep_ms", &ms, 1, &fs[i]));
		usleep(300);
	}
	wait_in_flight(s, N);
	syn_future *quick;
	syn_value   x = syn_int(12);
	ck_assert_syn_ok(syn_call_future(r, "square_now", &x, 1, &quick));
	ck_assert_syn_ok(syn_future_wait_timeout(quick, 5000));
	syn_future_free(quick);
	for (int i = 0; i < N; i++) {
		ck_assert_syn_ok(syn_future_cancel(fs[i]));
		syn_future_free(fs[i]);
	}
	free(fs);
	wait_in_flight(s, 0);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * A CANCEL finds its call's task by the call's ids, not by walking every
 * task of the synchronizer: 700 calls from another process (within its
 * connection's share), started before 20,000 of the server's own calls
 * that sleep, are all cancelled there within 2 s (walking the tasks, one
 * walk per CANCEL, took 7.8 s for 1,000 here).
 */
START_TEST(cancels_find_their_calls_among_many)
{
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "sleep_ms", NULL };
	char                     url[128];
	serve_tcp(s, exports, url);
	syn_synchronizer r = connect_ready(url, NULL, "sleep_ms");
	enum { N = 700, LOCAL = 20000 };
	syn_future **fs    = calloc(N, sizeof(*fs));
	syn_future **local = calloc(LOCAL, sizeof(*local));
	syn_value    ms    = syn_int(600000);
	call_futures(r, "sleep_ms", &ms, fs, N);
	wait_in_flight(s, N);
	call_futures(s, "sleep_ms", &ms, local, LOCAL);
	wait_in_flight(s, N + LOCAL);
	double t0 = th_now_ms();
	for (int i = 0; i < N; i++) {
		ck_assert_syn_ok(syn_future_cancel(fs[i]));
	}
	for (int i = 0; i < N; i++) {
		ck_assert_syn_rc(
		    syn_future_wait_timeout(fs[i], 10000), SYN_ECANCELED);
		syn_future_free(fs[i]);
	}
	wait_in_flight(s, LOCAL); /* every one ended there */
	double took = th_now_ms() - t0;
	ck_assert_msg(took < 2000, "700 cancels took %.0f ms", took);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	for (int i = 0; i < LOCAL; i++) {
		syn_future_free(local[i]);
	}
	free(local);
	free(fs);
}
END_TEST

/* add_back(obj, x): obj.add(x), on the client's object, awaited. */
static int
add_back(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_proxy       *p;
	int64_t          x;
	syn_future      *f;
	const syn_value *v;
	int              rc = syn_unpack(t, args, nargs, "Pi", &p, &x);
	syn_value        a  = syn_int(x);
	if (rc != 0 || (rc = syn_invoke_future(p, "add", &a, 1, &f)) != 0) {
		return rc;
	}
	if ((rc = syn_await(t, f)) == 0 &&
	    (rc = syn_future_value(f, &v)) == 0) {
		*ret = *v;
	}
	syn_future_free(f);
	return rc;
}

/* Every place for a waiting POLL is taken (1,024 peers park one each,
 * with the connection limits raised: by default 1,024 connections are
 * served, one POLL each): the client's POLL is refused as busy, and it
 * asks again later, so the server's call back reaches it once a place
 * frees. */
START_TEST(poll_retries_when_busy)
{
	enum { PEERS = 1024 };
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "add_back", NULL };
	char                     url[128];
	th_register(s, "add_back", add_back, NULL);
	syn_serve_config cfg = { .exports = exports,
		.max_connections          = 2 * PEERS,
		.max_connections_per_host = 2 * PEERS };
	ck_assert_syn_ok(syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, 128));
	nng_socket *peers = calloc(PEERS, sizeof(*peers));
	nng_aio   **aios  = calloc(PEERS, sizeof(*aios));
	for (int i = 0; i < PEERS; i++) { /* each parks a POLL */
		static const uint8_t poll[] = { 0xc1, 1, 12, 0xce, 0x80, 0, 0,
			1 };
		nng_ctx              ctx;
		nng_msg             *m;
		ck_assert_int_eq(nng_req0_open(&peers[i]), 0);
		ck_assert_int_eq(nng_dial(peers[i], url, NULL, 0), 0);
		ck_assert_int_eq(nng_ctx_open(&ctx, peers[i]), 0);
		ck_assert_int_eq(nng_aio_alloc(&aios[i], NULL, NULL), 0);
		ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
		ck_assert_int_eq(nng_msg_append(m, poll, sizeof(poll)), 0);
		nng_aio_set_msg(aios[i], m);
		nng_ctx_send(ctx, aios[i]);
		nng_aio_wait(aios[i]);
		ck_assert_int_eq(nng_aio_result(aios[i]), 0);
		nng_ctx_recv(ctx, aios[i]); /* its answer never comes */
	}
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	syn_synchronizer here = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value   args[2] = { syn_proxy_value(p), syn_int(5) };
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(r, "add_back", args, 2, &f));
	ck_assert_syn_rc(syn_future_wait_timeout(f, 300), SYN_ETIMEDOUT);
	for (int i = 0; i < 10; i++) { /* places free */
		nng_aio_stop(aios[i]);
		nng_close(peers[i]);
	}
	ck_assert_syn_ok(syn_future_wait_timeout(f, 10000));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_int_eq(v->as.i, 5);
	syn_future_free(f);
	syn_proxy_release(p);
	/* (the raw peers go while the server lives: nng 1.5.2's close of a
	 * socket whose peer went away with requests in flight can hang) */
	for (int i = 10; i < PEERS; i++) {
		nng_aio_stop(aios[i]);
		nng_close(peers[i]);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	for (int i = 0; i < PEERS; i++) {
		nng_aio_free(aios[i]);
	}
	free(aios);
	free(peers);
}
END_TEST

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

/* The kind of the answer to the request bytes[0..len-1] on req: -1 when
 * none came in time. */
static int
request_kind(nng_socket req, const uint8_t *bytes, size_t len)
{
	nng_msg *m;
	ck_assert_int_eq(nng_msg_alloc(&m, 0), 0);
	ck_assert_int_eq(nng_msg_append(m, bytes, len), 0);
	ck_assert_int_eq(nng_sendmsg(req, m, 0), 0);
	if (nng_recvmsg(req, &m, 0) != 0) {
		return -1;
	}
	int kind =
	    nng_msg_len(m) >= 3 ? ((const uint8_t *) nng_msg_body(m))[2] : -1;
	nng_msg_free(m);
	return kind;
}

/* take(anything): nil. */
static int
take_nil(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t;
	(void) args;
	(void) nargs;
	*ret = syn_nil();
	return 0;
}

/* A peer that lends an object in each call and POLLs, but never answers
 * what the server calls back (here, the RELEASE of each object): once
 * 4,096 wait for their answer, the server sends that peer no more, so
 * what it keeps for it is bounded; a well-behaved peer goes on. */
START_TEST(unanswered_callbacks_bounded)
{
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "take", "echo", NULL };
	char                     url[128];
	th_register(s, "take", take_nil, NULL);
	serve_tcp(s, exports, url);
	nng_socket req;
	ck_assert_int_eq(nng_req0_open(&req), 0);
	nng_socket_set_ms(req, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(req, NNG_OPT_RECVTIMEO, 1000);
	ck_assert_int_eq(nng_dial(req, url, NULL, 0), 0);
	uint32_t next      = 0x80000001u;
	int      sent_back = 0, silent = 0;
	for (int i = 0; i < 4200 && silent == 0; i++) {
		/* take(an object of the peer's, marked as the peer's): the
		 * server's proxy of it is released when the call ends */
		uint8_t call[40] = { 0xc1, 1, 1, 0xce };
		put_be32(call + 4, next++);
		memcpy(call + 8,
		    "\xc0\xa4"
		    "take"
		    "\x91\xd8\x01",
		    9);
		call[17] = 0x80; /* owner: 1 << 63 | 1 */
		memset(call + 18, 0, 6);
		call[24] = 1;
		memset(call + 25, 0, 4);
		put_be32(call + 29, (uint32_t) i + 2); /* the object */
		int got = request_kind(req, call, 33);
		ck_assert_msg(
		    got == 2, "call %d answered with kind %d", i, got);
		uint8_t poll[8] = { 0xc1, 1, 12, 0xce };
		put_be32(poll + 4, next++);
		int kind = request_kind(req, poll, sizeof(poll));
		sent_back += kind == 13; /* CALLBACK */
		silent += kind == -1;    /* parked: nothing more to send */
	}
	ck_assert_int_eq(sent_back, 4096);
	ck_assert_int_eq(silent, 1);
	nng_close(req);
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	ck_assert_int_eq(remote_int(r, "echo", 7), 7);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* flood(obj, n, ms): n calls of obj.nap(ms) at once, all awaited: n. */
static int
flood(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_proxy *p;
	int64_t    n, ms;
	int        rc = syn_unpack(t, args, nargs, "Pii", &p, &n, &ms);
	if (rc != 0 || n < 1 || n > 4096) {
		return rc != 0 ? rc : SYN_EINVAL;
	}
	syn_future **fs = calloc((size_t) n, sizeof(*fs));
	syn_value    a  = syn_int(ms);
	int64_t      k  = 0;
	while (rc == 0 && k < n) {
		rc = syn_invoke_future(p, "nap", &a, 1, &fs[k]);
		k += rc == 0;
	}
	for (int64_t i = 0; i < k; i++) {
		int got = syn_await(t, fs[i]);
		rc      = rc != 0 ? rc : got;
		syn_future_free(fs[i]);
	}
	free(fs);
	*ret = syn_int(n);
	return rc;
}

/* A server that calls back more than 1,024 times at once: the client
 * runs at most 1,024 of them (it sends no POLL meanwhile), the others
 * wait at the server, and all are answered. */
START_TEST(callbacks_bounded_on_client)
{
	atomic_store(&local_naps_most, 0);
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "flood", NULL };
	char                     url[128];
	th_register(s, "flood", flood, NULL);
	serve_tcp(s, exports, url);
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	syn_synchronizer here = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value args[3] = { syn_proxy_value(p), syn_int(1100),
		syn_int(D_MS) };
	ck_assert_int_eq(call_int2(r, "flood", args, 3), 1100);
	ck_assert_int_le(atomic_load(&local_naps_most), 1024);
	ck_assert_int_ge(atomic_load(&local_naps_most), 2);
	syn_proxy_release(p);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A call back kept by the server after the call that made it ended. */
static syn_future *kept_nap;

/* start_nap(obj, ms): obj.nap(ms) called back, kept, not awaited: when
 * this call ends, its proxy of obj goes (the client is told). */
static int
start_nap(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_proxy *p;
	int64_t    ms;
	int        rc = syn_unpack(t, args, nargs, "Pi", &p, &ms);
	syn_value  a  = syn_int(ms);
	if (rc == 0) {
		rc = syn_invoke_future(p, "nap", &a, 1, &kept_nap);
	}
	*ret = syn_nil();
	return rc;
}

/* cancel_nap(): cancels the kept call back, and waits for its end. */
static int
cancel_nap(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args;
	(void) nargs;
	syn_future_cancel(kept_nap);
	int rc = syn_await_timeout(t, kept_nap, 5000);
	syn_future_free(kept_nap);
	kept_nap = NULL;
	*ret     = syn_int(rc);
	return 0;
}

/* The server cancels a call back still running here after it let go of
 * every proxy of this client's (so nothing is lent any more): the client
 * still polls while a call back runs, and the cancel reaches it. */
START_TEST(callback_cancel_after_release)
{
	atomic_store(&local_naps_cancelled, 0);
	syn_synchronizer         s         = th_new();
	static const char *const exports[] = { "start_nap", "cancel_nap",
		NULL };
	char                     url[128];
	th_register(s, "start_nap", start_nap, NULL);
	th_register(s, "cancel_nap", cancel_nap, NULL);
	serve_tcp(s, exports, url);
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	syn_synchronizer here = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value args[2] = { syn_proxy_value(p), syn_int(60000) };
	ck_assert_syn_ok(syn_call(r, "start_nap", args, 2, NULL));
	syn_proxy_release(p);
	usleep(300000); /* the RELEASE comes: nothing is lent any more */
	double t0 = th_now_ms();
	ck_assert_int_eq(call_int2(r, "cancel_nap", NULL, 0), SYN_ECANCELED);
	ck_assert_int_eq(atomic_load(&local_naps_cancelled), 1);
	ck_assert_msg(th_now_ms() - t0 < 5000, "the cancel waited");
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A server's call back cancelled with the server's call that awaits it:
 * the method running here is cancelled too (its cleanup runs), and the
 * caller hears SYN_ECANCELED; the connection serves on. */
START_TEST(callback_cancel_crosses)
{
	atomic_store(&local_naps_cancelled, 0);
	server sv;
	server_start(&sv, "tcp://127.0.0.1:0", NULL);
	syn_synchronizer r    = connect_to(&sv);
	syn_synchronizer here = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(here, "LocalCounter", NULL, 0, &p));
	syn_value   args[2] = { syn_proxy_value(p), syn_int(60000) };
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(r, "nap_back", args, 2, &f));
	ck_assert_syn_rc(syn_future_wait_timeout(f, 200), SYN_ETIMEDOUT);
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait_timeout(f, 10000), SYN_ECANCELED);
	syn_future_free(f);
	for (int i = 0; i < 400 && atomic_load(&local_naps_cancelled) == 0;
	     i++) {
		usleep(5000);
	}
	ck_assert_int_eq(atomic_load(&local_naps_cancelled), 1);
	args[1] = syn_int(1);
	ck_assert_int_eq(call_int2(r, "nap_back", args, 2), 1);
	syn_proxy_release(p);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	ck_assert_syn_ok(syn_synchronizer_destroy(here));
	server_stop(&sv);
}
END_TEST

/* hand_out(): the proxy its userdata holds, of its own object. */
static int
hand_out(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args, (void) nargs;
	*ret = syn_proxy_value(syn_task_userdata(t));
	return 0;
}

/* A served function hands out a proxy of its own synchronizer's object
 * (made by another thread): it goes as the object, which the caller may
 * then call. */
START_TEST(own_proxy_goes_out)
{
	syn_synchronizer s = local_sync();
	syn_proxy       *p;
	ck_assert_syn_ok(syn_new(s, "LocalCounter", NULL, 0, &p));
	th_register(s, "hand_out", hand_out, p);
	static const char *const exports[] = { "hand_out", NULL };
	syn_serve_config         cfg       = { .exports = exports };
	char                     url[128];
	ck_assert_syn_ok(
	    syn_serve(s, "tcp://127.0.0.1:0", &cfg, url, sizeof(url)));
	syn_synchronizer r;
	ck_assert_syn_ok(syn_connect(url, NULL, &r));
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(r, "hand_out", NULL, 0, &res));
	ck_assert_int_eq(res.value.type, SYN_TYPE_PROXY);
	syn_proxy *q = syn_proxy_ref(res.value.as.proxy);
	syn_result_fini(&res);
	syn_value five = syn_int(5), one = syn_int(1);
	ck_assert_int_eq(invoke_int(q, "add", &five, 1), 5);
	ck_assert_int_eq(invoke_int(p, "add", &one, 1), 6); /* the same */
	syn_proxy_release(q);
	ck_assert_syn_ok(syn_synchronizer_destroy(r));
	syn_proxy_release(p);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("over_tcp", over_tcp),
		TH_CASE("over_ipc", over_ipc),
		TH_CASE("over_tls", over_tls),
		TH_CASE("clients_come_and_go", clients_come_and_go),
		TH_CASE("server_killed", server_killed),
		TH_CASE("many_in_flight", many_in_flight),
		TH_CASE("batched_calls", batched_calls),
		TH_CASE("batches_sized", batches_sized_and_answered),
		TH_CASE("batches_bounded", batches_bounded),
		TH_CASE("batches_overflow_complete", batches_overflow_complete),
		TH_CASE("batches_near_limit", batches_near_limit),
		TH_CASE("reply_over_peer_limit", reply_over_peer_limit),
		TH_CASE("error_over_peer_limit", error_over_peer_limit),
		TH_CASE("items_over_peer_limit", items_over_peer_limit),
		TH_CASE("batches_held_back", batches_held_back),
		TH_CASE("reconnect_asks_anew", reconnect_asks_anew),
		TH_CASE("unfetched_batches_bounded", unfetched_batches_bounded),
		TH_CASE(
		    "unfetched_replies_hold_back", unfetched_replies_hold_back),
		TH_CASE("batch_member_share", batch_member_share),
		TH_CASE("cancelled_in_batch_gives_back",
		    cancelled_in_batch_gives_back),
		TH_CASE("calls_alone_leave_room", calls_alone_leave_room),
		TH_CASE(
		    "quick_call_after_slow_ones", quick_call_after_slow_ones),
		TH_CASE("cancels_find_their_calls_among_many",
		    cancels_find_their_calls_among_many),
		TH_CASE("poll_retries_when_busy", poll_retries_when_busy),
		TH_CASE(
		    "callbacks_bounded_on_client", callbacks_bounded_on_client),
		TH_CASE("callback_cancel_after_release",
		    callback_cancel_after_release),
		TH_CASE("unanswered_callbacks_bounded",
		    unanswered_callbacks_bounded),
		TH_CASE("cancel_crosses", cancel_crosses_processes),
		TH_CASE("gone_client_streams", gone_client_streams_close),
		TH_CASE("bad_input", bad_input_is_survived),
		TH_CASE("refusals", refusals),
		TH_CASE("fork_client_only", fork_in_a_client_only_process),
		TH_CASE("connect_bounded", connect_bounded),
		TH_CASE("bad_replies", bad_replies_are_refused),
		TH_CASE("objects_cross", objects_cross),
		TH_CASE("release_after_call", release_after_call),
		TH_CASE("release_then_destroy", release_then_destroy),
		TH_CASE("gone_client_objects", gone_client_objects),
		TH_CASE("objects_guarded", objects_guarded),
		TH_CASE("stalled_reader", stalled_reader),
		TH_CASE("unread_replies_bounded", unread_replies_bounded),
		TH_CASE("unread_replies_bound_the_backlog",
		    unread_replies_bound_the_backlog),
		TH_CASE(
		    "stalled_reader_holds_no_one", stalled_reader_holds_no_one),
		TH_CASE("stalled_peer_holding_the_door_is_cut",
		    stalled_peer_holding_the_door_is_cut),
		TH_CASE("slow_reader_filling_the_door_is_not_cut",
		    slow_reader_filling_the_door_is_not_cut),
		TH_CASE("callbacks", callbacks),
		TH_CASE("inproc_connect", inproc_connect_is_a_connection),
		TH_CASE("connection_limits", connection_limits),
		TH_CASE("throw_crosses", throw_crosses),
		TH_CASE("context_crosses", context_crosses),
		TH_CASE("objects_per_connection", objects_per_connection),
		TH_CASE("host_objects_bounded", host_objects_bounded),
		TH_CASE(
		    "refused_reply_keeps_no_room", refused_reply_keeps_no_room),
		TH_CASE("lent_refs_come_back", lent_refs_come_back),
		TH_CASE("too_deep_gives_back", too_deep_gives_back),
		TH_CASE("unsent_open_gives_back", unsent_open_gives_back),
		TH_CASE("stalled_server_cancel_bounded",
		    stalled_server_cancel_bounded),
		TH_CASE("late_answer_gives_back", late_answer_gives_back),
		TH_CASE("exports_by_resolved_name", exports_by_resolved_name),
		TH_CASE("open_streams_bounded", open_streams_bounded),
		TH_CASE("host_streams_bounded", host_streams_bounded),
		TH_CASE("close_with_request_unsent", close_with_request_unsent),
		TH_CASE("callback_cancel", callback_cancel_crosses),
		TH_CASE("own_proxy_goes_out", own_proxy_goes_out),
	};
	return TH_SUITE("remote", cases);
}
