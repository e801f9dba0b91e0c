/*
 * core/callback.c: a client runs the calls its server makes on objects
 * the client lent it (see backcall.h for the server's side).
 *
 * The answer to the client's POLL carries the server's message: a CALL
 * of a method of a lent object, or a RELEASE of lent references. The
 * CALL runs on the object's synchronizer in this process as any call of
 * this process does; its reply goes back in a RESULT. Only what was
 * lent can be reached, and only plain values go back.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "future.h"
#include "ptrmap.h"
#include "remote.h"

/* What a running callback needs to answer, and to be cancelled. */
typedef struct callback {
	uint32_t         remote; /* the remote actor it came through */
	uint32_t         pipe;   /* the connection's pipe it came on */
	uint64_t         id;     /* the server's callback id */
	syn_future      *f;      /* the local call, while it runs */
	struct callback *next, *prev;
} callback;

/* The callbacks running, for the server's cancels, and how many run for
 * each remote actor (by its id), for its POLLs (any thread, under
 * running_lock). */
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static callback       *running;
static sni_ptrmap      running_count = SNI_PTRMAP_INIT;

/* Lists c as running; SYN_ENOMEM when its count finds no room. */
static int
link_running(callback *c)
{
	pthread_mutex_lock(&running_lock);
	int rc = sni_count_add(&running_count, c->remote, true);
	if (rc == 0) {
		c->prev = NULL;
		c->next = running;
		if (running != NULL) {
			running->prev = c;
		}
		running = c;
	}
	pthread_mutex_unlock(&running_lock);
	return rc;
}

static void
unlink_running(callback *c)
{
	pthread_mutex_lock(&running_lock);
	if (c->prev != NULL) {
		c->prev->next = c->next;
	} else {
		running = c->next;
	}
	if (c->next != NULL) {
		c->next->prev = c->prev;
	}
	sni_count_add(&running_count, c->remote, false);
	pthread_mutex_unlock(&running_lock);
}

static void
answer_body(const callback *c, const void *body, size_t len)
{
	sni_wbuf w;
	sni_wbuf_init(&w);
	sni_msg_encode_wrapped(&w, SNI_MSG_RESULT,
	    sni_remote_call_id_of(c->remote), c->id, body, len);
	sni_remote_answer(c->remote, c->pipe, &w);
	sni_wbuf_fini(&w);
}

/* Answers with the reply encoded in w (finished here): one that could
 * not be encoded cannot go (sni_remote_answer says what then). */
static void
answer_encoded(const callback *c, sni_wbuf *w)
{
	if (w->err == 0) {
		answer_body(c, w->buf, w->len);
	} else {
		sni_remote_answer(c->remote, c->pipe, w);
	}
	sni_wbuf_fini(w);
}

static void
answer_error(const callback *c, int code, const char *message)
{
	sni_wbuf w;
	sni_wbuf_init(&w);
	sni_msg_encode_error(&w, 0, code,
	    message != NULL ? message : syn_strerror(code), "callback");
	answer_encoded(c, &w);
}

static int
has_handle(void *ctx, syn_handle *h, bool *owned)
{
	(void) ctx, (void) h, (void) owned;
	return SYN_ENOTSUP;
}

size_t
sni_callback_running(uint32_t id)
{
	pthread_mutex_lock(&running_lock);
	size_t count = sni_count_of(&running_count, id);
	pthread_mutex_unlock(&running_lock);
	return count;
}

/* The local call finished (on its synchronizer's thread): its reply,
 * of plain values, goes back. */
static void
local_done(syn_future *f, void *arg)
{
	callback *c = arg;
	nng_msg  *m = f->msg;
	unlink_running(c);
	sni_remote_callback_ended(c->remote);
	if (m == NULL) {
		answer_error(c, f->rc != 0 ? f->rc : SYN_ENOMEM, NULL);
	} else if (sni_msg_each_handle(nng_msg_body(m), nng_msg_len(m),
	               SNI_MAX_DEPTH + 1, has_handle, NULL) != 0) {
		answer_error(c, SYN_ENOTSUP,
		    "a callback's result cannot hold objects (yet)");
	} else {
		answer_body(c, nng_msg_body(m), nng_msg_len(m));
	}
	syn_future_free(f); /* an unread reply gives back what it holds */
	free(c);
}

/* What renaming the handles of a server's CALL needs and finds. */
typedef struct lent_ctx {
	uint32_t remote;
} lent_ctx;

/* A handle from the server names a lent object by owner << 32 | object:
 * it becomes the object's own handle, if it was lent. */
static int
lent_local(void *ctx, syn_handle *h, bool *owned)
{
	lent_ctx *c = ctx;
	if (*owned || !sni_remote_lent(c->remote, h->object, 0)) {
		sni_detail_set("the server named an object this process did "
		               "not lend it");
		return SYN_ECLOSED;
	}
	h->owner  = h->object >> 32;
	h->object = h->object & UINT32_MAX;
	return 0;
}

