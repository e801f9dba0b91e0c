/*
 * core/door.h: the nng side of a mailbox, for callers that come by
 * address. A rep0 socket listens on the synchronizer's url; each of its
 * contexts receives one request at a time, which the actor runs like any
 * call and answers through the same context. Requests beyond the open
 * contexts wait in nng, which is the door's flow control.
 *
 * nng's callbacks here only post to the actor; everything else runs on
 * the actor thread, but for replies nng could not take at once (their
 * pipe still busy with an earlier one), which a thread of the door's
 * waits for before their slot receives again (see send_reply in door.c).
 */
#ifndef SNI_DOOR_H
#define SNI_DOOR_H

#include <nng/nng.h>

#include "actor.h"

typedef struct sni_batch sni_batch;

/*
 * Opens a's door listening on url (the actor thread, at start). Errors:
 * nng's (SYN_EADDRINUSE, SYN_EADDRINVAL, ...), SYN_ENOMEM, SYN_EFORK.
 */
int sni_door_open(
    sni_actor *a, const char *url, size_t max_message, sni_door **dp);

/* The loop: a request arrived on a door slot. */
void sni_door_handle(sni_actor *a, sni_node *n);

/*
 * For the request in hand from origin: the nng pipe a request of the door
 * came on (its id, never 0; 0 for this process's own callers), and in
 * *remote (NULL allowed) whether it came from another process (through a
 * listener added with sni_door_listen, not the synchronizer's own
 * address). The loop, while it handles that request.
 */
uint32_t sni_origin_pipe(int origin, const void *origin_ptr, bool *remote);

/* How long a reply may wait for its peer (by address, of this process or
 * another) to read it: past it the peer's connection is cut. */
#define SNI_REPLY_TIMEOUT_MS 10000

/*
 * (The reply timeout: how long a reply may wait to be sent. Past it the
 * reply is dropped, the peer's connection is cut and the slot serves the
 * next request, so that a peer that stops reading cannot hold the door's
 * slots. The shortest positive ms asked applies; SNI_REPLY_TIMEOUT_MS
 * while nothing is asked. See sni_door_ask.)
 */

/* What a syn_serve() asks of a door, and what was asked before it. */
typedef struct sni_door_asks {
	uint32_t max_connections;
	uint32_t max_per_host;
	int32_t  reply_timeout;
} sni_door_asks;

/*
 * The most connections the door serves at once and from one host, and
 * the reply timeout, asked by a syn_serve() (0 asks nothing): the
 * smallest asked applies, from the next connection (or reply) on (see
 * admission.h). *before (NULL: not wanted) receives what was asked
 * until then, for sni_door_unask. Any thread.
 */
void sni_door_ask(
    sni_door *d, const sni_door_asks *asks, sni_door_asks *before);

/* Puts back what was asked before a syn_serve() that failed. */
void sni_door_unask(sni_door *d, const sni_door_asks *before);

/* The reply timeout asked, after asked (0: nothing yet) and then ms. */
static inline int32_t
sni_reply_timeout_asked(int32_t asked, int32_t ms)
{
	return ms > 0 && (asked == 0 || ms < asked) ? ms : asked;
}

/* How a listener listens. */
typedef struct sni_listen_opts {
	size_t      max_message; /* the largest request taken */
	int         ipc_mode;    /* an ipc socket file's mode (0: nng's) */
	const char *tls_cert_key_file; /* for tls+tcp://: see serve.h */
	const char *tls_ca_file;       /* for tls+tcp://: asks clients for
	                                  certificates signed by these */
} sni_listen_opts;

/*
 * Adds a listener on url to the door, as o says. The address it took
 * goes into bound (size bytes; NULL: not wanted): a tcp port 0 is
 * replaced by the port picked. nng's errors.
 */
int sni_door_listen(sni_door *d, const char *url, const sni_listen_opts *o,
    char *bound, size_t size);

/*
 * Whether the door's pipe is not connected (any more: its requests may
 * still be in the mailbox): nothing is to be kept for its peer then.
 * The loop.
 */
bool sni_door_pipe_gone(const sni_actor *a, uint32_t pipe);

/* The host the peer behind pipe connected from, as the door counts
 * connections (admission.h): 0 for none (inproc://, ipc://) or a pipe
 * gone. Any thread. */
