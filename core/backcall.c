/*
 * core/backcall.c: calls from a served synchronizer into objects of its
 * clients (see backcall.h).
 *
 * Per client connection (door pipe) that handed the server an object:
 * its back actor, the calls to it not sent yet (in order), the calls sent
 * and not answered (by callback id), and the POLL its client keeps
 * waiting, which carries the next call out.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backcall.h"
#include "door.h"
#include "errors.h"
#include "future.h"
#include "registry.h"
#include "reply.h"
#include "task.h"

/* Calls queued for a client that does not POLL for them, at most. */
#define QUEUED_MAX 4096
/* Calls sent to a client and not answered yet, at most: the rest wait
 * in the queue (a client that never answers holds a bounded amount). */
#define SENT_MAX 4096

struct sni_backcall {
	sni_actor  *server;
	sni_actor  *peer; /* the back actor: its id names the client */
	uint32_t    pipe;
	void       *poll; /* the door slot of the waiting POLL, or NULL */
	nng_msg    *poll_msg;
	uint64_t    poll_call_id;
	syn_future *first; /* not sent yet, linked through node.next */
	syn_future *last;
	uint32_t    queued; /* how many */
	sni_ptrmap  sent;   /* callback id + 2 -> its future */
	uint64_t    next_id;
	/* Callback ids of sent calls that the server cancelled, to tell
	 * the client before any call (a ring). */
	uint64_t cancels[64];
	uint32_t cancels_head, ncancels;
};

static const void *
pipe_key(uint32_t pipe)
{
	return (const void *) ((uintptr_t) pipe + 2);
}

static const void *
id_key(uint64_t id)
{
	return (const void *) (uintptr_t) (id + 2);
}

/* Any thread: a node for the back actor p goes to its server's loop. */
static void
back_post(sni_actor *p, sni_node *n)
{
	if (n->kind == SNI_NODE_CALL) {
		n->kind = SNI_NODE_BACKCALL;
	} else if (n->kind == SNI_NODE_CANCEL) {
		n->kind = SNI_NODE_BACKCANCEL;
	} else {
		return; /* CLOSE, STOP: it goes with the connection */
	}
	sni_mpsc_push(&p->back->server->mbox, n);
}

/* Fails f (not sent, or sent and no longer waited for) with rc. */
static void
fail(syn_future *f, int rc, const char *why)
{
	nng_msg *m = f->msg;
	f->msg     = NULL;
	sni_reply_error(SNI_ORIGIN_FUTURE, f, m, 0, rc, why, "callback");
}

/* A new back actor for b: thread-less, registered. */
static int
peer_open(sni_actor *a, sni_backcall *b)
{
	sni_actor *p = aligned_alloc(64, (sizeof(sni_actor) + 63) / 64 * 64);
	if (p == NULL) {
		return SYN_ENOMEM;
	}
	memset(p, 0, sizeof(*p));
	sni_mpsc_init(&p->mbox);
	p->back   = b;
	p->post   = back_post;
	p->limits = (sni_limits) { SNI_DEFAULT_MAX_DEPTH, a->max_message, false,
		false, false, false };
	p->max_message     = a->max_message;
	p->close_node.kind = SNI_NODE_CLOSE;
	p->stop_node.kind  = SNI_NODE_STOP;
	snprintf(p->name, sizeof(p->name), "client of %.40s", a->name);
	int rc = sni_registry_add(p, &p->id);
	if (rc != 0) {
		free(p);
		return rc;
	}
	b->peer = p;
	return 0;
}

