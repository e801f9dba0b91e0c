/*
 * actors/translate.c: objects and proxies at the message boundary.
 *
 * Out of a synchronizer, an object (an OBJECT value) travels as a handle
 * that carries a reference (counted as handed out); a proxy travels as a
 * plain handle, but in a result or item for a caller of this process as
 * one that carries a reference to the proxy itself. Into a task, a handle of
 * the task's own synchronizer becomes the object (pinned for the task), any
 * other a proxy (held for the task). Into a caller, every handle becomes a
 * proxy, held by the result. Translation looks into lists and maps, to any
 * depth the decoder accepted.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "core/errors.h"
#include "core/future.h"
#include "core/remote.h"
#include "proto/proto.h"
#include "proxy.h"
#include "sync.h"

/*
 * What a task or a decoded value holds: proxies, and (for tasks) pinned
 * objects, as tagged pointers (bit 0 set: an object).
 */
typedef struct holds {
	sni_held   base;
	uint32_t   n;
	uint32_t   cap;
	uintptr_t *items;
} holds;

static void
holds_free(holds *h)
{
	if (h != NULL) {
		free(h->items);
		free(h);
	}
}

/* Releases the proxies of a decoded value (caller side). */
static void
value_holds_release(sni_held *base)
{
	holds *h = (holds *) base;
	for (uint32_t i = 0; i < h->n; i++) {
		syn_proxy_release((syn_proxy *) h->items[i]);
	}
	holds_free(h);
}

static int
holds_add(holds **hp, uintptr_t item)
{
	holds *h = *hp;
	if (h == NULL) {
		if ((h = calloc(1, sizeof(*h))) == NULL) {
			return SYN_ENOMEM;
		}
		h->base.release = value_holds_release;
		*hp             = h;
	}
	if (h->n == h->cap) {
		uint32_t   cap   = h->cap ? h->cap * 2 : 4;
		uintptr_t *items = realloc(h->items, cap * sizeof(*items));
		if (items == NULL) {
			return SYN_ENOMEM;
		}
		h->items = items;
		h->cap   = cap;
	}
	h->items[h->n++] = item;
	return 0;
}

/* The proxy of a handle value, with a reference for whoever makes it:
 * the one the value carried (a task of this process took it), or one
 * more. */
static syn_proxy *
proxy_of(const syn_value *v)
{
	syn_proxy *p = v->len == SNI_HANDLE_CARRIED
	    ? sni_proxy_carried(v->as.handle)
	    : NULL;
	return p != NULL
	    ? p
	    : sni_proxy_get(v->as.handle, v->len == SNI_HANDLE_OWNED);
}

/* The reference a handle value carried to its proxy goes. */
static void
drop_carried(const syn_value *v)
{
	if (v->len == SNI_HANDLE_CARRIED) {
		syn_proxy_release(sni_proxy_carried(v->as.handle));
	}
}

/* v becomes a proxy of its handle, held in *hp. */
static int
to_proxy(syn_value *v, holds **hp)
{
	syn_proxy *p = proxy_of(v);
	if (p == NULL) {
		return SYN_ENOMEM;
	}
	if (holds_add(hp, (uintptr_t) p) != 0) {
		syn_proxy_release(p); /* with the reference v carried, if any */
		v->len = 0; /* (so that nothing gives it back again) */
		return SYN_ENOMEM;
	}
	v->type     = SYN_TYPE_PROXY;
	v->len      = 0;
	v->as.proxy = p;
	return 0;
}

/*
 * Calls fn(value, ctx) on each value of the given type in v, looking into
 * lists and maps (keys too), until fn returns non-zero; returns that.
 * Every walk of translation is one of these.
 */
