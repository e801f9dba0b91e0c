/*
 * actors/peer.c: what each process connected to a synchronizer holds.
 *
 * An object handed to another process is counted twice: as a reference
 * handed out (the object's exports, as for any proxy), and in the table
 * of the pipe it went over. A peer can then call only objects it was
 * handed, give back only what it holds, and when its pipe closes (the
 * process died, the connection broke) what it held is let go at once.
 */
#include <stdlib.h>

#include "core/door.h"
#include "core/errors.h"
#include "sync.h"

/* One object a peer holds, and how many references; reserved: replies
 * being built that will hand it over (see sni_peer_reserve). */
typedef struct peer_ref {
	uint64_t object;
	uint64_t count;
	uint64_t reserved;
} peer_ref;

struct sni_peer {
	uint32_t   pipe;
	uint32_t   host; /* the door's host key of its pipe, 0: none */
	sni_ptrmap refs; /* object id + 1 -> peer_ref */
};

/* Why a peer may not hold one more object. */
enum { HOLDS_PEER = 1, HOLDS_HOST, HOLDS_ALL };

static const void *
pipe_key(uint32_t pipe)
{
	return (const void *) ((uintptr_t) pipe + 2);
}

static const void *
object_key(uint64_t object)
{
	return (const void *) (uintptr_t) (object + 1); /* ids are >= 2 */
}

static sni_peer *
peer_find(sni_sync *s, uint32_t pipe)
{
	return sni_ptrmap_get(&s->peers, pipe_key(pipe));
}

static sni_peer *
peer_get(sni_sync *s, uint32_t pipe)
{
	sni_peer *p = peer_find(s, pipe);
	if (p == NULL && (p = calloc(1, sizeof(*p))) != NULL) {
		sni_actor *a = sni_actor_self();
		p->pipe      = pipe;
		p->host      = a != NULL && a->door != NULL
		         ? sni_door_pipe_host(a->door, pipe)
		         : 0;
		if (sni_ptrmap_put(&s->peers, pipe_key(pipe), p) != 0) {
			free(p);
			p = NULL;
		}
	}
	return p;
}

/* The most objects one peer of s may hold. */
static uint32_t
objects_max(const sni_sync *s)
{
	return s->peer_objects_max != 0 ? s->peer_objects_max
	                                : SNI_PEER_OBJECTS_MAX;
}

/* Why p may not hold one more object (HOLDS_...), or 0. */
static int
holds_most(const sni_sync *s, const sni_peer *p)
{
	uint32_t max = objects_max(s);
	if (p->refs.len >= max) {
		return HOLDS_PEER;
	}
	if (p->host != 0 &&
	    sni_count_of(&s->host_objects, p->host) >= 4 * (uint64_t) max) {
		return HOLDS_HOST;
	}
	return s->peer_objects >= 16 * (uint64_t) max ? HOLDS_ALL : 0;
}

/* p's entry r is made (counted for its host and in all: 0) or goes. */
static int
entry_count(sni_sync *s, const sni_peer *p, bool more)
{
	if (p->host != 0 &&
	    sni_count_add(&s->host_objects, p->host, more) != 0) {
		return SYN_ENOMEM;
	}
	s->peer_objects += more ? 1 : (uint32_t) -1;
	return 0;
}

/* p's entry r goes: freed, and uncounted. */
static void
entry_drop(sni_sync *s, sni_peer *p, peer_ref *r)
{
	sni_ptrmap_del(&p->refs, object_key(r->object));
	entry_count(s, p, false);
	free(r);
}

/* pipe's count of o (0 when new), or NULL: no memory (*full 0), or
 * (bounded) p, its host or all peers hold their most (*full: why). */
static peer_ref *
ref_get(sni_sync *s, uint32_t pipe, sni_object *o, bool bounded, int *full)
{
	uint64_t  id = sni_object_handle_of(o)->object;
	sni_peer *p  = peer_get(s, pipe);
	peer_ref *r =
	    p != NULL ? sni_ptrmap_get(&p->refs, object_key(id)) : NULL;
	if (p != NULL && r == NULL && bounded &&
	    (*full = holds_most(s, p)) != 0) {
		return NULL;
	}
	if (p != NULL && r == NULL && (r = calloc(1, sizeof(*r))) != NULL) {
		r->object = id;
		if (entry_count(s, p, true) != 0) {
			free(r);
			r = NULL;
		} else if (sni_ptrmap_put(&p->refs, object_key(id), r) != 0) {
			entry_count(s, p, false);
			free(r);
			r = NULL;
		}
	}
	return r;
}

