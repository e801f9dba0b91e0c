/*
 * core/door.c: the mailbox's nng socket (cooked rep0, one context per
 * request in flight).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>

#include "admission.h"
#include "backcall.h"
#include "batch.h"
#include "door.h"
#include "errors.h"
#include "gen.h"
#include "nngclose.h"
#include "reply.h"
#include "task.h"

#define SLOTS_FIRST 8
#define SLOTS_MAX 1024  /* requests handled at once */
#define PARKED_MAX 1024 /* and requests parked besides, of each kind */
#define PARK_BACKLOG 2  /* a call that waits for a place (see hold_back) */
/* A call in the backlog keeps its message: it counts a unit for each
 * 64 KiB begun, and the backlog holds at most 1,024 units (64 MiB). */
#define WAIT_UNIT 65536
#define BACKLOG_UNITS_MAX 1024
/* What one connection may hold of the SLOTS_MAX places, of the
 * backlog's units and of the batch members: others keep a quarter. */
#define PIPE_SLOTS_MAX (SLOTS_MAX * 3 / 4)
#define PIPE_WAITING_MAX (BACKLOG_UNITS_MAX * 3 / 4)
#define PIPE_MEMBERS_MAX (SNI_DOOR_MEMBERS_MAX * 3 / 4)
_Static_assert(PIPE_SLOTS_MAX == 768 && PIPE_WAITING_MAX == 768 &&
        BACKLOG_UNITS_MAX * WAIT_UNIT == 64 << 20,
    "sni_door_refusal's texts");
#define SLOTS_CAP (SLOTS_MAX + 3 * PARKED_MAX) /* d->slots' size */
/* Replies that wait in nng for a peer that reads slowly, or not at all,
 * are counted per pipe in KiB: past 32 MiB the pipe's requests that make
 * replies are refused (see unread_over). */
#define PIPE_UNREAD_KIB (32u << 10)
#define UNREAD_TEXT \
	"this connection leaves 32 MiB of replies unread: read them first"

/* Why a call was refused with SYN_EBUSY (slot.refuse_why). */
enum { REFUSE_FULL, REFUSE_SHARE, REFUSE_UNREAD };
_Static_assert(PIPE_UNREAD_KIB == 32768, "UNREAD_TEXT");

typedef struct slot {
	sni_node  node; /* SNI_NODE_DOOR, posted with a request */
	sni_door *door;
	nng_ctx   ctx;
	nng_aio  *recv;
	nng_aio  *send;     /* no callback: see send_reply */
	nng_aio  *send_cb;  /* with one: for a pipe whose replies queue up */
	nng_msg  *msg;      /* the request just received */
	uint32_t  pipe;     /* the pipe of the request in hand */
	bool      remote;   /* it came from another process */
	int8_t    parked;   /* held for long, not counted busy: a
	                       SNI_PARK_ kind + 1, or 0 */
	sni_batch   *batch; /* a member of this batch: no nng context */
	struct slot *next_slow;    /* in the door's queue of slow replies */
	struct slot *next_backlog; /* in the door's backlog (msg held) */
	uint64_t     call_id;      /* of the call it holds there */
	int refuse; /* what its call is refused with when dispatched: 0, or
	               SYN_EBUSY (it came with the backlog full) or
	               SYN_ECANCELED (cancelled, or its pipe went, while it
	               waited) */
	uint8_t  refuse_why;    /* SYN_EBUSY: why (REFUSE_...) */
	bool     pipe_busy;     /* counted in busy_of */
	uint32_t waiting_units; /* in the backlog: counted in waiting_of */
	/* For cut_stalled: whether its reply waits in nng, since when (the
	 * loop's), and the pipe and time of its last reply that ended. */
	atomic_bool      in_nng;
	uint64_t         queued_ns;
	_Atomic uint32_t ended_pipe;
	_Atomic uint64_t ended_ns;
	uint32_t         unread_kib; /* its reply's, counted in unread_of */
} slot;

/*
 * Replies that nng did not take at once (their pipe was still sending an
 * earlier one, or the send failed), each waited for in turn by a thread
 * of the door's, started at the first.
 */
typedef struct slow_replies {
	pthread_mutex_t mu;
	pthread_cond_t  cv;
	slot           *head, *tail;
	bool            started;
	bool            stopping;
	pthread_t       thread;
} slow_replies;

struct sni_door {
	sni_actor   *actor;
	nng_socket   sock;
	int          inproc_listener; /* its own address's listener id */
	atomic_int   pipes;           /* peers connected now */
	nng_listener listeners[16];   /* every listener, to close first */
	atomic_int   nlisteners;
	bool         abandoned; /* nng_close did not return: see nngclose.h */
	atomic_bool  closed;
	atomic_int   sending; /* replies handed to nng, not yet sent */
	slot       **slots;
	uint32_t     nslots;
	uint32_t     busy;          /* slots holding a request (actor side) */
	sni_ptrmap   busy_of;       /* the loop's: of them, each pipe's */
	sni_ptrmap   waiting_of;    /* the loop's: each pipe's backlog units */
	uint32_t     backlog_units; /* the loop's: all of them */
	uint32_t     parked;        /* slots parked (see sni_door_park) */
	uint32_t     parked_of[3];  /* of each kind */
	/* Calls that came while SLOTS_MAX were handled: they wait, in
	 * order, parked (see hold_back). The loop's. */
	slot        *backlog_head, *backlog_tail;
	bool         backlog_going;
	uint32_t     members;    /* batch members alive */
	sni_ptrmap   members_of; /* the loop's: of them, each pipe's */
	sni_limits   limits;
	sni_limits   remote_limits; /* for other processes: no OBJECT exts */
	int32_t      reply_timeout; /* asked by syn_serve (0: none yet) */
	slow_replies slow;
	sni_ptrmap   queued_pipes; /* the loop's: pipes whose replies have
	                              queued up in nng (see send_reply) */
	nng_aio *recheck;          /* a sleep before cut_stalled again */
	bool     recheck_armed;    /* the loop's */
	uint64_t scanned_ns;       /* the loop's: cut_stalled's last scan */
	/* The KiB of replies waiting in nng that did not go at once, each
	 * pipe's (under unread_mu) and in all. */
	pthread_mutex_t  unread_mu;
	sni_ptrmap       unread_of;
	_Atomic uint64_t unread_kib;
	/* Each pipe's GONE event, made when it came, so that its going
	 * (whose cleanup must run) needs no memory: under gone_mu. */
	pthread_mutex_t gone_mu;
	sni_ptrmap      gone;
	sni_admission   admission; /* which pipes are served */
	sni_ptrmap      refused;   /* the loop's: pipes refused (their
	                              requests answered SYN_EBUSY), each to
	                              its SNI_ADMIT_ reason */
};

static void        place_freed(sni_door *d);
static const void *pipe_key(uint32_t pipe);
static void        backlog_drop_pipe(sni_door *d, uint32_t pipe);