static int
each_at(syn_value *v, int type, int (*fn)(syn_value *, void *), void *ctx,
    uint32_t depth)
{
	int rc = 0;
	if (v->type == type) {
		return fn(v, ctx);
	}
	if ((v->type != SYN_TYPE_LIST && v->type != SYN_TYPE_MAP) ||
	    v->len == 0) {
		return 0;
	}
	/* (what the encoder would refuse later must not crash the walk
	 * first: no items, or a value too deep, or a cycle) */
	if (v->type == SYN_TYPE_LIST ? v->as.list == NULL : v->as.map == NULL) {
		sni_detail_set("a %s of %u items has no items",
		    v->type == SYN_TYPE_LIST ? "list" : "map", v->len);
		return SYN_EINVAL;
	}
	if (depth >= SNI_MAX_DEPTH) {
		sni_detail_set("value nested too deeply");
		return SYN_EINVAL;
	}
	for (uint32_t i = 0; v->type == SYN_TYPE_LIST && i < v->len && rc == 0;
	     i++) {
		rc = each_at(
		    (syn_value *) &v->as.list[i], type, fn, ctx, depth + 1);
	}
	for (uint32_t i = 0; v->type == SYN_TYPE_MAP && i < v->len && rc == 0;
	     i++) {
		syn_pair *p = (syn_pair *) &v->as.map[i];
		if ((rc = each_at(&p->key, type, fn, ctx, depth + 1)) == 0) {
			rc = each_at(&p->value, type, fn, ctx, depth + 1);
		}
	}
	return rc;
}

static int
each(syn_value *v, int type, int (*fn)(syn_value *, void *), void *ctx)
{
	return each_at(v, type, fn, ctx, 0);
}

int
sni_translate_each(
    syn_value *v, int type, int (*fn)(syn_value *, void *), void *ctx)
{
	return each(v, type, fn, ctx);
}

/* ---- into a caller ---------------------------------------------------- */

static void give_back_by_message(const syn_value *v);

static int
handle_to_proxy(syn_value *v, void *hp)
{
	return to_proxy(v, hp);
}

/* The futures' translator: see sni_future_set_translator. */
static int
translate_reply(syn_value *v, void **held)
{
	holds *h = NULL;
	if (sni_value_plain(v)) {
		*held = NULL;
		return 0;
	}
	int rc = each(v, SYN_TYPE_HANDLE, handle_to_proxy, &h);
	if (rc != 0) { /* out of memory: nothing is kept, all goes back */
		give_back_by_message(v);
		if (h != NULL) {
			value_holds_release(&h->base);
			h = NULL;
		}
	}
	*held = h;
	return rc;
}

static pthread_once_t install_once = PTHREAD_ONCE_INIT;

/* Replies and items of this process's own actors, read to be dropped. */
static const sni_limits drop_limits = { SNI_MAX_DEPTH, SIZE_MAX, true, false,
	false, false };

/* The futures' dropper: a reply nobody reads gives its references back. */
static void
drop_reply(const void *body, size_t len)
{
	int              kind = sni_msg_kind(body, len);
	syn_value        v;
	void            *mem;
	uint64_t         id;
	int              code;
	const syn_error *err;
	if (kind == SNI_MSG_RETURN) {
		if (sni_msg_decode_reply(body, len, &drop_limits, &id, &code,
		        &v, &err, &mem) == 0) {
			give_back_by_message(&v);
			free(mem);
		}
	} else if (kind == SNI_MSG_ITEMS) {
		sni_items_view iv;
		if (sni_msg_decode_items(body, len, &drop_limits, &iv, &mem) ==
		    0) {
			free(mem);
			sni_translate_drop_items(&iv.items, iv.count);
		}
	}
}

/* Calls fn(handle, ctx) on each handle of the next count items at
 * *items, as each (decoding them one by one; a broken one ends it). */
static void
each_item_handle(sni_reader *items, uint32_t count,
    int (*fn)(syn_value *, void *), void    *ctx)
{
	for (uint32_t i = 0; i < count; i++) {
		syn_value v;
		void     *mem;
		if (sni_decode_value_next(items, &drop_limits, &v, &mem) != 0) {
			return;
		}
		each(&v, SYN_TYPE_HANDLE, fn, ctx);
		free(mem);
	}
}

static int release_one(syn_value *v, void *unused);

void
sni_translate_drop_items(sni_reader *items, uint32_t count)
{
	each_item_handle(items, count, release_one, NULL);
}

/* An object's reference granted to a peer, given back (arg: the
 * ungrant_ctx). */
typedef struct ungrant_ctx {
	sni_sync *s;
	uint32_t  pipe;
} ungrant_ctx;

static int
ungrant_one(syn_value *v, void *arg)
{
	ungrant_ctx *c = arg;
	if (v->len == SNI_HANDLE_OWNED &&
	    v->as.handle->owner == sni_actor_self()->id) {
		sni_peer_release(c->s, c->pipe, v->as.handle->object, 1);
	}
	return 0;
}

/* The futures' items dropper: items of a batch never sent, on the
 * synchronizer's thread that made them. For a peer, the objects' grants
 * to it go (given back by RELEASE, as to a caller of this process, they
 * stayed counted for the peer, and its connection's end gave them back
 * a second time). */
