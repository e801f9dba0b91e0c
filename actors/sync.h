/*
 * actors/sync.h: what the actors layer keeps per synchronizer, and the
 * parts that reach into it (functions, classes, objects, translation).
 * Everything here runs on the synchronizer's thread.
 */
#ifndef SNI_SYNC_H
#define SNI_SYNC_H

#include <stdint.h>

#include <synchronicity/class.h>

#include "core/actor.h"
#include "core/ptrmap.h"
#include "core/task.h"
#include "functab.h"

typedef struct sni_class  sni_class;
typedef struct sni_object sni_object;
typedef struct sni_peer   sni_peer;

typedef struct sni_sync {
	sni_functab     funcs;
	const sni_func *last;    /* the function resolved last: calls repeat */
	sni_class     **classes; /* few: searched in order */
	uint32_t        nclasses;
	sni_ptrmap      objects; /* object id + 1 -> sni_object */
	sni_ptrmap      selves;  /* self -> sni_object */
	uint64_t        next_object;
	bool            objects_ending; /* destroy runs their fini */
	char          **exports;        /* names other processes may call */
	uint32_t        nexports;
	sni_ptrmap      peers;     /* pipe + 2 -> sni_peer: other processes */
	uint32_t peer_objects_max; /* asked by syn_serve (0: nothing yet) */
	/* The objects other processes hold (each peer's entries), by host
	 * (the door's host key of their pipe) and in all. */
	sni_ptrmap host_objects;
	uint32_t   peer_objects;
} sni_sync;

/* ---- classes (class.c) ---- */

/* A method of a registered class. */
typedef struct sni_method {
	char         *name;
	char         *qualname; /* "Class.method", for error paths */
	uint32_t      len;
	int           kind;
	unsigned      flags;
	syn_method_fn fn;
} sni_method;

struct sni_class {
	char    *name;
	uint32_t len;
	size_t   size;
	int (*init)(syn_task *, void *, const syn_value *, size_t);
	void (*fini)(void *);
	sni_method *methods;
	uint32_t    nmethods;
	unsigned    flags; /* syn_class_flags */
};

/* The class named name[0..len-1] on s, or NULL. */
const sni_class *sni_class_find(
    const sni_sync *s, const char *name, size_t len);

/* The method named name[0..len-1] of c, or NULL. */
const sni_method *sni_class_method(
    const sni_class *c, const char *name, size_t len);

/* Frees s's classes. */
void sni_classes_fini(sni_sync *s);

/* ---- objects (object.c) ---- */

/*
 * Resolves a call on a target handle: a method of one of s's objects, or
 * (object id 0) the constructor of a class. Pins the object for the call.
 */
int sni_object_resolve(sni_sync *s, const sni_call_view *v, sni_callable *out);

/*
 * Resolves a call of a function name that no function has: a static
 * method named "Class.method", or SYN_ENOENT.
 */
int sni_static_resolve(sni_sync *s, const sni_call_view *v, sni_callable *out);

/* The object whose instance is self, or NULL when s has none such. */
sni_object *sni_object_of(sni_sync *s, const void *self);

/* The object of id, or NULL (released, or never made). */
sni_object *sni_object_find(sni_sync *s, uint64_t id);

/* The object's handle, its self, and its counts. */
const syn_handle *sni_object_handle_of(const sni_object *o);
void             *sni_object_self(sni_object *o);
void              sni_object_pin(sni_object *o);
void              sni_object_unpin(sni_sync *s, sni_object *o);
void              sni_object_export(sni_object *o);
void              sni_object_unexport(sni_sync *s, sni_object *o, uint64_t n);

/*
 * The object's turn, for the calls of a blocking class: t waits until no
 * other call of o runs, in arrival order. 0: t has the turn, and gives it
 * with sni_object_give_turn(); SYN_ECANCELED: t was cancelled first.
 */
int  sni_object_take_turn(sni_task *t, sni_object *o);
void sni_object_give_turn(sni_object *o);

/* Drops every object of s (at the end of its loop), running their fini. */
void sni_objects_fini(sni_sync *s);

/* ---- blocking classes (blocking.c) ---- */

/*
 * The implementation of every method of a blocking class: runs the
 * method whose sni_method is t's userdata on the pool, in its object's
 * turn.
 */
int sni_blocking_method(syn_task *t, void *self, const syn_value *args,
    size_t nargs, syn_value *ret);

/* Runs a blocking class's init on the pool; t waits. */
int sni_blocking_init(syn_task *t, const sni_class *c, void *self,
    const syn_value *args, size_t nargs);

/* ---- serving (serve.c) ---- */

/*
 * Whether a call from another process may run: its function (or
 * generator, or class with its static methods and its constructor) is
 * exported, or its target is an object that the calling peer holds.
 * Sets the detail when not.
 */
bool sni_exported(sni_sync *s, const sni_call_view *v);

/* Frees s's export list. */
void sni_exports_fini(sni_sync *s);

/* ---- peers: other processes' references (peer.c) ---- */

/* How many objects one peer may hold at most, by default; the peers of
 * one host may hold 4 times that, and all peers together 16 times. */
#define SNI_PEER_OBJECTS_MAX 65536

/*
 * Makes room to count o as held by the process behind pipe, before a
 * reply that hands it over is built, so that sni_peer_grant cannot run
 * out of memory once the reply is sent: 0, SYN_ENOMEM, or SYN_EBUSY (with
 * a detail) when o is new to that peer and it holds (or has room made
 * for) s's most objects already (SNI_PEER_OBJECTS_MAX, or what syn_serve
 * asked). The room, held by nobody until granted, goes with the peer.
 */
