/*
 * core/remote.c: a synchronizer of another process (see remote.h).
 *
 * Each call in flight holds an op: an nng context and an aio, reused
 * from a free list. Its life: the request is sent on the context, then
 * the reply received; the reply (checked: no pointers, no handles, within
 * the limits) completes the caller's future. A cancel aborts the op's
 * aio; the future then completes with SYN_ECANCELED. Losing the peer
 * fails the pending receives with SYN_ECONNRESET (resending is off).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "door.h"
#include "errors.h"
#include "future.h"
#include "registry.h"
#include "remote.h"

typedef struct remote_op remote_op;
struct remote_op {
	sni_remote *r;
	nng_ctx     ctx;
	nng_aio    *aio;
	syn_future *f;       /* the call; NULL once completed (under lock) */
	bool        sending; /* the request is on its way, not the reply */
	bool        cancel;  /* cancelled: no reply is to be waited for */
	remote_op  *next;    /* in the free list, or in the list of all */
	remote_op  *all;
};

struct sni_remote {
	nng_socket      sock;
	sni_limits      limits; /* what replies may hold */
	int32_t         timeout_ms;
	pthread_mutex_t lock;
	remote_op      *free; /* ops to reuse */
	remote_op      *all;  /* every op, for the close */
	atomic_int      pipes;
	atomic_bool     closed;
};

static void op_done(void *arg);

/* ---- ops ---------------------------------------------------------------
 */

static remote_op *
op_get(sni_remote *r)
{
	pthread_mutex_lock(&r->lock);
	remote_op *op = r->free;
	if (op != NULL) {
		r->free = op->next;
	}
	pthread_mutex_unlock(&r->lock);
	if (op != NULL) {
		return op;
	}
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		return NULL;
	}
	op->r = r;
	if (nng_ctx_open(&op->ctx, r->sock) != 0 ||
	    nng_aio_alloc(&op->aio, op_done, op) != 0) {
		if (op->aio != NULL) {
			nng_aio_free(op->aio);
		}
		free(op);
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	op->all = r->all;
	r->all  = op;
	pthread_mutex_unlock(&r->lock);
	return op;
}

/* Completes op's call with rc and reply msg (may be NULL); op goes back
 * to the free list. On nng's thread, or the poster's on a failed send. */
static void
op_finish(remote_op *op, int rc, nng_msg *msg)
{
	sni_remote *r = op->r;
	pthread_mutex_lock(&r->lock);
	syn_future *f = op->f;
	op->f         = NULL;
	op->cancel    = false;
	op->next      = r->free;
	r->free       = op;
	f->task       = NULL;
	pthread_mutex_unlock(&r->lock);
	f->msg = msg;
	sni_future_complete(f, rc);
}

/* A reply from the other process: checked before anyone reads it. */
static int
check_reply(sni_remote *r, nng_msg *msg)
{
	int kind =
	    sni_msg_check(nng_msg_body(msg), nng_msg_len(msg), &r->limits);
	if (kind < 0 || kind == SNI_MSG_RETURN || kind == SNI_MSG_ERROR ||
	    kind == SNI_MSG_END || kind == SNI_MSG_ITEMS ||
	    kind == SNI_MSG_RAW) {
		return kind < 0 ? kind : 0;
	}
	return SYN_EPROTO; /* a request where a reply belongs */
}

static void
op_done(void *arg)
{
	remote_op  *op = arg;
	sni_remote *r  = op->r;
	int         rc = nng_aio_result(op->aio);
	if (rc != 0 && atomic_load(&r->closed)) {
		rc = SYN_ECLOSED; /* destroyed here, whatever nng saw */
	}
	if (op->sending) {
		bool sent = rc == 0;
		pthread_mutex_lock(&r->lock);
		op->sending = false;
		rc          = sent && op->cancel ? SYN_ECANCELED : rc;
		pthread_mutex_unlock(&r->lock);
		if (rc == 0) {
			nng_aio_set_timeout(op->aio, NNG_DURATION_INFINITE);
			nng_ctx_recv(op->ctx, op->aio);
			return;
		}
		if (!sent) {
			nng_msg_free(nng_aio_get_msg(op->aio));
		}
		op_finish(op, rc == NNG_ETIMEDOUT ? SYN_ECONNRESET : rc, NULL);
		return;
	}
	nng_msg *msg = rc == 0 ? nng_aio_get_msg(op->aio) : NULL;
	if (msg != NULL && (rc = check_reply(r, msg)) != 0) {
		nng_msg_free(msg);
		msg = NULL;
	}
	op_finish(op, rc, msg);
}

/* ---- posting ------------------------------------------------------------
 */