static atomic_bool nng_used;  /* nng was used in this process (a door, a
                                 connection, an aio) */
static bool forked_after_nng; /* ... and then the process forked */

void
sni_door_forked(void)
{
	forked_after_nng = atomic_load(&nng_used);
}

void
sni_door_used(void)
{
	atomic_store(&nng_used, true);
}

bool
sni_door_unavailable(void)
{
	return forked_after_nng;
}

/* nng thread: a request arrived, or the socket closed. */
static void
recv_done(void *arg)
{
	slot *s = arg;
	if (nng_aio_result(s->recv) != 0) {
		return; /* closed or stopped: the slot rests */
	}
	s->msg = nng_aio_get_msg(s->recv);
	sni_actor_post(s->door->actor, &s->node);
}

/* A peer's pipe came, went or stalled: its node, to the actor. */
typedef struct pipe_event {
	sni_node node; /* SNI_NODE_PIPE */
	int      what; /* SNI_PIPE_... */
	uint32_t pipe;
	/* A GONE event, kept from the pipe's coming on: what the pipe
	 * took of the admission's counts, and the aio that closes it when
	 * it was refused (NULL: none). A REFUSED event: its reason. */
	sni_admitted admitted;
	nng_aio     *expiry;
} pipe_event;

enum {
	SNI_PIPE_ADDED,
	SNI_PIPE_REFUSED, /* came past the admission's limits */
	SNI_PIPE_GONE,
	SNI_PIPE_STALLED, /* a reply to it timed out: it is cut off */
	SNI_PIPE_DRAINED, /* a reply that queued up on it has ended */
	SNI_PIPE_RECHECK, /* time to look for stalled pipes again */
};

/* A pipe event, not posted yet; NULL without memory. */
static pipe_event *
pipe_event_new(int what, uint32_t pipe)
{
	pipe_event *e = malloc(sizeof(*e));
	if (e != NULL) {
		e->node.kind = SNI_NODE_PIPE;
		e->what      = what;
		e->pipe      = pipe;
		e->admitted  = (sni_admitted) { SNI_ADMIT_CLOSED, 0 };
		e->expiry    = NULL;
	}
	return e;
}

/* nng thread: posts e (taken) to the actor; false when the actor cannot
 * hear of it (e NULL: out of memory, or going). */
static bool
post_pipe_event(sni_door *d, pipe_event *e)
{
	if (e != NULL &&
	    (atomic_load(&d->closed) ||
	        !sni_actor_post_held(d->actor, &e->node))) {
		free(e); /* the actor is going */
		return false;
	}
	return e != NULL;
}

/* nng thread: tells the actor of what happened to pipe; false when the
 * actor cannot hear of it (out of memory, or going). */
static bool
post_pipe(sni_door *d, int what, uint32_t pipe)
{
	return !atomic_load(&d->closed) &&
	    post_pipe_event(d, pipe_event_new(what, pipe));
}

/* s's reply of len bytes waits in nng: counted for its pipe. Any
 * thread, before the reply can finish. */
static void
unread_add(sni_door *d, slot *s, size_t len)
{
	uint32_t kib = (uint32_t) (len >> 10) + 1;
	pthread_mutex_lock(&d->unread_mu);
	if (sni_count_change(&d->unread_of, s->pipe, (int32_t) kib) == 0) {
		s->unread_kib = kib; /* (no memory: not counted) */
		atomic_fetch_add(&d->unread_kib, kib);
	}
	pthread_mutex_unlock(&d->unread_mu);
}

/* s's reply, if counted, no longer waits. Any thread. */
static void
unread_end(sni_door *d, slot *s)
{
	if (s->unread_kib == 0) {
		return;
	}
	pthread_mutex_lock(&d->unread_mu);
	sni_count_change(&d->unread_of, s->pipe, -(int32_t) s->unread_kib);
	pthread_mutex_unlock(&d->unread_mu);
	atomic_fetch_sub(&d->unread_kib, s->unread_kib);
	s->unread_kib = 0;
}

/* Whether pipe leaves more than PIPE_UNREAD_KIB of replies unread (its
 * requests that make more are refused). The loop. */
static bool
unread_over(sni_door *d, uint32_t pipe)
{
	if (atomic_load_explicit(&d->unread_kib, memory_order_relaxed) <=
	    PIPE_UNREAD_KIB) {
		return false; /* (the common case: no lock) */
	}
	pthread_mutex_lock(&d->unread_mu);
	bool over = sni_count_of(&d->unread_of, pipe) > PIPE_UNREAD_KIB;
	pthread_mutex_unlock(&d->unread_mu);
	return over;
}

/*
 * The reply of s, sent with aio, went out (or not): receive the next
 * request. The loop (a reply nng took at once), the door's thread for
 * slow replies, or an nng thread (send_done).
 */
static void
send_finished(slot *s, nng_aio *aio)
{
	int rc = nng_aio_result(aio);
	unread_end(s->door, s);
	atomic_store(&s->ended_pipe, s->pipe);
	atomic_store(&s->ended_ns, sni_now_ns());
	atomic_store(&s->in_nng, false);
	if (rc != 0 && nng_aio_get_msg(aio) != NULL) {
		nng_msg_free(nng_aio_get_msg(aio));
		nng_aio_set_msg(aio, NULL);
	}
	if (rc == NNG_ETIMEDOUT) { /* a peer that stopped reading */
		post_pipe(s->door, SNI_PIPE_STALLED, s->pipe);
	}
	if (!atomic_load(&s->door->closed)) {
		nng_ctx_recv(s->ctx, s->recv);
	}
	atomic_fetch_sub(&s->door->sending, 1);
}

/* nng thread: a reply sent with send_cb went out (or not). */
static void
send_done(void *arg)
{
	slot *s = arg;
	send_finished(s, s->send_cb);
}