static void
drop_raw_items(const void *items, size_t len, uint32_t count, uint32_t pipe)
{
	sni_reader  r;
	ungrant_ctx c = { sni_actor_self()->ops_arg, pipe };
	sni_reader_init(&r, items, len);
	each_item_handle(&r, count, pipe != 0 ? ungrant_one : release_one, &c);
}

static void unlend(const syn_handle *h, uint64_t n);

static void
install(void)
{
	sni_future_set_translator(translate_reply);
	sni_future_set_dropper(drop_reply);
	sni_future_set_items_dropper(drop_raw_items);
	sni_remote_set_unlend(unlend);
}

void
sni_translate_install(void)
{
	pthread_once(&install_once, install);
}

/* A proxy of a copy: one more reference, held in *hp. */
static int
hold_proxy(syn_value *v, void *hp)
{
	int rc = holds_add(hp, (uintptr_t) v->as.proxy);
	if (rc == 0) {
		syn_proxy_ref(v->as.proxy);
	}
	return rc;
}

int
sni_translate_hold_copy(const syn_value *v, void **held)
{
	holds *h  = NULL;
	int    rc = each((syn_value *) v, SYN_TYPE_PROXY, hold_proxy, &h);
	if (rc != 0 && h != NULL) {
		value_holds_release(&h->base);
		h = NULL;
	}
	*held = h;
	return rc;
}

/* ---- into a task ------------------------------------------------------ */

int
sni_translate_hold_object(sni_task *t, sni_object *o)
{
	if (holds_add((holds **) &t->holds, (uintptr_t) o | 1) != 0) {
		sni_object_unpin(sni_actor_self()->ops_arg, o);
		return syn_raise(t, SYN_ENOMEM, "no memory to hold an object");
	}
	return 0;
}

int
sni_translate_hold_proxy(sni_task *t, syn_proxy *p)
{
	return holds_add((holds **) &t->holds, (uintptr_t) p);
}

/* A task's argument handle: its own object, pinned, or a proxy. */
typedef struct task_ctx {
	sni_sync *s;
	sni_task *t;
} task_ctx;

/* A handle from another process must name an object its connection
 * holds. */
static int
handle_held(syn_value *v, void *arg)
{
	task_ctx *c = arg;
	if (c->t->remote && v->as.handle->owner == c->t->actor->id &&
	    !sni_peer_holds(c->s, c->t->gen.pipe, v->as.handle->object)) {
		return syn_raise(c->t, SYN_ECLOSED,
		    "an argument names an object that this connection holds "
		    "no reference to");
	}
	return 0;
}

/* The task's object of id, pinned and held for it until it ends, in
 * *op; SYN_ECLOSED when it was released, SYN_ENOMEM (raised). */
static int
object_in(task_ctx *c, uint64_t id, sni_object **op)
{
	sni_object *o = sni_object_find(c->s, id);
	if (o == NULL) {
		return syn_raise(
		    c->t, SYN_ECLOSED, "an argument's object was released");
	}
	sni_object_pin(o);
	*op = o;
	return sni_translate_hold_object(c->t, o);
}

/* v becomes the object o. */
static void
become_object(syn_value *v, sni_object *o)
{
	v->type      = SYN_TYPE_OBJECT;
	v->len       = 0;
	v->as.object = sni_object_self(o);
}

static int
handle_in(syn_value *v, void *arg)
{
	task_ctx   *c  = arg;
	sni_object *o  = NULL;
	int         rc = handle_held(v, arg);
	if (rc != 0) {
		return rc;
	}
	if (v->as.handle->owner != c->t->actor->id) {
		return to_proxy(v, (holds **) &c->t->holds) != 0
		    ? syn_raise(c->t, SYN_ENOMEM, "no memory for a proxy")
		    : 0;
	}
	if ((rc = object_in(c, v->as.handle->object, &o)) != 0) {
		return rc; /* (what v carried goes back with the call's) */
	}
	if (v->len == SNI_HANDLE_OWNED) { /* a reference came home */
		sni_object_unexport(c->s, o, 1);
	}
	drop_carried(v); /* (the object is pinned instead) */
	become_object(v, o);
	return 0;
}

static int
arg_in(sni_sync *s, sni_task *t, syn_value *v)
{
	task_ctx c = { s, t };
	return each(v, SYN_TYPE_HANDLE, handle_in, &c);
}