/* The connection's state for pipe, made on first use. */
static int
backcall_get(sni_actor *a, uint32_t pipe, sni_backcall **bp)
{
	sni_backcall *b = sni_ptrmap_get(&a->backcalls, pipe_key(pipe));
	if (b != NULL) {
		*bp = b;
		return 0;
	}
	if (a->stopping) { /* its back actors are going, or gone */
		sni_detail_set("the synchronizer was destroyed");
		return SYN_ECLOSED;
	}
	if (sni_door_pipe_gone(a, pipe)) {
		sni_detail_set("the connection closed");
		return SYN_ECONNRESET;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		return SYN_ENOMEM;
	}
	b->server = a;
	b->pipe   = pipe;
	int rc    = peer_open(a, b);
	if (rc == 0 &&
	    (rc = sni_ptrmap_put(&a->backcalls, pipe_key(pipe), b)) != 0) {
		sni_registry_seal(b->peer->id);
		sni_registry_remove(b->peer->id);
		free(b->peer);
	}
	if (rc != 0) {
		free(b);
		return rc;
	}
	*bp = b;
	return 0;
}

int
sni_backcall_name(sni_actor *a, uint32_t pipe, syn_handle *h, bool *owned)
{
	uint64_t      owner = h->owner & ~SNI_PEER_OWNER;
	sni_backcall *b;
	if (owner == 0 || owner > UINT32_MAX || h->object < 2 ||
	    h->object > UINT32_MAX) {
		sni_detail_set("a client's object named by a handle no client "
		               "sends");
		return SYN_EPROTO;
	}
	int rc = backcall_get(a, pipe, &b);
	if (rc == 0) {
		h->object = owner << 32 | h->object;
		h->owner  = b->peer->id;
		*owned    = true; /* the proxy made of it owes a RELEASE */
	}
	return rc;
}

/* Answers the waiting POLL with the CALLBACK in w (finished here); false
 * when out of memory (the POLL still waits). */
static bool
answer_poll(sni_backcall *b, sni_wbuf *w)
{
	int rc = w->err != 0 ? SYN_ENOMEM : sni_msg_set_body(b->poll_msg, w);
	sni_wbuf_fini(w);
	if (rc != 0) {
		return false;
	}
	void    *slot = b->poll;
	nng_msg *msg  = b->poll_msg;
	b->poll       = NULL;
	b->poll_msg   = NULL;
	sni_door_reply(slot, msg);
	return true;
}

/* Tells the client, through the waiting POLL, of a cancel asked: its
 * answer to that call completes it (after the call's cleanup there). */
static void
send_cancel(sni_backcall *b)
{
	uint64_t id     = b->cancels[b->cancels_head];
	b->cancels_head = (b->cancels_head + 1) % 64;
	b->ncancels--;
	sni_wbuf w, inner;
	sni_wbuf_init(&w);
	sni_wbuf_init(&inner);
	sni_msg_encode_cancel(&inner, 0, id);
	sni_msg_encode_wrapped(
	    &w, SNI_MSG_CALLBACK, b->poll_call_id, 0, inner.buf, inner.len);
	w.err = w.err != 0 ? w.err : inner.err;
	sni_wbuf_fini(&inner);
	answer_poll(b, &w); /* else lost: the call runs its course */
}

/* Sends the next message for the client in answer to the waiting POLL:
 * a cancel, else the next call not sent yet. */
static void
send_next(sni_backcall *b)
{
	while (b->poll != NULL && b->ncancels > 0) {
		send_cancel(b);
	}
	while (b->poll != NULL && b->first != NULL && b->sent.len < SENT_MAX) {
		syn_future *f = b->first;
		b->first      = (syn_future *) f->node.next;
		if (b->first == NULL) {
			b->last = NULL;
		}
		b->queued--;
		uint64_t id = ++b->next_id;
		sni_wbuf w;
		sni_wbuf_init(&w);
		sni_msg_encode_wrapped(&w, SNI_MSG_CALLBACK, b->poll_call_id,
		    id, nng_msg_body(f->msg), nng_msg_len(f->msg));
		if (w.err != 0 ||
		    sni_ptrmap_put(&b->sent, id_key(id), f) != 0) {
			sni_wbuf_fini(&w);
			fail(f, SYN_ENOMEM, NULL);
			continue;
		}
		nng_msg *call = f->msg;
		f->msg        = NULL;
		f->task       = (syn_task *) (uintptr_t) id; /* for a cancel */
		if (!answer_poll(b, &w)) {
			sni_ptrmap_del(&b->sent, id_key(id));
			f->task = NULL;
			f->msg  = call;
			fail(f, SYN_ENOMEM, NULL);
			continue;
		}
		nng_msg_free(call);
	}
}

