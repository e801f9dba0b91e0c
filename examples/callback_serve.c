/*
 * Callbacks across processes: a server that calls back into an object of
 * its client.
 *
 * Run without arguments, this program is the client: it starts itself
 * again as the server ("callback_serve server", with posix_spawn: nng
 * cannot be used across a bare fork; process.h), reads from the server's
 * stdout the address it took, and connects to it with syn_connect(). The
 * server serves the functions of ticker on tcp://127.0.0.1 (a port picked
 * for it): notify(listener, n) calls listener.tick(i) for i = 1 .. n, one
 * after the other, and returns; subscribe(listener) keeps the listener,
 * publish(headline) calls its news(headline) later, and unsubscribe()
 * lets it go.
 *
 * The client makes its own synchronizer, registers the class Listener on
 * it, makes a Listener and passes it to notify: the object stays in the
 * client's process, the server gets a proxy of it, and every tick runs
 * here, on the client's synchronizer. The client checks that the ticks
 * came in order with their values, subscribes the Listener, publishes,
 * releases its own reference (the server's keeps the Listener alive),
 * publishes again, unsubscribes (the Listener is dropped here), and is
 * refused a publish with nobody subscribed. Then it disconnects and stops
 * the server by closing its stdin.
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
#define TICKS 5     /* the ticks notify() sends */
#define HEADLINES 2 /* the headlines publish() hands out */

/* How long the server may take to stop (process.h has its start): a
 * connection's destroy can wait 5 s for nng 1.5.2's close
 * (core/nngclose.h). */
#define STOP_MS 8000

#define E_NO_LISTENER SYN_EUSER(1)

/* [api] */
/* The client's class: a Listener lives in the client's process, and the
 * server calls its methods back. */
typedef struct Listener_state {
	char    log[256]; /* what it heard, in order: "1, 2, first" */
	int64_t ticks;    /* the ticks heard */
	int64_t news;     /* the headlines heard */
} Listener_state;

#define LISTENER(F0, F1, F2, F3, F4, C)                \
	F0(C, INIT, init, void)                        \
	F1(C, FUNC, tick, int64_t, int64_t, n)         \
	F1(C, FUNC, news, int64_t, syn_cstr, headline) \
	F0(C, FUNC, heard, syn_cstr)
SYN_CLASS_DECLARE(Listener, LISTENER)

/* The server's functions: each takes a Listener of its caller's. */
#define TICKER(F0, F1, F2, F3, F4, C)                                    \
	F2(C, FUNC, notify, int64_t, Listener_ref, listener, int64_t, n) \
	F1(C, PROC, subscribe, void, Listener_ref, listener)             \
	F1(C, FUNC, publish, int64_t, syn_cstr, headline)                \
	F0(C, PROC, unsubscribe, void)
SYN_FUNCTIONS_DECLARE(ticker, TICKER)
/* [api] */

SYN_CLASS_DEFINE(Listener, LISTENER)
SYN_FUNCTIONS_DEFINE(ticker, TICKER)

/* ---- the client's side: the Listener --------------------------------- */

/* The client's Listeners dropped, and the last one's log: written by the
 * client's synchronizer in fini, read by the client's main thread. */
static atomic_int listeners_dropped;
static char       final_log[256];

/* Appends what to self's log. */
static void
note(Listener_state *self, const char *what)
{
	size_t used = strlen(self->log);
	snprintf(self->log + used, sizeof(self->log) - used, "%s%s",
	    used > 0 ? ", " : "", what);
}

int
Listener_init_impl(syn_task *t, Listener_state *self)
{
	(void) t, (void) self; /* self is zeroed: nothing heard yet */
	return 0;
}

/* [listener] */
/* Runs on the client's synchronizer, called from the server's process. */
int
Listener_tick_impl(syn_task *t, Listener_state *self, int64_t n, int64_t *ret)
{
	(void) t;
	char tick[24];
	snprintf(tick, sizeof(tick), "%lld", (long long) n);
	note(self, tick);
	*ret = ++self->ticks; /* goes back to the server */
	return 0;
}

int
Listener_news_impl(
    syn_task *t, Listener_state *self, syn_cstr headline, int64_t *ret)
{
	(void) t;
	note(self, headline);
	*ret = ++self->news;
	return 0;
}
/* [listener] */

int
Listener_heard_impl(syn_task *t, Listener_state *self, syn_cstr *ret)
{
	(void) t;
	*ret = self->log; /* self outlives the reply */
	return 0;
}

/* Runs once, on the client's synchronizer, when the last reference goes:
 * the client's own and the server's. */
void
Listener_fini_impl(Listener_state *self)
{
	strcpy(final_log, self->log);
	atomic_fetch_add(&listeners_dropped, 1); /* after final_log */
}

/* ---- the server's side ------------------------------------------------ */

/* [notify] */
/* listener is a proxy of an object in the caller's process, borrowed for
 * this call. Each tick is awaited before the next is sent: they arrive in
 * order, and the server serves other calls meanwhile. */
int
ticker_notify_impl(syn_task *t, Listener_ref listener, int64_t n, int64_t *ret)
{
	int rc = 0;
	*ret   = 0;
	for (int64_t i = 1; rc == 0 && i <= n; i++) {
		Listener_tick_future_t *f;
		if ((rc = Listener_tick_future(listener, i, &f)) != 0) {
			break;
		}
		if ((rc = syn_await(t, SYN_FUTURE(f))) == 0) {
			rc = Listener_tick_get(f, ret); /* the ticks it heard */
		}
		Listener_tick_free(f);
	}
	return rc;
}
/* [notify] */

/* [keep] */
/* The subscribed Listener: a reference of the server's own. Only the
 * server's tasks touch it: no lock. */
static Listener_ref subscriber;