/* The door's thread for slow replies: waits for each, oldest first. */
static void *
slow_replies_main(void *arg)
{
	slow_replies *q = arg;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		slot *s = q->head;
		if (s == NULL) {
			if (q->stopping) {
				break;
			}
			pthread_cond_wait(&q->cv, &q->mu);
			continue;
		}
		q->head = s->next_slow;
		if (q->head == NULL) {
			q->tail = NULL;
		}
		pthread_mutex_unlock(&q->mu);
		nng_aio_wait(s->send); /* at most the reply timeout */
		uint32_t pipe = s->pipe;
		send_finished(s, s->send);
		post_pipe(s->door, SNI_PIPE_DRAINED, pipe);
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/*
 * The loop: hands s, whose reply nng has not finished with, to the slow
 * replies' thread; false when that thread cannot be started.
 */
static bool
slow_reply(sni_door *d, slot *s)
{
	slow_replies *q = &d->slow;
	pthread_mutex_lock(&q->mu);
	if (!q->started && !q->stopping) {
		q->started =
		    pthread_create(&q->thread, NULL, slow_replies_main, q) == 0;
	}
	bool taken = q->started && !q->stopping;
	if (taken) {
		s->next_slow = NULL;
		if (q->tail != NULL) {
			q->tail->next_slow = s;
		} else {
			q->head = s;
		}
		q->tail = s;
		pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return taken;
}

/* Ends the slow replies' thread, once every reply it holds has ended
 * (their aios are stopped first). */
static void
slow_replies_stop(slow_replies *q)
{
	pthread_mutex_lock(&q->mu);
	q->stopping = true;
	pthread_cond_signal(&q->cv);
	bool started = q->started;
	pthread_mutex_unlock(&q->mu);
	if (started) {
		pthread_join(q->thread, NULL);
	}
}

static void
slot_free(slot *s)
{
	if (s->recv != NULL) {
		nng_aio_free(s->recv);
	}
	if (s->send != NULL) {
		nng_aio_free(s->send);
	}
	if (s->send_cb != NULL) {
		nng_aio_free(s->send_cb);
	}
	if (s->msg != NULL) {
		nng_msg_free(s->msg);
	}
	free(s);
}

static int
slot_open(sni_door *d)
{
	slot *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return SYN_ENOMEM;
	}
	s->node.kind = SNI_NODE_DOOR;
	s->door      = d;
	int rc       = nng_ctx_open(&s->ctx, d->sock);
	if (rc == 0) {
		rc = nng_aio_alloc(&s->recv, recv_done, s);
	}
	if (rc == 0) {
		rc = nng_aio_alloc(&s->send, NULL, NULL); /* see send_reply */
	}
	if (rc == 0) {
		rc = nng_aio_alloc(&s->send_cb, send_done, s);
	}
	if (rc != 0) {
		slot_free(s);
		return rc;
	}
	d->slots[d->nslots++] = s;
	nng_ctx_recv(s->ctx, s->recv);
	return 0;
}

/* nng thread: a pipe's GONE event (NULL: none) gives back what the pipe
 * took of the admission's counts, and stops its expiry. */
static void
give_back(sni_door *d, pipe_event *gone)
{
	if (gone != NULL) {
		sni_admission_gone(&d->admission, gone->admitted);
		if (gone->expiry != NULL) {
			nng_aio_reap(gone->expiry);
			gone->expiry = NULL;
		}
	}
}

/* nng thread: the GONE event of a pipe that is not let in after all
 * (NULL: none) gives back what the pipe took, and goes. */
static void
gone_unused(sni_door *d, pipe_event *gone)
{
	give_back(d, gone);
	free(gone);
}

/*
 * nng thread: pipe p (id) came. It is served, or refused (kept open for
 * a while, to answer SYN_EBUSY: see admission.h), or closed at once; the
 * actor hears of the first two, and its GONE event is kept for when it
 * goes.
 */
static void
pipe_came(sni_door *d, nng_pipe p, uint32_t id)
{
	sni_admitted what = sni_admission_admit(&d->admission, p);
	pipe_event  *gone = NULL;
	if (what.how != SNI_ADMIT_CLOSED &&
	    (gone = pipe_event_new(SNI_PIPE_GONE, id)) == NULL) {
		sni_admission_gone(&d->admission, what);
	}
	if (gone != NULL) {
		gone->admitted = what;
	}
	if (gone != NULL && what.how != SNI_ADMIT_SERVED &&
	    (gone->expiry = sni_admission_expiry(id)) == NULL) {
		gone_unused(d, gone); /* (no memory: it closes now) */
		gone = NULL;
	}
	pthread_mutex_lock(&d->gone_mu);
	bool kept =
	    gone != NULL && sni_ptrmap_put(&d->gone, pipe_key(id), gone) == 0;
	pthread_mutex_unlock(&d->gone_mu);
	pipe_event *came = !kept ? NULL
	    : what.how == SNI_ADMIT_SERVED
	    ? pipe_event_new(SNI_PIPE_ADDED, id)
	    : pipe_event_new(SNI_PIPE_REFUSED, id);
	if (came != NULL) {
		came->admitted = what;
	}
	if (!kept || !post_pipe_event(d, came)) {
		if (!kept) {
			gone_unused(d, gone);
		}
		nng_pipe_close(p); /* unknown to the actor: not let in */
	}
}

/* nng thread: a peer came or went; the actor keeps the set of peers,
 * closes a gone one's streams and gives back what it held. */
static void
pipe_changed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	sni_door   *d  = arg;
	uint32_t    id = (uint32_t) nng_pipe_id(p);
	pipe_event *gone;
	if (ev == NNG_PIPE_EV_ADD_PRE) { /* REM_POST comes for each */
		atomic_fetch_add(&d->pipes, 1);
		pipe_came(d, p, id);
		return;
	}
	atomic_fetch_sub(&d->pipes, 1);
	pthread_mutex_lock(&d->gone_mu);
	gone = sni_ptrmap_del(&d->gone, pipe_key(id));
	pthread_mutex_unlock(&d->gone_mu);
	give_back(d, gone); /* (none: it was not let in) */
	post_pipe_event(d, gone);
}

static const void *
pipe_key(uint32_t pipe)
{
	return (const void *) ((uintptr_t) pipe + 2);
}

uint32_t
sni_door_pipe_host(sni_door *d, uint32_t pipe)
{
	pthread_mutex_lock(&d->gone_mu);
	const pipe_event *e    = sni_ptrmap_get(&d->gone, pipe_key(pipe));
	uint32_t          host = e != NULL ? e->admitted.host : 0;
	pthread_mutex_unlock(&d->gone_mu);
	return host;
}

/* Whether no slot is free to receive: each holds a request, is parked,
 * or waits for nng to send its reply. */
static bool
all_taken(const sni_door *d)
{
	return d->busy + d->parked + (uint32_t) atomic_load(&d->sending) >=
	    d->nslots;
}

/* Whether one more slot may open. */
static bool
may_open(const sni_door *d)
{
	return d->nslots < SLOTS_CAP; /* (one more reads: see hold_back) */
}

#define SCAN_EVERY_NS 10000000u

/* The loop: cut_stalled runs again in about ns, unless it is due. */
static void
recheck_in(sni_door *d, uint64_t ns)
{
	if (!d->recheck_armed) {
		d->recheck_armed = true;
		nng_sleep_aio((nng_duration) (ns / 1000000u + 1), d->recheck);
	}
}

/* How long a reply may wait to be sent: as asked, or the default. */
static nng_duration
reply_timeout(const sni_door *d)
{
	return d->reply_timeout != 0 ? d->reply_timeout : SNI_REPLY_TIMEOUT_MS;
}

/* One pipe's replies waiting in nng, as cut_stalled sees them. */
typedef struct pipe_progress {
	uint32_t pipe;
	bool     waiting; /* a reply of it waits in nng */
	uint64_t ended;   /* when its last reply ended, or 0 */
	uint64_t queued;  /* when its oldest waiting reply was handed on */
} pipe_progress;