/* Takes f out of b (queued or sent): true when it was there. */
static bool
take(sni_backcall *b, syn_future *f)
{
	uint64_t id = (uint64_t) (uintptr_t) f->task;
	if (id != 0) {
		return sni_ptrmap_del(&b->sent, id_key(id)) == f;
	}
	syn_future **pp   = &b->first;
	syn_future  *prev = NULL;
	while (*pp != NULL && *pp != f) {
		prev = *pp;
		pp   = (syn_future **) &(*pp)->node.next;
	}
	if (*pp != f) {
		return false;
	}
	*pp = (syn_future *) f->node.next;
	if (b->last == f) {
		b->last = prev;
	}
	b->queued--;
	return true;
}

void
sni_backcall_node(sni_actor *a, sni_node *n)
{
	bool          cancel = n->kind == SNI_NODE_BACKCANCEL;
	syn_future   *f      = cancel
	           ? (syn_future *) ((char *) n - offsetof(syn_future, cancel_node))
	           : (syn_future *) n;
	sni_actor    *p;
	sni_backcall *b = NULL;
	if (sni_registry_pin(f->actor_id, true, &p) == 0) {
		b = p->back != NULL && p->back->server == a ? p->back : NULL;
		sni_registry_unpin(f->actor_id);
	}
	if (cancel) {
		uint64_t id = (uint64_t) (uintptr_t) f->task;
		if (b != NULL && id != 0 &&
		    sni_ptrmap_get(&b->sent, id_key(id)) == f &&
		    b->ncancels < 64) { /* sent: the client cancels it */
			b->cancels[(b->cancels_head + b->ncancels++) % 64] = id;
			send_next(b);
		} else if (b != NULL && take(b, f)) { /* ends here */
			fail(f, SYN_ECANCELED, NULL);
		}
		sni_future_cancel_done(f);
		return;
	}
	if (b == NULL) {
		fail(f, SYN_ECONNRESET, "the client's connection closed");
		return;
	}
	if (b->queued == QUEUED_MAX) {
		fail(f, SYN_EBUSY, "the client does not take its callbacks");
		return;
	}
	b->queued++;
	f->task      = NULL;
	f->node.next = NULL;
	if (b->last != NULL) {
		b->last->node.next = &f->node;
	} else {
		b->first = f;
	}
	b->last = f;
	send_next(b);
}

void
sni_backcall_poll(sni_actor *a, nng_msg *msg, void *slot, const sni_limits *lim)
{
	uint64_t      id = 0;
	bool          remote;
	sni_backcall *b    = NULL;
	uint32_t      pipe = sni_origin_pipe(SNI_ORIGIN_DOOR, slot, &remote);
	int           rc =
	    sni_msg_decode_poll(nng_msg_body(msg), nng_msg_len(msg), lim, &id);
	if (rc == 0 && !remote) {
		sni_detail_set("a POLL comes from another process");
		rc = SYN_EPROTO;
	}
	if (rc == 0) {
		rc = backcall_get(a, pipe, &b);
	}
	if (rc == 0 && b->poll != slot) {
		rc = sni_door_park(slot, SNI_PARK_POLL);
	}
	if (rc != 0) {
		sni_reply_error(SNI_ORIGIN_DOOR, slot, msg, id, rc,
		    sni_detail_get(), a->name);
		return;
	}
	if (b->poll != NULL) { /* one waits at a time: the new one */
		sni_reply_error(SNI_ORIGIN_DOOR, b->poll, b->poll_msg,
		    b->poll_call_id, SYN_EBUSY, "another POLL took its place",
		    a->name);
	}
	b->poll         = slot;
	b->poll_msg     = msg;
	b->poll_call_id = id;
	send_next(b);
}

/* The client's answer to f: a RETURN, an ERROR or a generator's reply,
 * of plain values. */