static void
post_call(sni_actor *a, syn_future *f)
{
	sni_remote *r   = a->remote;
	nng_msg    *msg = f->msg;
	remote_op  *op  = atomic_load(&r->pipes) > 0 ? op_get(r) : NULL;
	f->msg          = NULL;
	if (op == NULL) { /* no connection now (it comes back on its own) */
		nng_msg_free(msg);
		sni_future_complete(f,
		    atomic_load(&r->pipes) > 0 ? SYN_ENOMEM : SYN_ECONNRESET);
		return;
	}
	pthread_mutex_lock(&r->lock);
	f->task     = (syn_task *) op; /* for a cancel: see post_cancel */
	op->f       = f;
	op->sending = true;
	pthread_mutex_unlock(&r->lock);
	nng_aio_set_msg(op->aio, msg);
	nng_aio_set_timeout(op->aio, r->timeout_ms);
	nng_ctx_send(op->ctx, op->aio);
}

static void
post_cancel(sni_actor *a, syn_future *f)
{
	sni_remote *r = a->remote;
	pthread_mutex_lock(&r->lock);
	remote_op *op      = (remote_op *) f->task;
	bool       pending = op != NULL && op->f == f; /* not recycled */
	if (pending) {
		op->cancel = true; /* seen between the send and the receive */
	}
	pthread_mutex_unlock(&r->lock);
	if (pending) {
		nng_aio_cancel(op->aio); /* completes it: SYN_ECANCELED */
	}
	sni_future_cancel_done(f);
}

void
sni_remote_post(sni_actor *a, sni_node *n)
{
	switch (n->kind) {
	case SNI_NODE_CALL:
		post_call(a, (syn_future *) n);
		break;
	case SNI_NODE_CANCEL:
		post_cancel(a,
		    (syn_future *) ((char *) n -
		        offsetof(syn_future, cancel_node)));
		break;
	default: /* CLOSE, STOP: the destroy does the work */
		break;
	}
}

/* ---- opening and closing ------------------------------------------------
 */

/* nng thread: a connection came or went. */
static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void) p;
	sni_remote *r = arg;
	atomic_fetch_add(&r->pipes, ev == NNG_PIPE_EV_ADD_POST ? 1 : -1);
}

static int
remote_dial(sni_remote *r, const char *url, size_t max_message)
{
	int rc = nng_req0_open(&r->sock);
	if (rc != 0) {
		return rc;
	}
	nng_socket_set_ms(
	    r->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_size(r->sock, NNG_OPT_RECVMAXSZ, max_message);
	nng_pipe_notify(r->sock, NNG_PIPE_EV_ADD_POST, pipe_event, r);
	nng_pipe_notify(r->sock, NNG_PIPE_EV_REM_POST, pipe_event, r);
	if ((rc = nng_dial(r->sock, url, NULL, 0)) != 0) {
		nng_close(r->sock);
	}
	return rc;
}

int
sni_remote_open(const char *url, size_t max_message, int32_t timeout_ms,
    sni_actor **ap, uint32_t *idp)
{
	if (sni_door_unavailable()) {
		return SYN_EFORK;
	}
	sni_door_used();
	sni_actor  *a = aligned_alloc(64, (sizeof(sni_actor) + 63) / 64 * 64);
	sni_remote *r = calloc(1, sizeof(*r));
	if (a == NULL || r == NULL) {
		free(a);
		free(r);
		return SYN_ENOMEM;
	}
	memset(a, 0, sizeof(*a));
	sni_mpsc_init(&a->mbox);
	a->remote = r;
	a->limits =
	    (sni_limits) { SNI_DEFAULT_MAX_DEPTH, max_message, false, true };
	a->max_message     = max_message;
	r->limits          = a->limits;
	r->timeout_ms      = timeout_ms;
	a->close_node.kind = SNI_NODE_CLOSE;
	a->stop_node.kind  = SNI_NODE_STOP;
	pthread_mutex_init(&r->lock, NULL);
	int rc = remote_dial(r, url, max_message);
	if (rc == 0 && (a->url = strdup(url)) == NULL) {
		nng_close(r->sock);
		rc = SYN_ENOMEM;
	}
	if (rc == 0 && (rc = sni_registry_add(a, &a->id)) != 0) {
		nng_close(r->sock);
	}
	if (rc != 0) {
		pthread_mutex_destroy(&r->lock);
		free(a->url);
		free(r);
		free(a);
		return rc;
	}
	snprintf(a->name, sizeof(a->name), "%s", url);
	*ap  = a;
	*idp = a->id;
	return 0;
}

void
sni_remote_close(sni_actor *a)
{
	sni_remote *r = a->remote;
	atomic_store(&r->closed, true);
	nng_close(r->sock); /* pending ops complete with SYN_ECLOSED */
	for (remote_op *op = r->all; op != NULL; op = op->all) {
		nng_aio_stop(op->aio);
	}
	remote_op *op = r->all;
	while (op != NULL) {
		remote_op *next = op->all;
		nng_aio_free(op->aio);
		free(op);
		op = next;
	}
	pthread_mutex_destroy(&r->lock);
	free(r);
	a->remote = NULL;
}