/* The entry of pipe in p (n used, room for every slot). */
static pipe_progress *
progress_of(sni_ptrmap *index, pipe_progress *p, uint32_t *n, uint32_t pipe)
{
	uintptr_t i = (uintptr_t) sni_ptrmap_get(index, pipe_key(pipe));
	if (i == 0) {
		if (sni_ptrmap_put(index, pipe_key(pipe),
		        (void *) (uintptr_t) (*n + 1)) != 0) {
			return NULL;
		}
		p[*n] = (pipe_progress) { pipe, false, 0, UINT64_MAX };
		i     = ++*n;
	}
	return &p[i - 1];
}

/*
 * The loop, when the door is full: each reply a peer does not read
 * holds its slot until the reply timeout, so a peer that sends requests
 * and reads nothing would shut everyone else out for that long. A pipe
 * whose replies wait in nng and none of which ended for a quarter of the
 * reply timeout is cut off now, as one whose reply timed out (its pipe's
 * close ends its replies, and their slots receive again); a pipe that
 * drains, however slowly, is not. When a pipe may qualify later, the
 * door looks again then. It looks at every slot: at most every 10 ms
 * (a door kept full by its load would otherwise scan at each request).
 */
static void
cut_stalled(sni_door *d)
{
	uint64_t now = sni_now_ns();
	if (now - d->scanned_ns < SCAN_EVERY_NS) {
		recheck_in(d, d->scanned_ns + SCAN_EVERY_NS - now);
		return;
	}
	d->scanned_ns        = now;
	pipe_progress *p     = malloc(d->nslots * sizeof(*p));
	sni_ptrmap     index = { 0 };
	uint32_t       n     = 0;
	if (p == NULL) {
		return;
	}
	for (uint32_t i = 0; i < d->nslots; i++) {
		slot          *s     = d->slots[i];
		uint32_t       ended = atomic_load(&s->ended_pipe);
		pipe_progress *e;
		if (ended != 0 &&
		    (e = progress_of(&index, p, &n, ended)) != NULL) {
			uint64_t at = atomic_load(&s->ended_ns);
			e->ended    = at > e->ended ? at : e->ended;
		}
		if (atomic_load(&s->in_nng) &&
		    (e = progress_of(&index, p, &n, s->pipe)) != NULL) {
			e->waiting = true;
			e->queued =
			    s->queued_ns < e->queued ? s->queued_ns : e->queued;
		}
	}
	uint64_t limit = (uint64_t) reply_timeout(d) * 1000000u / 4;
	uint64_t next  = UINT64_MAX;
	for (uint32_t i = 0; i < n; i++) {
		if (!p[i].waiting) {
			continue;
		}
		uint64_t since =
		    p[i].ended > p[i].queued ? p[i].ended : p[i].queued;
		if (now > since && now - since > limit) {
			nng_pipe_close((nng_pipe) { .id = p[i].pipe });
		} else if (since + limit < next) {
			next = since + limit;
		}
	}
	sni_ptrmap_fini(&index);
	free(p);
	if (next != UINT64_MAX) {
		recheck_in(d, next > now ? next - now : 0);
	}
}

/* nng thread: the sleep before cut_stalled again ended. (The loop
 * arms it only when it is not armed; when the loop cannot be told, out
 * of memory, it sleeps again, so that the loop looks again some time.) */
static void
recheck_due(void *arg)
{
	sni_door *d = arg;
	if (nng_aio_result(d->recheck) == 0 &&
	    !post_pipe(d, SNI_PIPE_RECHECK, 0) && !atomic_load(&d->closed)) {
		nng_sleep_aio(100, d->recheck);
	}
}

/*
 * Opens one more slot when none is free to receive, within the bounds: a
 * slot is taken while the loop holds its request, while it is parked,
 * and while nng sends its reply (to a peer slow to read, up to the reply
 * timeout: meanwhile the door must go on receiving from the others).
 * When no more can open, looks for stalled peers.
 */
static void
open_if_full(sni_door *d)
{
	if (!all_taken(d) || atomic_load(&d->closed)) {
		return;
	}
	if (may_open(d)) {
		slot_open(d); /* let one more request in */
	} else if (atomic_load(&d->sending) > 0) {
		cut_stalled(d);
	}
}

bool
sni_door_pipe_gone(const sni_actor *a, uint32_t pipe)
{
	return sni_ptrmap_get(&a->live_pipes, pipe_key(pipe)) == NULL;
}

/* The message limit pipe's HELLO told (live_pipes keeps it + 1), or 0:
 * none came. */
static size_t
hello_max(const sni_actor *a, uint32_t pipe)
{
	uintptr_t v =
	    (uintptr_t) sni_ptrmap_get(&a->live_pipes, pipe_key(pipe));
	return v > 1 ? (size_t) (v - 1) : 0;
}

size_t
sni_door_peer_max(const sni_actor *a, uint32_t pipe)
{
	size_t max = hello_max(a, pipe);
	return max != 0 ? max : a->max_message;
}

/* The largest request the door takes on pipe (its listener's limit). */
static size_t
request_max(const sni_actor *a, uint32_t pipe)
{
	size_t sz = 0;
	if (nng_pipe_get_size(
	        (nng_pipe) { .id = pipe }, NNG_OPT_RECVMAXSZ, &sz) != 0 ||
	    sz == 0) {
		sz = a->max_message;
	}
	return sz;
}

void
sni_door_hello(sni_actor *a, nng_msg *msg, void *sp, const sni_limits *lim)
{
	uint64_t id = 0, max = 0;
	uint32_t pipe = sni_origin_pipe(SNI_ORIGIN_DOOR, sp, NULL);
	int      rc   = sni_msg_decode_hello(
	           nng_msg_body(msg), nng_msg_len(msg), lim, &id, &max);
	if (rc == 0 && max >= 64 && max < UINTPTR_MAX - 1 &&
	    sni_ptrmap_get(&a->live_pipes, pipe_key(pipe)) != NULL) {
		sni_ptrmap_put(&a->live_pipes, pipe_key(pipe),
		    (void *) (uintptr_t) (max +
		        1)); /* replies are sized by it */
	}
	if (rc != 0) {
		sni_reply_error(SNI_ORIGIN_DOOR, sp, msg, id, rc,
		    sni_detail_get(), a->name);
		return;
	}
	static const sni_limits plain = { 1, SIZE_MAX, false, false, false,
		false };
	size_t max_in = request_max(a, pipe); /* and what a BATCH is read by */
	syn_value v   = syn_int(
	      (int64_t) (max_in < lim->max_size ? max_in : lim->max_size));
	sni_wbuf w;
	sni_wbuf_init(&w);
	sni_msg_encode_return(&w, id, &v, &plain);
	if (w.err != 0 || sni_msg_set_body(msg, &w) != 0) {
		nng_msg_free(msg);
		msg = NULL;
	}
	sni_wbuf_fini(&w);
	sni_reply_deliver(
	    SNI_ORIGIN_DOOR, sp, msg, msg != NULL ? 0 : SYN_ENOMEM);
}