/* ---- syn_object_new's arguments -------------------------------------- */

static int check_args_given(const syn_value *args, size_t nargs);

/* A proxy or plain handle in syn_object_new's arguments, as a CALL would
 * bring it in: this synchronizer's object itself (pinned for the task),
 * another's handle a proxy held for the task, another's proxy as it is
 * (the caller's, borrowed for the call). */
static int
local_in(syn_value *v, void *arg)
{
	task_ctx         *c = arg;
	const syn_handle *h =
	    v->type == SYN_TYPE_PROXY ? &v->as.proxy->h : v->as.handle;
	if (h->owner != c->t->actor->id) {
		return v->type == SYN_TYPE_PROXY ? 0
		    : to_proxy(v, (holds **) &c->t->holds) != 0
		    ? syn_raise(c->t, SYN_ENOMEM, "no memory for a proxy")
		    : 0;
	}
	sni_object *o  = NULL;
	int         rc = object_in(c, h->object, &o);
	if (rc == 0) {
		become_object(v, o);
	}
	return rc;
}

int
sni_translate_local_args(
    sni_task *t, const syn_value *args, size_t nargs, syn_result *copy)
{
	task_ctx  c  = { sni_actor_self()->ops_arg, t };
	int       rc = check_args_given(args, nargs);
	syn_value all;
	if (rc == 0 && nargs > UINT32_MAX) {
		sni_detail_set("%zu arguments", nargs);
		rc = SYN_EINVAL;
	}
	if (rc != 0) {
		return syn_raise(t, rc, "%s", sni_detail_get());
	}
	all = syn_list(args, (uint32_t) nargs);
	if ((rc = syn_value_copy(&all, copy)) != 0) {
		return syn_raise(t, rc,
		    rc == SYN_EINVAL ? "an argument is an invalid value, or "
		                       "nested more than 63 levels deep"
		                     : "no memory for a copy of the arguments");
	}
	if (sni_value_plain(&copy->value)) {
		return 0;
	}
	if ((rc = each(&copy->value, SYN_TYPE_PROXY, local_in, &c)) == 0) {
		rc = each(&copy->value, SYN_TYPE_HANDLE, local_in, &c);
	}
	if (rc != 0) {
		syn_result_fini(copy);
	}
	return rc;
}

/*
 * Gives back the references that the handles in v carried (a call that
 * does not translate them: refused, or raw): this synchronizer's own
 * directly, others' to their synchronizers.
 */
static int
give_back_one(syn_value *v, void *s)
{
	drop_carried(v);
	if (v->len != SNI_HANDLE_OWNED) {
		return 0;
	}
	if (v->as.handle->owner == sni_actor_self()->id) {
		sni_object *o = sni_object_find(s, v->as.handle->object);
		if (o != NULL) {
			sni_object_unexport(s, o, 1);
		}
		return 0;
	}
	/* Made and dropped: the last release gives it back. */
	syn_proxy_release(sni_proxy_get(v->as.handle, true));
	return 0;
}

static void
give_back(sni_sync *s, const syn_value *v)
{
	each((syn_value *) v, SYN_TYPE_HANDLE, give_back_one, s);
}

/* give_back for any thread: every reference goes back by RELEASE. */
static int
release_one(syn_value *v, void *unused)
{
	(void) unused;
	if (v->len == SNI_HANDLE_OWNED) {
		syn_proxy_release(sni_proxy_get(v->as.handle, true));
	}
	drop_carried(v);
	return 0;
}

static void
give_back_by_message(const syn_value *v)
{
	each((syn_value *) v, SYN_TYPE_HANDLE, release_one, NULL);
}

void
sni_translate_drop_open(nng_msg *m)
{
	/* (the arguments' array holds values up to the deepest limit) */
	static const sni_limits lim = { SNI_MAX_DEPTH + 1, SIZE_MAX, true,
		false, false, false };
	sni_call_view           v;
	uint64_t                stream;
	uint32_t                window;
	if (sni_msg_decode_open(nng_msg_body(m), nng_msg_len(m), &lim, &v,
	        &stream, &window) == 0) {
		sni_reader r = v.args;
		syn_value  args;
		void      *mem;
		if (sni_decode_value_next(&r, &lim, &args, &mem) == 0) {
			give_back_by_message(&args);
			free(mem);
		}
	}
}