/* A CALL of the server's, in m (taken): checked, then run. */
static int
run_call(const callback *c, const sni_limits *lim, nng_msg *m)
{
	static const char only[] = "a server calls back only methods of "
	                           "objects lent to it";
	lent_ctx          lc     = { c->remote };
	sni_call_view     v;
	sni_actor        *a;
	int rc = sni_msg_each_handle(nng_msg_body(m), nng_msg_len(m),
	    lim->max_depth + 1, lent_local, &lc);
	if (rc == 0) {
		rc = sni_msg_decode_call(
		    nng_msg_body(m), nng_msg_len(m), lim, &v);
	}
	if (rc == 0 && (!v.has_target || v.target.object < 2)) {
		sni_detail_set(only);
		rc = SYN_ENOTSUP;
	}
	if (rc == 0 && sni_actor_hold((uint32_t) v.target.owner, &a) != 0) {
		sni_detail_set("the lent object's synchronizer is gone");
		rc = SYN_ECLOSED;
	}
	if (rc != 0) {
		nng_msg_free(m);
		return rc;
	}
	syn_future *f  = sni_future_alloc(a->id, 0);
	callback   *cc = malloc(sizeof(*cc));
	if (cc != NULL) {
		*cc   = *c;
		cc->f = f;
	}
	if (f == NULL || cc == NULL || link_running(cc) != 0) {
		sni_actor_release(a);
		if (f != NULL) {
			sni_future_discard(f);
		}
		free(cc);
		nng_msg_free(m);
		return SYN_ENOMEM;
	}
	if (syn_future_callback(f, local_done, cc) != 0) {
		unlink_running(cc);
		sni_actor_release(a);
		sni_future_discard(f);
		free(cc);
		nng_msg_free(m);
		return SYN_ENOMEM;
	}
	if (f->msg != NULL) {
		nng_msg_free(f->msg);
	}
	f->msg = m;
	sni_actor_post(a, &f->node);
	sni_actor_release(a);
	return 0;
}

/* A CANCEL of the server's: the call of that callback id, if it still
 * runs, is cancelled (its answer tells the server, after its cleanup). */
static int
run_cancel(const callback *c, const sni_limits *lim, nng_msg *m)
{
	uint64_t id, target;
	int      rc = sni_msg_decode_cancel(
	         nng_msg_body(m), nng_msg_len(m), lim, &id, &target);
	nng_msg_free(m);
	if (rc != 0) {
		return rc;
	}
	pthread_mutex_lock(&running_lock);
	for (callback *r = running; r != NULL; r = r->next) {
		if (r->remote == c->remote && r->id == target) {
			syn_future_cancel(r->f);
			break;
		}
	}
	pthread_mutex_unlock(&running_lock);
	return 0;
}

/* A RELEASE of the server's: lent references come back. */
static int
run_release(const callback *c, const sni_limits *lim, nng_msg *m)
{
	uint64_t   id, count;
	syn_handle h;
	int        rc = sni_msg_decode_release(
	           nng_msg_body(m), nng_msg_len(m), lim, &id, &h, &count);
	nng_msg_free(m);
	if (rc == 0) {
		sni_remote_lent(c->remote, h.object, count);
		syn_value nil = syn_nil();
		sni_wbuf  w;
		sni_wbuf_init(&w);
		sni_msg_encode_return(&w, 0, &nil, lim);
		answer_encoded(c, &w);
	}
	return rc;
}

bool
sni_callback_run(uint32_t id, const sni_limits *lim, nng_msg *msg)
{
	sni_limits  inner_lim = *lim;
	callback    c = { id, (uint32_t) nng_pipe_id(nng_msg_get_pipe(msg)), 0,
		   NULL, NULL, NULL };
	uint64_t    call_id;
	const void *inner;
	size_t      len;
	int         kind;
	nng_msg    *m        = NULL;
	inner_lim.deny_owned = true; /* the server lends nothing back */
	if (sni_msg_check(nng_msg_body(msg), nng_msg_len(msg), lim, &kind) !=
	        0 ||
	    kind != SNI_MSG_CALLBACK ||
	    sni_msg_decode_wrapped(nng_msg_body(msg), nng_msg_len(msg), lim,
	        SNI_MSG_CALLBACK, &call_id, &c.id, &inner, &len) != 0) {
		nng_msg_free(msg); /* the POLL refused, or garbage */
		return false;
	}
	int rc = sni_msg_check(inner, len, &inner_lim, &kind);
	if (rc == 0 &&
	    (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, inner, len) != 0)) {
		rc = SYN_ENOMEM;
	}
	nng_msg_free(msg);
	if (rc == 0) {
		rc = kind == SNI_MSG_CALL     ? run_call(&c, &inner_lim, m)
		    : kind == SNI_MSG_RELEASE ? run_release(&c, &inner_lim, m)
		    : kind == SNI_MSG_CANCEL
		    ? run_cancel(&c, &inner_lim, m)
		    : (sni_detail_set("a server calls back only methods (no "
		                      "generators yet)"),
		          nng_msg_free(m), SYN_ENOTSUP);
		m  = NULL;
	}
	if (m != NULL) {
		nng_msg_free(m);
	}
	if (rc != 0) { /* the server's call is answered, whatever it was */
		answer_error(&c, rc, sni_detail_get());
	}
	return true;
}