void
sni_door_handle_pipe(sni_actor *a, sni_node *n)
{
	pipe_event *e = (pipe_event *) n;
	if (e->what == SNI_PIPE_ADDED || e->what == SNI_PIPE_REFUSED) {
		if (sni_ptrmap_put(
		        &a->live_pipes, pipe_key(e->pipe), (void *) 1) != 0 ||
		    (e->what == SNI_PIPE_REFUSED &&
		        sni_ptrmap_put(&a->door->refused, pipe_key(e->pipe),
		            (void *) (uintptr_t) e->admitted.how) != 0)) {
			nng_pipe_close((nng_pipe) { .id = e->pipe });
		}
	} else if (e->what == SNI_PIPE_STALLED) {
		nng_pipe_close((nng_pipe) { .id = e->pipe });
	} else if (e->what == SNI_PIPE_DRAINED) {
		sni_ptrmap_del(&a->door->queued_pipes, pipe_key(e->pipe));
	} else if (e->what == SNI_PIPE_RECHECK) {
		a->door->recheck_armed = false;
		open_if_full(a->door); /* (still full: cut_stalled) */
	} else if (sni_ptrmap_del(&a->live_pipes, pipe_key(e->pipe)) != NULL) {
		sni_ptrmap_del(&a->door->refused, pipe_key(e->pipe));
		sni_ptrmap_del(&a->door->queued_pipes, pipe_key(e->pipe));
		backlog_drop_pipe(a->door, e->pipe);
		sni_gen_drop_pipe(a, e->pipe);
		sni_actor_cancel_pipe_calls(a, e->pipe);
		sni_batch_pipe_gone(a, e->pipe);
		sni_backcall_pipe_gone(a, e->pipe);
		if (a->ops->pipe_gone != NULL) {
			a->ops->pipe_gone(a->ops_arg, e->pipe);
		}
	}
	free(e);
}

static int
open_socket(sni_door *d, const char *url, size_t max_message)
{
	int rc = nng_rep0_open(&d->sock);
	if (rc != 0) {
		return rc;
	}
	nng_listener l;
	nng_socket_set_size(d->sock, NNG_OPT_RECVMAXSZ, max_message);
	nng_pipe_notify(d->sock, NNG_PIPE_EV_ADD_PRE, pipe_changed, d);
	nng_pipe_notify(d->sock, NNG_PIPE_EV_REM_POST, pipe_changed, d);
	if ((rc = nng_listen(d->sock, url, &l, 0)) != 0) {
		nng_close(d->sock);
		return rc;
	}
	d->inproc_listener = nng_listener_id(l);
	d->listeners[0]    = l;
	atomic_store(&d->nlisteners, 1);
	return 0;
}

/* Where a request came from: its pipe, and whether another process. */
static void
learn_pipe(const sni_door *d, slot *s, nng_msg *msg)
{
	nng_pipe     p = nng_msg_get_pipe(msg);
	nng_listener l = nng_pipe_listener(p);
	s->remote      = nng_listener_id(l) != d->inproc_listener;
	s->pipe        = (uint32_t) nng_pipe_id(p);
}

/*
 * Hands s's request to the actor (on its thread). A pipe that said HELLO
 * is a client of syn_connect(), served as another process is (exports,
 * its limits, its handles renamed), even when it came through the
 * door's own inproc:// listener.
 */
static void
dispatch(sni_actor *a, sni_door *d, slot *s, nng_msg *msg)
{
	if (!s->remote && hello_max(a, s->pipe) != 0) {
		s->remote = true;
	}
	sni_actor_dispatch(a, msg, SNI_ORIGIN_DOOR, s,
	    s->remote ? &d->remote_limits : &d->limits);
}

uint32_t
sni_origin_pipe(int origin, const void *origin_ptr, bool *remote)
{
	const slot *s    = origin == SNI_ORIGIN_DOOR ? origin_ptr : NULL;
	bool        from = s != NULL && s->remote;
	if (remote != NULL) {
		*remote = from;
	}
	return s != NULL ? s->pipe : 0;
}

/* The address a tcp listener took (port 0 picks one), into bound. */
static int
bound_url(nng_listener l, const char *url, char *bound, size_t size)
{
	int port = 0;
	if ((strncmp(url, "tcp", 3) == 0 || strncmp(url, "tls+tcp", 7) == 0) &&
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0) {
		const char *colon = strrchr(url, ':');
		int         n     = snprintf(
		                bound, size, "%.*s:%d", (int) (colon - url), url, port);
		return n < 0 || (size_t) n >= size ? SYN_EINVAL : 0;
	}
	return (size_t) snprintf(bound, size, "%s", url) >= size ? SYN_EINVAL
	                                                         : 0;
}

/* Sets a new listener's options from o. */
static int
listener_options(nng_listener l, const char *url, const sni_listen_opts *o)
{
	int rc = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, o->max_message);
	if (rc == 0 && o->ipc_mode != 0 && strncmp(url, "ipc://", 6) == 0) {
		rc = nng_listener_set_int(
		    l, NNG_OPT_IPC_PERMISSIONS, o->ipc_mode);
	}
	if (rc == 0 && o->tls_cert_key_file != NULL &&
	    (rc = nng_listener_set_string(
	         l, NNG_OPT_TLS_CERT_KEY_FILE, o->tls_cert_key_file)) != 0) {
		sni_detail_set("the certificate and key in %.200s cannot be "
		               "used",
		    o->tls_cert_key_file);
	}
	if (rc == 0 && o->tls_ca_file != NULL &&
	    ((rc = nng_listener_set_string(
	          l, NNG_OPT_TLS_CA_FILE, o->tls_ca_file)) != 0 ||
	        (rc = nng_listener_set_int(l, NNG_OPT_TLS_AUTH_MODE,
	             NNG_TLS_AUTH_MODE_REQUIRED)) != 0)) {
		sni_detail_set("the CA certificates in %.200s cannot be used",
		    o->tls_ca_file);
	}
	return rc;
}

int
sni_door_listen(sni_door *d, const char *url, const sni_listen_opts *o,
    char *bound, size_t size)
{
	nng_listener l;
	if (atomic_load(&d->nlisteners) >= 16) {
		return SYN_ENOSPC; /* a door has 15 listeners at most */
	}
	int rc = nng_listener_create(&l, d->sock, url);
	if (rc != 0) {
		return rc;
	}
	if ((rc = listener_options(l, url, o)) != 0) {
		nng_listener_close(l);
		return rc;
	}
	if ((rc = nng_listener_start(l, 0)) != 0) {
		nng_listener_close(l);
		return rc;
	}
	if (bound != NULL && (rc = bound_url(l, url, bound, size)) != 0) {
		nng_listener_close(l);
		return rc;
	}
	d->listeners[atomic_load(&d->nlisteners)] = l;
	atomic_fetch_add(&d->nlisteners, 1);
	return 0;
}