uint32_t sni_door_pipe_host(sni_door *d, uint32_t pipe);

/*
 * The largest reply the peer behind pipe takes, as its HELLO said (else
 * the synchronizer's own limit). The loop.
 */
size_t sni_door_peer_max(const sni_actor *a, uint32_t pipe);

/* The loop: a HELLO from a door slot (msg taken): the peer's limit is
 * noted, and the answer tells the door's own. */
void sni_door_hello(
    sni_actor *a, nng_msg *msg, void *slot, const sni_limits *lim);

/* A SNI_NODE_PIPE node: a peer came, went (its streams close, what it
 * held is given back) or stopped reading (it is cut off). Actor thread. */
void sni_door_handle_pipe(sni_actor *a, sni_node *n);

/* What a parked request waits for. */
enum { SNI_PARK_POLL, SNI_PARK_FETCH };

/* The loop, on its own stack: the calls that wait in the door's backlog
 * for a place start, while places are free. */
void sni_door_backlog_go(sni_actor *a);

/*
 * The loop: the call call_id from pipe, if it waits in the backlog,
 * leaves it and is refused as cancelled (its caller gets SYN_ECANCELED,
 * what it lent is given back). False when it is not there.
 */
bool sni_door_backlog_cancel(sni_actor *a, uint32_t pipe, uint64_t call_id);

/*
 * What the call slot holds is refused with, 0 if nothing, and why in
 * *detail: SYN_EBUSY when it came while SLOTS_MAX calls ran and as many
 * waited, or while its pipe had its share of both (so that the door reads
 * on, and one peer cannot take every place), SYN_ECANCELED when it was
 * cancelled, or its pipe went, while it waited (in the backlog, or as a
 * batch's member). The loop.
 */
int sni_door_refusal(const void *slot, const char **detail);

/* The loop: the call of member, a batch's member slot, was cancelled
 * before it started: it is refused when dispatched. */
void sni_door_member_cancelled(void *member);

/*
 * The request held by slot will wait long for its reply (a POLL, or a
 * FETCH: kind): it no longer counts among the requests handled at once,
 * and another slot opens if none is free. 0, or SYN_EBUSY when 1,024 of
 * that kind wait so already. Actor thread.
 */
int sni_door_park(void *slot, int kind);

/* The most batch members (calls of batches) that run at once. */
#define SNI_DOOR_MEMBERS_MAX 1024

/* Whether n more batch members fit now, on slot's door. The loop. */
bool sni_door_members_fit(const void *slot, uint32_t n);

/* Whether n more batch members of slot's pipe fit in its share (768 of
 * the 1,024, so that one peer's batches cannot keep out others'). The
 * loop. */
bool sni_door_pipe_members_fit(const void *slot, uint32_t n);

/*
 * A stand-in for slot, for one call of the batch b that came through it
 * (the same pipe): its reply goes to b. NULL when out of memory. Freed
 * with sni_door_member_free once replied to. The loop.
 */
void *sni_door_member(void *slot, sni_batch *b);
void  sni_door_member_free(void *member);

/* Sends msg as the reply of the request held by slot (takes msg; NULL:
 * none could be made, the slot just receives again). */
void sni_door_reply(void *slot, nng_msg *msg);

/*
 * Shutdown, once the last task has replied: lets the replies in flight
 * leave, and waits while meanwhile(arg) says replies wait to be fetched
 * (a second at most in all), calling meanwhile every millisecond (NULL:
 * nothing) so that what still comes in is answered while the socket can
 * send; then closes the socket, and waits until no nng callback of d runs
 * or will run.
 */
void sni_door_stop(sni_door *d, bool (*meanwhile)(void *), void *arg);

/* Frees d (after sni_door_stop and the last drain). NULL is allowed. */
void sni_door_free(sni_door *d);

/* Marks, in a forked child, that nng was used before the fork. */
void sni_door_forked(void);

/* True in a forked child of a process that used nng (a door, a
 * connection, an aio): nng would abort. */
bool sni_door_unavailable(void);

/* This process uses nng now (a remote was dialled, an aio made or given
 * to the library): see sni_door_forked. Any thread. */
void sni_door_used(void);

#endif /* SNI_DOOR_H */