int sni_peer_reserve(sni_sync *s, uint32_t pipe, sni_object *o);

/*
 * o goes to the process behind pipe in a reply: one more reference
 * handed out, held by that peer (not bounded: reserve first).
 * SYN_ENOMEM (only when not reserved), or
 * SYN_ECONNRESET when the pipe closed already (nothing is counted then).
 */
int sni_peer_grant(sni_sync *s, uint32_t pipe, sni_object *o);

/* A reply that reserved room for o (sni_peer_reserve) will not be sent:
 * the room goes (and o's entry, when the peer holds none of it). */
void sni_peer_unreserve(sni_sync *s, uint32_t pipe, sni_object *o);

/* Whether the peer behind pipe holds a reference to object. */
bool sni_peer_holds(sni_sync *s, uint32_t pipe, uint64_t object);

/* The peer gives back count references to object (at most what it
 * holds: the rest is ignored). */
void sni_peer_release(
    sni_sync *s, uint32_t pipe, uint64_t object, uint64_t count);

/* pipe closed: every reference its peer held goes back. */
void sni_peer_gone(sni_sync *s, uint32_t pipe);

/* At destroy: frees the tables (the objects go anyway). */
void sni_peers_fini(sni_sync *s);

/* ---- translation (translate.c) ---- */

/* The actor ops: see core/actor.h. */
int  sni_translate_task_begin(void *arg, sni_task *t);
int  sni_translate_out(void *arg, sni_task *t, const syn_value *v);
void sni_translate_sent(void *arg, sni_task *t, const syn_value *v);
void sni_translate_unsent(void *arg, sni_task *t, const syn_value *v);
void sni_translate_task_end(void *arg, sni_task *t);
int  sni_translate_value_in(void *arg, sni_task *t, syn_value *v);

/*
 * Calls fn(value, ctx) on each value of the given type in v, looking into
 * lists and maps (keys too), until fn returns non-zero; returns that, or
 * SYN_EINVAL (detail set) for a list or map without items or nested too
 * deeply. Any thread.
 */
int sni_translate_each(
    syn_value *v, int type, int (*fn)(syn_value *, void *), void *ctx);

/* Records that t holds o (pinned already) until it ends; without
 * memory, o is unpinned (dropped, if nothing else holds it) and
 * SYN_ENOMEM raised on t. */
int sni_translate_hold_object(sni_task *t, sni_object *o);

/* Records that t holds one reference to p until it ends (released
 * there); SYN_ENOMEM, and nothing recorded, without memory. */
int sni_translate_hold_proxy(sni_task *t, syn_proxy *p);

/*
 * A copy of a value that must outlive the value it was copied from: its
 * proxies, with a reference each, in *held (NULL for none).
 */
int sni_translate_hold_copy(const syn_value *v, void **held);

/*
 * syn_object_new's arguments as init sees them from syn_new(): checked
 * and copied into *copy (the caller finishes it after init), this
 * synchronizer's proxies and handles made its objects (pinned for t),
 * other handles proxies (held for t). Task t's thread. On failure the
 * error is raised on t and *copy holds nothing.
 */
int sni_translate_local_args(
    sni_task *t, const syn_value *args, size_t nargs, syn_result *copy);

/* Items left unread in a batch: their references go back. */
void sni_translate_drop_items(sni_reader *items, uint32_t count);

/* Installs the reply translator for futures (once per process). */
void sni_translate_install(void);

/*
 * Before a call leaves: checks that every OBJECT value among args is an
 * object of this task's synchronizer (SYN_EINVAL otherwise, and outside a
 * task); *seen tells whether there are any. Once the call is encoded,
 * commit counts them as references handed out with it.
 */
int  sni_translate_call_check(const syn_value *args, size_t nargs, bool *seen);
void sni_translate_call_commit(const syn_value *args, size_t nargs);

/*
 * Before a call leaves for another process (the synchronizer remote on
 * this side): no OBJECT value may go (SYN_ENOTSUP: pass a proxy), and
 * every PROXY must be one of remote's, or of a synchronizer of this
 * process (lent to the server once encoded: sni_translate_remote_lend). The
 * proxies, and target's unless it is a constructor's, are held in *held (added
 * to what it holds already; an sni_held, NULL for none) until the call is
 * answered: a RELEASE of them cannot overtake it. On failure nothing is added,
 * with a detail. Any thread.
 */
int sni_translate_remote_check(uint32_t remote, const syn_handle *target,
    const syn_value *args, size_t nargs, void **held);

/*
 * Once a call to remote actor a is encoded, before it goes: every proxy
 * among args of a synchronizer of this process is lent to a's server (a
 * reference held until the server gives it back, or the connection
 * goes). 0, or the code of the first that could not be (SYN_ENOMEM,
 * SYN_ECLOSED: the connection closed): then none is lent and the call
 * must not go. Any thread.
 */
int sni_translate_remote_lend(
    sni_actor *a, const syn_value *args, size_t nargs);

/* Before a call to an object of a client of this process's server (a
 * back actor): only plain values may go (SYN_ENOTSUP). */
int sni_translate_plain_check(const syn_value *args, size_t nargs);

/* The actor ops: see core/actor.h. */
void sni_translate_discard(void *arg, const sni_call_view *v);
void sni_translate_value_drop(void *arg, const syn_value *v);

/* An OPEN that is never sent: the references its arguments carry go back
 * to their synchronizers. Any thread. */
void sni_translate_drop_open(nng_msg *m);

#endif /* SNI_SYNC_H */