void
sni_door_ask(sni_door *d, const sni_door_asks *asks, sni_door_asks *before)
{
	if (before != NULL) {
		sni_admission_asked(&d->admission, &before->max_connections,
		    &before->max_per_host);
		before->reply_timeout = d->reply_timeout;
	}
	d->reply_timeout =
	    sni_reply_timeout_asked(d->reply_timeout, asks->reply_timeout);
	sni_admission_limit(
	    &d->admission, asks->max_connections, asks->max_per_host);
}

void
sni_door_unask(sni_door *d, const sni_door_asks *before)
{
	d->reply_timeout = before->reply_timeout;
	sni_admission_restore(
	    &d->admission, before->max_connections, before->max_per_host);
}

int
sni_door_open(sni_actor *a, const char *url, size_t max_message, sni_door **dp)
{
	if (forked_after_nng) {
		return SYN_EFORK;
	}
	atomic_store(&nng_used, true);
	sni_door *d = calloc(1, sizeof(*d));
	if (d == NULL ||
	    (d->slots = calloc(SLOTS_CAP, sizeof(*d->slots))) == NULL) {
		free(d);
		return SYN_ENOMEM;
	}
	d->actor            = a;
	d->limits           = a->limits;
	d->limits.allow_ptr = false;
	d->remote_limits    = d->limits;
	/* (OBJECT exts from a peer are refused as handles are renamed) */
	pthread_mutex_init(&d->slow.mu, NULL);
	pthread_cond_init(&d->slow.cv, NULL);
	pthread_mutex_init(&d->gone_mu, NULL);
	pthread_mutex_init(&d->unread_mu, NULL);
	sni_admission_init(&d->admission);
	int rc = nng_aio_alloc(&d->recheck, recheck_due, d);
	if (rc == 0) {
		rc = open_socket(d, url, max_message);
	}
	if (rc != 0) {
		sni_door_free(d);
		return rc;
	}
	for (int i = 0; rc == 0 && i < SLOTS_FIRST; i++) {
		rc = slot_open(d);
	}
	if (rc != 0) {
		sni_door_stop(d, NULL, NULL);
		sni_door_free(d);
		return rc;
	}
	*dp = d;
	return 0;
}

/* The loop: s holds a request now, counted for its pipe too (not when
 * no memory is left for that count: then its pipe's share is not kept). */
static void
busy_begin(sni_door *d, slot *s)
{
	d->busy++;
	s->pipe_busy = sni_count_add(&d->busy_of, s->pipe, true) == 0;
}

/* The loop: s holds its request no more. */
static void
busy_end(sni_door *d, slot *s)
{
	d->busy--;
	if (s->pipe_busy) {
		sni_count_add(&d->busy_of, s->pipe, false);
		s->pipe_busy = false;
	}
}

int
sni_door_park(void *sp, int kind)
{
	slot     *s = sp;
	sni_door *d = s->door;
	if (s->parked) {
		return 0;
	}
	if (d->parked_of[kind] == PARKED_MAX) {
		sni_detail_set("%d requests wait %s already", PARKED_MAX,
		    kind == SNI_PARK_POLL ? "for callbacks" : "for replies");
		return SYN_EBUSY;
	}
	s->parked = (int8_t) (kind + 1);
	busy_end(d, s);
	d->parked++;
	d->parked_of[kind]++;
	open_if_full(d);
	place_freed(d);
	return 0;
}

bool
sni_door_members_fit(const void *sp, uint32_t n)
{
	const sni_door *d = ((const slot *) sp)->door;
	return d->members + n <= SNI_DOOR_MEMBERS_MAX;
}

bool
sni_door_pipe_members_fit(const void *sp, uint32_t n)
{
	const slot *s = sp;
	return sni_count_of(&s->door->members_of, s->pipe) + n <=
	    PIPE_MEMBERS_MAX;
}

/*
 * The loop: whether s's request, a CALL or an OPEN that came while
 * SLOTS_MAX requests are handled, waits in the backlog (its message kept
 * in s, s parked) until one of them ends. A door with every slot busy
 * would read nothing more from anyone, not even the CANCELs that would
 * free them: so other requests (CANCEL, POLL, FETCH, ...) still go at
 * once, and when PARKED_MAX calls (or BACKLOG_UNITS_MAX) wait already,
 * or its pipe has its share of the backlog, the call is refused
 * (SYN_EBUSY, see sni_door_refusal) and the door reads on.
 */
static bool
hold_back(sni_door *d, slot *s)
{
	if (s->refuse != 0 ||
	    (d->busy < SLOTS_MAX &&
	        sni_count_of(&d->busy_of, s->pipe) < PIPE_SLOTS_MAX)) {
		return false; /* (every request but under load: nothing read) */
	}
	const void *body = nng_msg_body(s->msg);
	size_t      len  = nng_msg_len(s->msg);
	int         kind = sni_msg_kind(body, len);
	if (kind != SNI_MSG_CALL && kind != SNI_MSG_OPEN) {
		return false;
	}
	uint32_t units = (uint32_t) (1 + len / WAIT_UNIT);
	if (d->parked_of[PARK_BACKLOG] == PARKED_MAX ||
	    d->backlog_units + units > BACKLOG_UNITS_MAX) {
		s->refuse = SYN_EBUSY;
		return false;
	}
	s->call_id = 0;
	sni_msg_call_id(body, len, &s->call_id);
	if (sni_actor_cancelled_before(d->actor, s->pipe, s->call_id)) {
		return false; /* refused now: the ring may not keep it */
	}
	if (sni_count_of(&d->waiting_of, s->pipe) + units > PIPE_WAITING_MAX ||
	    sni_count_change(&d->waiting_of, s->pipe, (int32_t) units) != 0) {
		s->refuse     = SYN_EBUSY;
		s->refuse_why = REFUSE_SHARE;
		return false;
	}
	s->waiting_units = units;
	d->backlog_units += units;
	s->parked = PARK_BACKLOG + 1;
	d->parked++;
	d->parked_of[PARK_BACKLOG]++;
	s->next_backlog = NULL;
	if (d->backlog_tail != NULL) {
		d->backlog_tail->next_backlog = s;
	} else {
		d->backlog_head = s;
	}
	d->backlog_tail = s;
	open_if_full(d);
	return true;
}

/* The loop: s, out of the backlog, dispatched now (refused as cancelled
 * when cancelled is set: what it lent is given back). */
static void
start_held(sni_door *d, slot *s, bool cancelled)
{
	sni_actor *a   = d->actor;
	nng_msg   *msg = s->msg;
	s->msg         = NULL;
	s->parked      = 0;
	d->parked--;
	d->parked_of[PARK_BACKLOG]--;
	sni_count_change(&d->waiting_of, s->pipe, -(int32_t) s->waiting_units);
	d->backlog_units -= s->waiting_units;
	s->waiting_units = 0;
	busy_begin(d, s);
	if (cancelled || sni_door_pipe_gone(a, s->pipe)) {
		s->refuse = SYN_ECANCELED; /* (whatever its call id, 0 too) */
	} else if (unread_over(d, s->pipe)) { /* (it may have since) */
		s->refuse     = SYN_EBUSY;
		s->refuse_why = REFUSE_UNREAD;
	}
	dispatch(a, d, s, msg);
}