int
ticker_subscribe_impl(syn_task *t, Listener_ref listener)
{
	(void) t;
	Listener_release(subscriber); /* one at a time: the last one goes */
	subscriber = Listener_ref_dup(listener); /* kept past the call */
	return 0;
}

int
ticker_publish_impl(syn_task *t, syn_cstr headline, int64_t *ret)
{
	if (subscriber == NULL) {
		return syn_raise(t, E_NO_LISTENER, "nobody listens");
	}
	/* A reference of this call's: unsubscribe() may run while it waits. */
	Listener_ref            l = Listener_ref_dup(subscriber);
	Listener_news_future_t *f;
	int                     rc = Listener_news_future(l, headline, &f);
	if (rc == 0) {
		if ((rc = syn_await(t, SYN_FUTURE(f))) == 0) {
			rc = Listener_news_get(f, ret); /* headlines heard */
		}
		Listener_news_free(f);
	}
	Listener_release(l);
	return rc;
}

int
ticker_unsubscribe_impl(syn_task *t)
{
	(void) t;
	Listener_release(subscriber); /* the client may drop it now */
	subscriber = NULL;
	return 0;
}
/* [keep] */

/* The server: this program, started as "callback_serve server". It
 * serves at url until its stdin closes. */
static int
server(const char *url)
{
	syn_synchronizer s;
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(ticker_register(s), "ticker_register");

	/* [exports] */
	/* The server exports its functions. The client exports nothing:
	 * only the server it lends its objects to can call them. */
	static const char *const exports[] = { "ticker_notify",
		"ticker_subscribe", "ticker_publish", "ticker_unsubscribe",
		NULL };
	syn_serve_config cfg = { .exports = exports, .max_message = 64 * 1024 };
	char             bound[256];
	check(syn_serve(s, url, &cfg, bound, sizeof(bound)), "syn_serve");
	/* [exports] */
	print_address(bound); /* tcp://127.0.0.1:<the port picked> */

	wait_stdin_closed(); /* the client closes it, or ends */
	check(syn_synchronizer_destroy(s), "destroy");
	Listener_release(subscriber); /* if a client left one subscribed */
	return 0;
}

/* ---- the client's side: the calls ------------------------------------ */

/* Waits (two seconds at most) until n Listeners were dropped here. */
static void
wait_dropped(int n)
{
	for (int i = 0; i < 400 && atomic_load(&listeners_dropped) < n; i++) {
		usleep(5000);
	}
}

/* notify: the server calls the Listener back TICKS times, in order. */
static Listener_ref
lend(syn_synchronizer r, syn_synchronizer here)
{
	/* [lend] */
	Listener_ref l; /* an object here, in the client's process */
	check(Listener_new(here, &l), "Listener_new");
	int64_t n;
	check(ticker_notify(r, l, TICKS, &n), "notify"); /* TICKS callbacks */
	syn_cstr heard;
	check(Listener_heard(l, &heard), "heard"); /* a local call */
	printf("notify(%d): %lld ticks heard: %s\n", TICKS, (long long) n,
	    heard); /* 5 ticks heard: 1, 2, 3, 4, 5 */
	/* [lend] */
	expect(n == TICKS, "the Listener counted every tick");
	expect(strcmp(heard, "1, 2, 3, 4, 5") == 0, "every tick, in order");
	syn_typed_free(heard);
	return l;
}

/* subscribe and publish: the server keeps the Listener, calls it later,
 * and lets it go. Takes the client's reference l. */
static void
keep(syn_synchronizer r, Listener_ref l)
{
	/* [kept] */
	int64_t news;
	check(ticker_subscribe(r, l), "subscribe"); /* the server keeps l */
	check(ticker_publish(r, "first", &news), "publish"); /* news is 1 */
	Listener_release(l); /* ours: the server's reference keeps l alive */
	check(ticker_publish(r, "second", &news), "publish"); /* 2 */
	check(ticker_unsubscribe(r), "unsubscribe"); /* l is dropped here */
	wait_dropped(1); /* until Listener_fini_impl has run */
	int rc = ticker_publish(r, "third", &news); /* E_NO_LISTENER */
	/* [kept] */
	printf("publish: %lld headlines heard; the Listener heard \"%s\" and "
	       "was dropped; then: %s: %s\n",
	    (long long) news, final_log, syn_errname(rc),
	    syn_last_error()->message);
	expect(news == HEADLINES, "every headline heard");
	expect(atomic_load(&listeners_dropped) == 1, "the Listener dropped");
	expect(strcmp(final_log, "1, 2, 3, 4, 5, first, second") == 0,
	    "every tick and headline, in order");
	expect(rc == E_NO_LISTENER, "nobody listens after unsubscribe");
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "server") == 0) {
		return server(SERVE_URL);
	}

	char  url[256];
	int   to_server;
	pid_t pid = start_server(argv[0], &to_server, url, sizeof(url));
	if (pid < 0) {
		return 1; /* start_server() said why */
	}
	/* [client] */
	syn_synchronizer r; /* names the server's synchronizer */
	check(syn_connect(url, NULL, &r), "syn_connect");
	syn_synchronizer here; /* the client's own, for the Listeners */
	check(syn_synchronizer_new(&here, NULL), "syn_synchronizer_new");
	check(Listener_register(here), "Listener_register");
	/* [client] */
	printf("connected to %s\n", url);

	keep(r, lend(r, here));

	check(syn_synchronizer_destroy(r), "disconnect");
	check(syn_synchronizer_destroy(here), "destroy");
	close(to_server); /* its stdin closes: it stops serving, and exits */
	expect(wait_exit(pid, "server", now_ms() + STOP_MS) == 0,
	    "the server's exit");
	return failures == 0 ? 0 : 1;
}