void
sni_translate_discard(void *arg, const sni_call_view *v)
{
	static const sni_limits lim = {
		SNI_MAX_DEPTH + 1, SIZE_MAX, true, false, false, false
	}; /* (the array, and values as deep as any) */
	sni_reader r = v->args;
	syn_value  args;
	void      *mem;
	if (sni_decode_value_next(&r, &lim, &args, &mem) == 0) {
		give_back(arg, &args);
		free(mem);
	}
}

void
sni_translate_value_drop(void *arg, const syn_value *v)
{
	give_back(arg, v);
}

/* The object t's method runs on: as resolved, or looked up. */
static sni_object *
self_object(sni_sync *s, const sni_task *t)
{
	return t->call.object != NULL ? t->call.object
	                              : sni_object_of(s, t->call.self);
}

/* task_begin's arguments that are not all plain (out of line, so that
 * the common path keeps a small frame). */
__attribute__((noinline)) static int
args_in(sni_sync *s, sni_task *t)
{
	if (t->call.raw) { /* handles stay handles, owing nothing */
		task_ctx c  = { s, t };
		int      rc = 0;
		for (uint32_t i = 0; i < t->nargs; i++) {
			give_back(s, &t->args[i]);
			if (rc == 0) {
				rc = each((syn_value *) &t->args[i],
				    SYN_TYPE_HANDLE, handle_held, &c);
			}
		}
		return rc;
	}
	for (uint32_t i = 0; i < t->nargs; i++) {
		int rc = arg_in(s, t, (syn_value *) &t->args[i]);
		if (rc != 0) { /* what was not translated gives back its own */
			for (uint32_t j = 0; j < t->nargs; j++) {
				give_back(s, &t->args[j]);
			}
			return rc;
		}
	}
	return 0;
}

int
sni_translate_task_begin(void *arg, sni_task *t)
{
	sni_sync *s = arg;
	if (t->call.self != NULL) { /* a method: its object stays */
		sni_object_pin(self_object(s, t));
	}
	return sni_values_plain(t->args, t->nargs) ? 0 : args_in(s, t);
}

int
sni_translate_value_in(void *arg, sni_task *t, syn_value *v)
{
	int rc = arg_in(arg, t, v);
	if (rc != 0) {
		give_back(arg, v);
		sni_detail_set("%s", t->err_msg != NULL ? t->err_msg : "");
	}
	return rc;
}

/* task_end's holds: the proxies and objects the arguments held (out
 * of line, as args_in). */
__attribute__((noinline)) static void
holds_let_go(sni_sync *s, holds *h)
{
	for (uint32_t i = 0; i < h->n; i++) {
		if (h->items[i] & 1) {
			sni_object_unpin(
			    s, (sni_object *) (h->items[i] & ~(uintptr_t) 1));
		} else {
			syn_proxy_release((syn_proxy *) h->items[i]);
		}
	}
	holds_free(h);
}

void
sni_translate_task_end(void *arg, sni_task *t)
{
	sni_sync *s = arg;
	holds    *h = t->holds;
	t->holds    = NULL;
	if (t->call.self != NULL) {
		sni_object *o  = self_object(s, t);
		t->call.self   = NULL;
		t->call.object = NULL;
		sni_object_unpin(s, o);
	}
	if (h != NULL) {
		holds_let_go(s, h);
	}
}

/* ---- out of a synchronizer -------------------------------------------- */

/* What an OBJECT walk out of a synchronizer does with each. */
enum {
	OUT_CHECK,   /* checks it is live; makes room to count it for peer */
	OUT_COUNT,   /* counts it as a reference handed out (to peer) */
	OUT_UNCHECK, /* gives back the room OUT_CHECK made: not sent */
};

typedef struct out_ctx {
	sni_sync *s;    /* the sending synchronizer, or NULL (no task) */
	int       mode; /* OUT_... */
	uint32_t  peer; /* the process behind this pipe (0: none) */
	bool     *seen; /* set when there is any */
	size_t    done; /* objects walked so far (OUT_CHECK: that passed) */
	size_t    most; /* OUT_UNCHECK: the walk stops after this many */
} out_ctx;