static void
deliver(syn_future *f, const void *inner, size_t len)
{
	static const sni_limits lim = { SNI_DEFAULT_MAX_DEPTH,
		SNI_DEFAULT_MAX_SIZE, false, true, true, false };
	int                     kind;
	nng_msg                *m;
	int                     rc = sni_msg_check(inner, len, &lim, &kind);
	if (rc == 0 && kind != SNI_MSG_RETURN && kind != SNI_MSG_ERROR &&
	    kind != SNI_MSG_END && kind != SNI_MSG_ITEMS) {
		sni_detail_set("a callback's answer of kind %d", kind);
		rc = SYN_EPROTO;
	}
	if (rc == 0 && nng_msg_alloc(&m, 0) == 0) {
		if (nng_msg_append(m, inner, len) == 0) {
			sni_reply_deliver(SNI_ORIGIN_FUTURE, f, m, 0);
			return;
		}
		nng_msg_free(m);
	}
	fail(f, rc != 0 ? rc : SYN_ENOMEM, rc != 0 ? sni_detail_get() : NULL);
}

void
sni_backcall_result(
    sni_actor *a, nng_msg *msg, void *slot, const sni_limits *lim)
{
	uint64_t    call_id = 0, id = 0;
	const void *inner;
	size_t      len;
	bool        remote;
	uint32_t    pipe = sni_origin_pipe(SNI_ORIGIN_DOOR, slot, &remote);
	int rc = sni_msg_decode_wrapped(nng_msg_body(msg), nng_msg_len(msg),
	    lim, SNI_MSG_RESULT, &call_id, &id, &inner, &len);
	if (rc == 0 && !remote) {
		sni_detail_set("a RESULT comes from another process");
		rc = SYN_EPROTO;
	}
	if (rc != 0) {
		sni_reply_error(SNI_ORIGIN_DOOR, slot, msg, call_id, rc,
		    sni_detail_get(), a->name);
		return;
	}
	sni_backcall *b = sni_ptrmap_get(&a->backcalls, pipe_key(pipe));
	syn_future *f = b != NULL ? sni_ptrmap_del(&b->sent, id_key(id)) : NULL;
	if (f != NULL) { /* else cancelled meanwhile: dropped */
		deliver(f, inner, len);
	}
	sni_reply_nil(SNI_ORIGIN_DOOR, slot, msg, call_id);
	if (b != NULL) {
		send_next(b); /* one held back for its place may go */
	}
}

/* The connection is over: its calls fail with rc, its back actor goes. */
static void
backcall_close(sni_backcall *b, int rc)
{
	uint32_t id = b->peer->id;
	sni_registry_seal(id); /* nothing more is posted to it */
	sni_registry_quiesce(id);
	while (b->first != NULL) {
		syn_future *f = b->first;
		b->first      = (syn_future *) f->node.next;
		fail(f, rc, "the client's connection closed");
	}
	size_t      i = 0;
	syn_future *f;
	while ((f = sni_ptrmap_next(&b->sent, &i)) != NULL) {
		fail(f, rc, "the client's connection closed");
	}
	sni_ptrmap_fini(&b->sent);
	if (b->poll != NULL) {
		sni_reply_error(SNI_ORIGIN_DOOR, b->poll, b->poll_msg,
		    b->poll_call_id, rc, NULL, b->server->name);
	}
	sni_registry_remove(id);
	free(b->peer);
	free(b);
}

void
sni_backcall_pipe_gone(sni_actor *a, uint32_t pipe)
{
	sni_backcall *b = sni_ptrmap_del(&a->backcalls, pipe_key(pipe));
	if (b != NULL) {
		backcall_close(b, SYN_ECONNRESET);
	}
}

void
sni_backcalls_fini(sni_actor *a)
{
	size_t        i = 0;
	sni_backcall *b;
	while ((b = sni_ptrmap_next(&a->backcalls, &i)) != NULL) {
		backcall_close(b, SYN_ECLOSED);
	}
	sni_ptrmap_fini(&a->backcalls);
}

sni_actor *
sni_backcall_server(const sni_actor *a)
{
	return a->back != NULL ? a->back->server : NULL;
}