/* The loop: the backlog entry *pp (after prev, or the head) leaves it,
 * and is dispatched now (refused as cancelled when cancelled is set). */
static void
unlink_and_start(sni_door *d, slot **pp, slot *prev, bool cancelled)
{
	slot *s = *pp;
	*pp     = s->next_backlog;
	if (d->backlog_tail == s) {
		d->backlog_tail = prev;
	}
	start_held(d, s, cancelled);
}

void
sni_door_backlog_go(sni_actor *a)
{
	sni_door *d = a->door;
	if (d == NULL || d->backlog_going) {
		return; /* (one that ends meanwhile: the loop below goes on) */
	}
	d->backlog_going = true;
	slot **pp        = &d->backlog_head;
	slot  *prev      = NULL;
	while (*pp != NULL && d->busy < SLOTS_MAX && !atomic_load(&d->closed)) {
		if (sni_count_of(&d->busy_of, (*pp)->pipe) >= PIPE_SLOTS_MAX) {
			prev = *pp; /* its pipe has its share: others first */
			pp   = &prev->next_backlog;
			continue;
		}
		unlink_and_start(d, pp, prev, false);
	}
	d->backlog_going = false;
}

/* The loop: a place is free: the backlog goes once the loop is back on
 * its own stack and done with what it handles (a reply or a park comes in
 * the middle of a task's or a request's work: a call started there would
 * run inside it). */
static void
place_freed(sni_door *d)
{
	if (d->backlog_head != NULL) {
		d->actor->batch_retry = true;
	}
}

/* The loop: pipe went: its calls in the backlog are refused now (their
 * places are not kept until a place frees). */
static void
backlog_drop_pipe(sni_door *d, uint32_t pipe)
{
	bool was         = d->backlog_going;
	d->backlog_going = true; /* (no start while the list is walked) */
	slot **pp        = &d->backlog_head;
	slot  *prev      = NULL;
	while (*pp != NULL) {
		if ((*pp)->pipe != pipe) {
			prev = *pp;
			pp   = &prev->next_backlog;
			continue;
		}
		unlink_and_start(d, pp, prev, true);
	}
	d->backlog_going = was;
	place_freed(d);
}

bool
sni_door_backlog_cancel(sni_actor *a, uint32_t pipe, uint64_t call_id)
{
	sni_door *d    = a->door;
	slot    **pp   = d != NULL ? &d->backlog_head : NULL;
	slot     *prev = NULL;
	while (pp != NULL && *pp != NULL &&
	    ((*pp)->pipe != pipe || (*pp)->call_id != call_id)) {
		prev = *pp;
		pp   = &(*pp)->next_backlog;
	}
	if (pp == NULL || *pp == NULL || call_id == 0) {
		return false;
	}
	unlink_and_start(d, pp, prev, true);
	return true;
}

int
sni_door_refusal(const void *sp, const char **detail)
{
	const slot *s = sp;
	if (s->refuse == 0) {
		return 0; /* (*detail left alone) */
	}
	*detail = s->refuse != SYN_EBUSY ? "the call was cancelled"
	    : s->refuse_why == REFUSE_SHARE
	    ? "this connection has its share of calls waiting (768, or "
	      "48 MiB)"
	    : s->refuse_why == REFUSE_UNREAD ? UNREAD_TEXT
	                                     : "the server runs 1,024 calls, "
	                                       "and 1,024 more (or 64 MiB) "
	                                       "wait";
	return s->refuse;
}

void
sni_door_member_cancelled(void *member)
{
	((slot *) member)->refuse = SYN_ECANCELED;
}

/* The loop: s's request came on a refused pipe (how: its SNI_ADMIT_
 * reason): it is answered SYN_EBUSY, whatever it asks, not read. */
static void
answer_refused(sni_door *d, slot *s, int how)
{
	char     why[96];
	uint64_t id  = 0;
	nng_msg *msg = s->msg;
	s->msg       = NULL;
	sni_msg_call_id(nng_msg_body(msg), nng_msg_len(msg), &id);
	if (how == SNI_ADMIT_HOST_FULL) {
		snprintf(why, sizeof(why),
		    "the server has its %u connections from this host",
		    sni_admission_max_per_host(&d->admission));
	} else {
		snprintf(why, sizeof(why), "the server has its %u connections",
		    sni_admission_max(&d->admission));
	}
	busy_begin(d, s);
	sni_reply_error(
	    SNI_ORIGIN_DOOR, s, msg, id, SYN_EBUSY, why, d->actor->name);
}

/* Whether s holds a CALL or an OPEN: a call that makes a reply of any
 * size, which a pipe that leaves its replies unread may not start. */
static bool
starts_a_call(const slot *s)
{
	int kind = sni_msg_kind(nng_msg_body(s->msg), nng_msg_len(s->msg));
	return kind == SNI_MSG_CALL || kind == SNI_MSG_OPEN;
}

void
sni_door_handle(sni_actor *a, sni_node *n)
{
	slot     *s = (slot *) n;
	sni_door *d = s->door;
	learn_pipe(d, s, s->msg); /* once: the loop asks sni_origin_pipe */
	s->refuse     = 0;
	s->refuse_why = REFUSE_FULL;
	uintptr_t refused =
	    (uintptr_t) sni_ptrmap_get(&d->refused, pipe_key(s->pipe));
	if (refused != 0) {
		answer_refused(d, s, (int) refused);
		return;
	}
	if (unread_over(d, s->pipe) && starts_a_call(s)) {
		/* (refused as it is dispatched: what it lends is given
		 * back, as for any refused call) */
		s->refuse     = SYN_EBUSY;
		s->refuse_why = REFUSE_UNREAD;
	}
	if (hold_back(d, s)) {
		return;
	}
	nng_msg *msg = s->msg;
	s->msg       = NULL;
	busy_begin(d, s);
	open_if_full(d);
	dispatch(a, d, s, msg);
}

void *
sni_door_member(void *sp, sni_batch *b)
{
	const slot *s = sp;
	slot       *m = calloc(1, sizeof(*m));
	if (m != NULL &&
	    sni_count_add(&s->door->members_of, s->pipe, true) != 0) {
		free(m);
		m = NULL;
	}
	if (m != NULL) {
		m->door   = s->door;
		m->pipe   = s->pipe;
		m->remote = s->remote;
		m->batch  = b;
		s->door->members++;
	}
	return m;
}

void
sni_door_member_free(void *member)
{
	slot *m = member;
	if (m != NULL) {
		m->door->members--;
		sni_count_add(&m->door->members_of, m->pipe, false);
		free(m);
	}
}