static int
object_out(syn_value *v, void *arg)
{
	out_ctx    *c = arg;
	sni_object *o = c->s != NULL ? sni_object_of(c->s, v->as.object) : NULL;
	if (o == NULL) {
		sni_detail_set("an object value that is no live object of "
		               "this synchronizer");
		return SYN_EINVAL;
	}
	int rc = 0;
	if (c->mode == OUT_UNCHECK && c->done == c->most) {
		return 1; /* (not an error: the walk stops here) */
	}
	if (c->mode == OUT_COUNT && c->peer != 0) {
		/* reserved by the check: fails only if the pipe went */
		sni_peer_grant(c->s, c->peer, o);
	} else if (c->mode == OUT_COUNT) {
		sni_object_export(o);
	} else if (c->mode == OUT_UNCHECK && c->peer != 0) {
		sni_peer_unreserve(c->s, c->peer, o);
	} else if (c->mode == OUT_CHECK && c->peer != 0) {
		rc = sni_peer_reserve(c->s, c->peer, o); /* (its detail set) */
	}
	*c->seen = true;
	c->done += rc == 0;
	return rc;
}

/*
 * Walks the objects in v, of s, the sending synchronizer, as mode says,
 * for peer (a pipe, or 0); *seen tells whether v holds any. OUT_CHECK
 * stops at the first that fails, and gives back what it did before.
 */
static int
value_out(sni_sync *s, const syn_value *v, int mode, uint32_t peer, bool *seen)
{
	out_ctx c  = { s, mode, peer, seen, 0, SIZE_MAX };
	int     rc = each((syn_value *) v, SYN_TYPE_OBJECT, object_out, &c);
	if (rc != 0 && mode == OUT_CHECK && peer != 0 && c.done > 0) {
		out_ctx u = { s, OUT_UNCHECK, peer, seen, 0, c.done };
		each((syn_value *) v, SYN_TYPE_OBJECT, object_out, &u);
	}
	return rc != 0 && mode == OUT_UNCHECK ? 0 : rc;
}

static int
proxy_found(syn_value *v, void *unused)
{
	(void) v;
	(void) unused;
	return SYN_ENOTSUP;
}

/* A proxy of this synchronizer's own object, leaving for another
 * process: it goes as the object (granted to the peer, as objects are). */
static int
own_proxy_out(syn_value *v, void *arg)
{
	task_ctx   *c = arg;
	syn_proxy  *p = v->as.proxy;
	sni_object *o = NULL;
	if (p == NULL || p->h.owner != c->t->actor->id) {
		return 0; /* refused below */
	}
	if ((o = sni_object_find(c->s, p->h.object)) == NULL) {
		sni_detail_set("%s: a proxy of an object released already",
		    c->t->call.name);
		return SYN_ECLOSED;
	}
	become_object(v, o);
	return 0;
}

int
sni_translate_out(void *arg, sni_task *t, const syn_value *v)
{
	bool     seen = false; /* (v is not plain: see core/actor.h) */
	task_ctx c    = { arg, t };
	int      rc   = t->remote
	           ? each((syn_value *) v, SYN_TYPE_PROXY, own_proxy_out, &c)
	           : 0;
	if (rc == 0) { /* (room to count them made for a peer) */
		rc = value_out(
		    arg, v, OUT_CHECK, t->remote ? t->gen.pipe : 0, &seen);
		if (rc != 0) {
			seen = false; /* (given back already) */
		}
	}
	if (rc == 0 && t->remote &&
	    each((syn_value *) v, SYN_TYPE_PROXY, proxy_found, NULL) != 0) {
		sni_detail_set("%s: a proxy of another synchronizer cannot go "
		               "to another process (only this synchronizer's "
		               "own objects can)",
		    t->call.name);
		rc = SYN_ENOTSUP;
	}
	if (rc == 0 && seen && t->call.raw) {
		sni_detail_set("%s is raw (SYN_METHOD_RAW): it cannot hand "
		               "out objects",
		    t->call.name);
		rc = SYN_EINVAL;
	}
	if (rc != 0 && seen) {
		sni_translate_unsent(arg, t, v);
	}
	return rc != 0 ? syn_raise(t, rc, "%s", sni_detail_get()) : 0;
}

void
sni_translate_unsent(void *arg, sni_task *t, const syn_value *v)
{
	bool seen;
	if (t->remote) { /* (nothing was reserved for this process) */
		value_out(arg, v, OUT_UNCHECK, t->gen.pipe, &seen);
	}
}

/* A proxy encoded as a PROXY ext: the reference it carries. */
static int
carry_proxy(syn_value *v, void *unused)
{
	(void) unused;
	syn_proxy_ref(v->as.proxy);
	return 0;
}