int
sni_peer_reserve(sni_sync *s, uint32_t pipe, sni_object *o)
{
	if (sni_door_pipe_gone(sni_actor_self(), pipe)) {
		return 0; /* (the reply goes nowhere: nothing to count) */
	}
	int       full = 0;
	peer_ref *r    = ref_get(s, pipe, o, true, &full);
	if (r != NULL) {
		r->reserved++;
		return 0;
	}
	if (full != 0) {
		uint32_t max = objects_max(s);
		if (full == HOLDS_PEER) {
			sni_detail_set("this connection holds %u objects, its "
			               "most: release some first",
			    max);
		} else if (full == HOLDS_HOST) {
			sni_detail_set(
			    "the connections from this host hold %llu "
			    "objects, their most: release some first",
			    4 * (unsigned long long) max);
		} else {
			sni_detail_set("other processes hold %llu objects of "
			               "this synchronizer, its most",
			    16 * (unsigned long long) max);
		}
		return SYN_EBUSY;
	}
	sni_detail_set("no memory to count an object handed to another "
	               "process");
	return SYN_ENOMEM;
}

int
sni_peer_grant(sni_sync *s, uint32_t pipe, sni_object *o)
{
	if (sni_door_pipe_gone(sni_actor_self(), pipe)) {
		return SYN_ECONNRESET; /* nobody there to give it back */
	}
	int       full = 0;
	peer_ref *r    = ref_get(s, pipe, o, false, &full);
	if (r == NULL) {
		return SYN_ENOMEM;
	}
	if (r->reserved > 0) {
		r->reserved--;
	}
	r->count++;
	sni_object_export(o);
	return 0;
}

void
sni_peer_unreserve(sni_sync *s, uint32_t pipe, sni_object *o)
{
	uint64_t  id = sni_object_handle_of(o)->object;
	sni_peer *p  = peer_find(s, pipe);
	peer_ref *r =
	    p != NULL ? sni_ptrmap_get(&p->refs, object_key(id)) : NULL;
	if (r != NULL && r->reserved > 0 && --r->reserved == 0 &&
	    r->count == 0) {
		entry_drop(s, p, r);
	}
}

bool
sni_peer_holds(sni_sync *s, uint32_t pipe, uint64_t object)
{
	sni_peer *p = peer_find(s, pipe);
	peer_ref *r =
	    p != NULL ? sni_ptrmap_get(&p->refs, object_key(object)) : NULL;
	return r != NULL && r->count > 0; /* (0: reserved, not granted) */
}

void
sni_peer_release(sni_sync *s, uint32_t pipe, uint64_t object, uint64_t count)
{
	sni_peer *p = peer_find(s, pipe);
	peer_ref *r =
	    p != NULL ? sni_ptrmap_get(&p->refs, object_key(object)) : NULL;
	if (r == NULL || r->count == 0) {
		return; /* nothing of it held: a stale or forged release */
	}
	uint64_t n = count < r->count ? count : r->count;
	if ((r->count -= n) == 0 && r->reserved == 0) {
		entry_drop(s, p, r);
	}
	sni_object *o = sni_object_find(s, object);
	if (o != NULL) {
		sni_object_unexport(s, o, n);
	}
}

/* Frees p and lets go of everything it held. */
static void
peer_drop(sni_sync *s, sni_peer *p)
{
	size_t    i = 0;
	peer_ref *r;
	while ((r = sni_ptrmap_next(&p->refs, &i)) != NULL) {
		sni_object *o = r->count > 0 ? sni_object_find(s, r->object)
		                             : NULL; /* (0: only reserved) */
		if (o != NULL) {
			sni_object_unexport(s, o, r->count);
		}
		entry_count(s, p, false);
		free(r);
	}
	sni_ptrmap_fini(&p->refs);
	free(p);
}

void
sni_peer_gone(sni_sync *s, uint32_t pipe)
{
	sni_peer *p = sni_ptrmap_del(&s->peers, pipe_key(pipe));
	if (p != NULL) {
		peer_drop(s, p);
	}
}

void
sni_peers_fini(sni_sync *s)
{
	size_t    i = 0;
	sni_peer *p;
	while ((p = sni_ptrmap_next(&s->peers, &i)) != NULL) {
		size_t    k = 0;
		peer_ref *r;
		while ((r = sni_ptrmap_next(&p->refs, &k)) != NULL) {
			free(r);
		}
		sni_ptrmap_fini(&p->refs);
		free(p);
	}
	sni_ptrmap_fini(&s->peers);
	sni_ptrmap_fini(&s->host_objects);
}