/*
 * Sends msg through s's context. s->send has no callback: a callback runs
 * on an nng thread, woken for it, and on two CPUs that wake-up competed
 * with the reply's own delivery to its caller (measured: the door's round
 * trip took 1.8 times a raw nng REQ/REP one; 1.0 without). When the pipe
 * is free, rep0 hands the message on and clears the aio's message before
 * nng_ctx_send returns: the send has ended, and the slot receives again
 * here. Otherwise (the pipe is still sending an earlier reply, or the
 * send failed) the message stays in the aio until nng finishes with it,
 * and the slow replies' thread waits for that. (nng may clear the message
 * on another thread while this one reads it: a pointer either way; if
 * this one reads NULL, the reply was taken, and nng_aio_wait returns once
 * nng has finished the aio.)
 *
 * That thread waits for one reply at a time, so a pipe whose replies
 * queue up (a peer that pipelines, or one that stopped reading, whose
 * replies wait up to the reply timeout) must not send many that way: from
 * such a reply on until that thread has seen it end, the pipe's replies
 * go with s->send_cb, whose callback ends each on an nng thread.
 */
static void
send_reply(slot *s, nng_msg *msg)
{
	sni_door *d = s->door;
	bool      queues =
	    sni_ptrmap_get(&d->queued_pipes, pipe_key(s->pipe)) != NULL;
	nng_aio *aio = queues ? s->send_cb : s->send;
	size_t   len = nng_msg_len(msg) + nng_msg_header_len(msg);
	atomic_fetch_add(&d->sending, 1);
	s->queued_ns = sni_now_ns();
	atomic_store(&s->in_nng, true);
	if (queues) {
		unread_add(d, s, len); /* (before send_done can run) */
	}
	/* A peer that stops reading must not keep the slot for good, by
	 * address in this process or from another. */
	nng_aio_set_timeout(aio, reply_timeout(d));
	nng_aio_set_msg(aio, msg);
	nng_ctx_send(s->ctx, aio);
	if (queues) {
		open_if_full(d); /* (this slot is not receiving meanwhile) */
		return;          /* send_done ends it */
	}
	if (nng_aio_get_msg(aio) == NULL) {
		nng_aio_wait(aio);
		send_finished(s, aio);
		return;
	}
	unread_add(d, s, len); /* (the slow replies' thread ends it) */
	/* (out of memory, the pipe just stays unmarked) */
	sni_ptrmap_put(&d->queued_pipes, pipe_key(s->pipe), (void *) 1);
	open_if_full(d);
	if (!slow_reply(d, s)) { /* no thread: wait here, bounded */
		nng_aio_wait(aio);
		sni_ptrmap_del(&d->queued_pipes, pipe_key(s->pipe));
		send_finished(s, aio);
	}
}

void
sni_door_reply(void *sp, nng_msg *msg)
{
	slot *s = sp;
	if (s->batch != NULL) { /* its batch delivers it */
		sni_batch_reply(s->batch, s, msg);
		return;
	}
	if (s->parked) {
		s->door->parked_of[s->parked - 1]--;
		s->parked = 0;
		s->door->parked--;
	} else {
		busy_end(s->door, s);
		place_freed(s->door);
	}
	if (atomic_load(&s->door->closed)) {
		if (msg != NULL) {
			nng_msg_free(msg);
		}
		return;
	}
	if (msg == NULL && (msg = sni_reply_oom(0)) == NULL) {
		/* Nothing to answer with: the pipe closes, and its caller
		 * gets SYN_ECONNRESET instead of waiting for ever. */
		nng_pipe_close((nng_pipe) { .id = s->pipe });
		nng_ctx_recv(s->ctx, s->recv);
		return;
	}
	send_reply(s, msg);
}

/*
 * Stops receiving: every slot's aios stop (their callbacks see closed and
 * start nothing more), then the contexts and the socket close, once. In
 * this order: nng 1.5.2's close can hang on contexts with operations in
 * flight.
 */
static void
door_close(sni_door *d)
{
	if (d == NULL || atomic_exchange(&d->closed, true)) {
		return;
	}
	/* The peers go first (nng 1.5.2's close can hang on contexts
	 * whose peer is connected), for two seconds at most. */
	for (int i = 0; i < atomic_load(&d->nlisteners); i++) {
		nng_listener_close(d->listeners[i]);
	}
	for (int i = 0; i < 2000 && atomic_load(&d->pipes) > 0; i++) {
		usleep(1000);
	}
	for (uint32_t i = 0; i < d->nslots; i++) {
		nng_aio_stop(d->slots[i]->recv);
		nng_aio_stop(d->slots[i]->send);
		nng_aio_stop(d->slots[i]->send_cb);
	}
	if (d->recheck != NULL) {
		nng_aio_stop(d->recheck);
	}
	slow_replies_stop(&d->slow);
	for (uint32_t i = 0; i < d->nslots; i++) {
		nng_ctx_close(d->slots[i]->ctx);
	}
	/* Abandoned, the door stays allocated for good: the actor still
	 * drains and frees after this, so the closing thread must not. */
	d->abandoned = !sni_close_bounded(d->sock, 5000, NULL, d);
}

void
sni_door_stop(sni_door *d, bool (*meanwhile)(void *), void *arg)
{
	if (d == NULL) {
		return;
	}
	/* Let the last replies leave, and be fetched (for a second at
	 * most), then close. */
	bool waiting = meanwhile != NULL && meanwhile(arg);
	for (int i = 0; i < 1000 && (atomic_load(&d->sending) > 0 || waiting);
	     i++) {
		usleep(1000);
		waiting = meanwhile != NULL && meanwhile(arg);
	}
	door_close(d);
}

static void
door_free_now(sni_door *d)
{
	for (uint32_t i = 0; i < d->nslots; i++) {
		slot_free(d->slots[i]);
	}
	free(d->slots);
	sni_ptrmap_fini(&d->queued_pipes);
	sni_ptrmap_fini(&d->busy_of);
	sni_ptrmap_fini(&d->members_of);
	sni_ptrmap_fini(&d->waiting_of);
	size_t      i = 0;
	pipe_event *e;
	while ((e = sni_ptrmap_next(&d->gone, &i)) != NULL) {
		if (e->expiry != NULL) {
			nng_aio_free(e->expiry);
		}
		free(e); /* pipes that never went: the socket closed */
	}
	sni_ptrmap_fini(&d->gone);
	sni_ptrmap_fini(&d->refused);
	sni_ptrmap_fini(&d->unread_of);
	pthread_mutex_destroy(&d->unread_mu);
	sni_admission_fini(&d->admission);
	pthread_mutex_destroy(&d->gone_mu);
	if (d->recheck != NULL) {
		nng_aio_free(d->recheck);
	}
	pthread_cond_destroy(&d->slow.cv);
	pthread_mutex_destroy(&d->slow.mu);
	free(d);
}

void
sni_door_free(sni_door *d)
{
	if (d != NULL && !d->abandoned) { /* else its closing thread frees it */
		door_free_now(d);
	}
}