void
sni_translate_sent(void *arg, sni_task *t, const syn_value *v)
{
	bool seen = false; /* checked by sni_translate_out */
	value_out(arg, v, OUT_COUNT, t->remote ? t->gen.pipe : 0, &seen);
	if (sni_task_limits(t).proxy_refs) { /* as the encoder wrote them */
		each((syn_value *) v, SYN_TYPE_PROXY, carry_proxy, NULL);
	}
}

/* A call's arguments must be there when it names some. */
static int
check_args_given(const syn_value *args, size_t nargs)
{
	if (args == NULL && nargs > 0) {
		sni_detail_set("args is NULL with nargs %zu", nargs);
		return SYN_EINVAL;
	}
	return 0;
}

int
sni_translate_call_check(const syn_value *args, size_t nargs, bool *seen)
{
	*seen  = false;
	int rc = check_args_given(args, nargs);
	if (rc != 0 || sni_values_plain(args, nargs)) {
		return rc;
	}
	sni_actor *a = sni_actor_self();
	for (size_t i = 0; i < nargs && rc == 0; i++) {
		rc = value_out(a != NULL ? a->ops_arg : NULL, &args[i],
		    OUT_CHECK, 0, seen);
	}
	return rc;
}

void
sni_translate_call_commit(const syn_value *args, size_t nargs)
{
	sni_sync *s = sni_actor_self()->ops_arg;
	bool      seen;
	for (size_t i = 0; i < nargs; i++) {
		value_out(s, &args[i], OUT_COUNT, 0, &seen);
	}
}

/* ---- to another process ----------------------------------------------- */

/* What a walk of a call to another process checks and holds. */
typedef struct remote_ctx {
	uint32_t remote; /* the remote synchronizer's id on this side */
	holds   *h;
} remote_ctx;

static int
object_to_remote(syn_value *v, void *unused)
{
	(void) v;
	(void) unused;
	sni_detail_set("an object cannot go to another process from its "
	               "own synchronizer's task (yet): pass a proxy of it");
	return SYN_ENOTSUP;
}

/* Whether owner is a synchronizer of this process with a thread (whose
 * objects can be lent to another process): 0; SYN_ECLOSED when it is
 * closed or gone; SYN_ENOTSUP when it is no synchronizer of this process
 * (a connection to another one, say). */
static int
local_owner(uint64_t owner)
{
	sni_actor *a;
	if (owner > UINT32_MAX) {
		return SYN_ENOTSUP;
	}
	if (sni_actor_hold((uint32_t) owner, &a) != 0) {
		return SYN_ECLOSED;
	}
	bool local = a->post == NULL;
	sni_actor_release(a);
	return local ? 0 : SYN_ENOTSUP;
}

static int
proxy_to_remote(syn_value *v, void *arg)
{
	remote_ctx *c  = arg;
	int         rc = v->as.proxy == NULL ? SYN_EINVAL
	            : v->as.proxy->h.owner == c->remote
	            ? 0
	            : local_owner(v->as.proxy->h.owner);
	if (rc == SYN_EINVAL) {
		sni_detail_set("a proxy value holds NULL");
		return rc;
	}
	if (rc == SYN_ECLOSED) {
		sni_detail_set("a proxy's synchronizer (%llu) is closed or "
		               "destroyed",
		    (unsigned long long) v->as.proxy->h.owner);
		return rc;
	}
	if (rc != 0) {
		sni_detail_set("a proxy can go to another process when it "
		               "came from there, or when its object lives in "
		               "this process (this one is of synchronizer "
		               "%llu)",
		    (unsigned long long) v->as.proxy->h.owner);
		return rc;
	}
	const syn_handle *h = &v->as.proxy->h;
	if (h->owner != c->remote &&
	    (h->owner > UINT32_MAX || h->object > UINT32_MAX)) {
		sni_detail_set("object %llu of synchronizer %llu cannot be "
		               "named to another process: ids up to 2^32 can",
		    (unsigned long long) h->object,
		    (unsigned long long) h->owner);
		return SYN_ENOTSUP;
	}
	rc = holds_add(&c->h, (uintptr_t) v->as.proxy);
	if (rc == 0) {
		syn_proxy_ref(v->as.proxy);
	}
	return rc;
}

static int
handle_to_remote(syn_value *v, void *arg)
{
	remote_ctx *c = arg;
	if (v->as.handle == NULL || v->as.handle->owner != c->remote) {
		sni_detail_set("a handle can go to another process only when "
		               "it names an object of that process");
		return SYN_ENOTSUP;
	}
	return 0;
}

int
sni_translate_remote_check(uint32_t remote, const syn_handle *target,
    const syn_value *args, size_t nargs, void **held)
{
	remote_ctx c  = { remote, *held };
	uint32_t   n0 = c.h != NULL ? c.h->n : 0;
	int        rc = check_args_given(args, nargs);
	if (rc != 0) {
		return rc;
	}
	if (target != NULL && target->object != 0) {
		syn_proxy *p = sni_proxy_get(target, false);
		rc           = p == NULL || holds_add(&c.h, (uintptr_t) p) != 0
		              ? SYN_ENOMEM
		              : 0;
		if (rc != 0) {
			syn_proxy_release(p);
		}
	}
	for (size_t i = 0; rc == 0 && i < nargs; i++) {
		syn_value *v = (syn_value *) &args[i];
		if ((rc = each(v, SYN_TYPE_OBJECT, object_to_remote, NULL)) ==
		        0 &&
		    (rc = each(v, SYN_TYPE_HANDLE, handle_to_remote, &c)) ==
		        0) {
			rc = each(v, SYN_TYPE_PROXY, proxy_to_remote, &c);
		}
	}
	if (rc != 0 && c.h != NULL) { /* what this call added goes */
		while (c.h->n > n0) {
			syn_proxy_release((syn_proxy *) c.h->items[--c.h->n]);
		}
		if (n0 == 0) {
			holds_free(c.h);
			c.h = NULL;
		}
	}
	*held = c.h;
	return rc;
}

/* Lending to a: the first failure, and how many proxies were lent. */
typedef struct lend_ctx {
	sni_actor *a;
	int        rc;
	size_t     lent;
} lend_ctx;

/* A proxy of this process's that leaves for another: lent to it. */
static int
lend_one(syn_value *v, void *arg)
{
	lend_ctx  *c = arg;
	syn_proxy *p = v->as.proxy;
	if (p->h.owner == c->a->id) {
		return 0;
	}
	syn_proxy_ref(p); /* given back by unlend */
	if ((c->rc = sni_remote_lend(c->a, &p->h)) != 0) {
		syn_proxy_release(p);
		return c->rc;
	}
	c->lent++;
	return 0;
}

/* lend_one undone, for the first c->lent proxies it lent. */
static int
unlend_one(syn_value *v, void *arg)
{
	lend_ctx  *c = arg;
	syn_proxy *p = v->as.proxy;
	if (p->h.owner != c->a->id && c->lent > 0) {
		c->lent--;
		sni_remote_unlend(c->a, &p->h);
	}
	return 0;
}

int
sni_translate_remote_lend(sni_actor *a, const syn_value *args, size_t nargs)
{
	lend_ctx c = { a, 0, 0 };
	for (size_t i = 0; i < nargs && c.rc == 0; i++) {
		each((syn_value *) &args[i], SYN_TYPE_PROXY, lend_one, &c);
	}
	for (size_t i = 0; c.rc != 0 && c.lent > 0 && i < nargs; i++) {
		each((syn_value *) &args[i], SYN_TYPE_PROXY, unlend_one, &c);
	}
	return c.rc;
}

/* The server gave back n lent references to h's object. */
static void
unlend(const syn_handle *h, uint64_t n)
{
	syn_proxy *p = sni_proxy_get(h, false);
	for (uint64_t i = 0; p != NULL && i <= n; i++) {
		syn_proxy_release(p);
	}
}

static int
not_plain(syn_value *v, void *unused)
{
	(void) v, (void) unused;
	return SYN_ENOTSUP;
}

int
sni_translate_plain_check(const syn_value *args, size_t nargs)
{
	static const int types[] = { SYN_TYPE_OBJECT, SYN_TYPE_PROXY,
		SYN_TYPE_HANDLE };
	int              rc      = check_args_given(args, nargs);
	if (rc != 0) {
		return rc;
	}
	for (size_t i = 0; i < nargs; i++) {
		for (size_t k = 0; k < 3; k++) {
			if (each((syn_value *) &args[i], types[k], not_plain,
			        NULL) != 0) {
				sni_detail_set("only plain values go to an "
				               "object of another process's "
				               "client (yet)");
				return SYN_ENOTSUP;
			}
		}
	}
	return 0;
}
