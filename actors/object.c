/*
 * actors/object.c: the objects of a synchronizer, on its thread.
 *
 * An object lives while anything holds it: a task (the call it is the
 * target or an argument of: pins), a proxy anywhere (the references its
 * synchronizer handed out with OBJECT handles and that have not come back
 * in a RELEASE: exports), or code of its synchronizer (retains). When all
 * three are zero it is dropped: its fini runs, once, and its memory goes.
 * Destroy drops what is left.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "proto/proto.h"
#include "sync.h"

/* A call of a blocking class waiting for its object's turn. */
typedef struct sni_turn sni_turn;
struct sni_turn {
	sni_task *task;
	sni_turn *next;
};

struct sni_object {
	const sni_class *cls;
	sni_turn        *line; /* waiting for the turn, first first */
	sni_turn        *line_end;
	bool             busy; /* a blocking call has the turn */
	uint32_t         pins;
	uint64_t         exports;
	uint32_t         retains;
	bool             constructed; /* init succeeded: fini is owed */
	bool             finished;    /* at destroy: its fini ran */
	_Alignas(16) syn_handle h;    /* just before self: the codec reads it */
	_Alignas(16) unsigned char self[];
};

_Static_assert(
    offsetof(sni_object, self) == offsetof(sni_object, h) + sizeof(syn_handle),
    "the handle must sit just before self (see sni_object_handle)");

static const void *
id_key(uint64_t id)
{
	return (const void *) (uintptr_t) (id + 1); /* 0 and 1 are taken */
}

static sni_sync *
this_sync(void)
{
	return sni_actor_self()->ops_arg;
}

/* A new object of c, pinned once, not yet constructed. */
static sni_object *
object_make(sni_sync *s, const sni_class *c)
{
	sni_object *o = calloc(1, sizeof(*o) + c->size);
	if (o == NULL) {
		return NULL;
	}
	o->cls      = c;
	o->pins     = 1;
	o->h.owner  = sni_actor_self()->id;
	o->h.object = ++s->next_object + 1; /* 0: classes; 1 never */
	if (sni_ptrmap_put(&s->objects, id_key(o->h.object), o) != 0 ||
	    sni_ptrmap_put(&s->selves, o->self, o) != 0) {
		sni_ptrmap_del(&s->objects, id_key(o->h.object));
		free(o);
		return NULL;
	}
	return o;
}

static void
object_drop(sni_sync *s, sni_object *o)
{
	sni_ptrmap_del(&s->objects, id_key(o->h.object));
	sni_ptrmap_del(&s->selves, o->self);
	if (o->constructed && o->cls->fini != NULL) {
		o->cls->fini(o->self);
	}
	free(o);
}

static void
maybe_drop(sni_sync *s, sni_object *o)
{
	if (o->pins == 0 && o->exports == 0 && o->retains == 0 &&
	    !s->objects_ending) {
		object_drop(s, o);
	}
}

/*
 * At destroy: runs the fini of objects that no other object retains and
 * whose fini has not run; true when it ran any. (A fini releases what
 * its object retained, which may free more for the next round.)
 */
static bool
finish_unretained(sni_sync *s, bool all)
{
	bool        ran = false;
	size_t      i   = 0;
	sni_object *o;
	while ((o = sni_ptrmap_next(&s->objects, &i)) != NULL) {
		if (!o->finished && (all || o->retains == 0)) {
			o->finished = true;
			if (o->constructed && o->cls->fini != NULL) {
				o->cls->fini(o->self);
			}
			ran = true;
		}
	}
	return ran;
}

sni_object *
sni_object_of(sni_sync *s, const void *self)
{
	return self != NULL ? sni_ptrmap_get(&s->selves, self) : NULL;
}

sni_object *
sni_object_find(sni_sync *s, uint64_t id)
{
	return id > 1 ? sni_ptrmap_get(&s->objects, id_key(id)) : NULL;
}

const syn_handle *
sni_object_handle_of(const sni_object *o)
{
	return &o->h;
}

void *
sni_object_self(sni_object *o)
{
	return o->self;
}

void
sni_object_pin(sni_object *o)
{
	o->pins++;
}

void
sni_object_unpin(sni_sync *s, sni_object *o)
{
	o->pins--;
	maybe_drop(s, o);
}

void
sni_object_export(sni_object *o)
{
	o->exports++;
}

void
sni_object_unexport(sni_sync *s, sni_object *o, uint64_t n)
{
	o->exports = n < o->exports ? o->exports - n : 0;
	maybe_drop(s, o);
}

/* ---- the turn of blocking calls -------------------------------------- */

static void
line_remove(sni_object *o, sni_turn *w)
{
	sni_turn **pp   = &o->line;
	sni_turn  *prev = NULL;
	while (*pp != NULL && *pp != w) {
		prev = *pp;
		pp   = &(*pp)->next;
	}
	if (*pp == w) {
		*pp = w->next;
		if (o->line_end == w) {
			o->line_end = prev;
		}
	}
}

int
sni_object_take_turn(sni_task *t, sni_object *o)
{
	if (!o->busy) {
		o->busy = true;
		return 0;
	}
	/* (in t's record: the task giving the turn reads it while t waits,
	 * and a shared stack has copied t's frames away meanwhile) */
	_Static_assert(sizeof(sni_turn) <= SNI_WAIT_ROOM, "wait_room");
	sni_turn *w = (sni_turn *) t->wait_room;
	*w          = (sni_turn) { t, NULL };
	if (o->line_end != NULL) {
		o->line_end->next = w;
	} else {
		o->line = w;
	}
	o->line_end = w;
	if (sni_task_park(t) != 0) { /* cancelled: nobody gave it the turn */
		line_remove(o, w);
		return SYN_ECANCELED;
	}
	if (t->cancelled) { /* it has the turn: pass it on */
		sni_object_give_turn(o);
		return SYN_ECANCELED;
	}
	return 0;
}

void
sni_object_give_turn(sni_object *o)
{
	sni_turn *w = o->line;
	if (w == NULL) {
		o->busy = false;
		return;
	}
	o->line = w->next;
	if (o->line == NULL) {
		o->line_end = NULL;
	}
	sni_task_unpark(w->task); /* the turn passes on: busy stays */
}

/*
 * Every fini first, holders before what they hold (then, for cycles, the
 * rest), and only then the memory: a fini may still read an object its
 * object retained.
 */
void
sni_objects_fini(sni_sync *s)
{
	s->objects_ending = true;
	while (finish_unretained(s, false)) { }
	finish_unretained(s, true);
	size_t      i = 0;
	sni_object *o;
	while ((o = sni_ptrmap_next(&s->objects, &i)) != NULL) {
		free(o);
	}
	sni_ptrmap_fini(&s->objects);
	sni_ptrmap_fini(&s->selves);
}

/* ---- constructing ----------------------------------------------------- */

/* Makes the object and runs init; self is the new object's on success. */
static int
construct(syn_task *t, const sni_class *c, const syn_value *args, size_t nargs,
    void **selfp)
{
	sni_sync   *s = this_sync();
	sni_object *o = object_make(s, c);
	if (o == NULL) {
		return syn_raise(t, SYN_ENOMEM, "no memory for a %s", c->name);
	}
	int rc;
	if (c->init != NULL && (c->flags & SYN_CLASS_BLOCKING)) {
		o->busy = true; /* its turn: nothing else runs on it */
		rc      = sni_blocking_init(t, c, o->self, args, nargs);
		sni_object_give_turn(o);
	} else {
		rc = c->init != NULL ? c->init(t, o->self, args, nargs) : 0;
	}
	if (rc != 0) {
		sni_object_unpin(s, o); /* dropped: fini is not owed */
		return rc;
	}
	o->constructed = true;
	*selfp         = o->self;
	return 0;
}

/* The implementation of a constructor call: its self is the new object,
 * pinned until the task ends. */
static int
constructor(syn_task *t, void *unused, const syn_value *args, size_t nargs,
    syn_value *ret)
{
	(void) unused;
	const sni_class *c = syn_task_userdata(t);
	void            *self;
	t->call.userdata = NULL; /* init sees no userdata */
	int rc           = construct(t, c, args, nargs, &self);
	if (rc == 0) {
		t->call.self = self; /* task_end lets go of the pin */
		*ret         = syn_object(self);
	}
	return rc;
}

int
syn_object_new(syn_task *t, const char *cls, const syn_value *args,
    size_t nargs, void **selfp)
{
	int rc = sni_task_check(t);
	if (rc != 0 || cls == NULL || selfp == NULL) {
		return rc != 0 ? rc
		               : syn_raise(t, SYN_EINVAL,
		                     "class name or self pointer is NULL");
	}
	*selfp             = NULL;
	const sni_class *c = sni_class_find(this_sync(), cls, strlen(cls));
	if (c == NULL) {
		return syn_raise(t, SYN_ENOENT, "no class named '%s'", cls);
	}
	syn_result copy = SYN_RESULT_INIT;
	if ((rc = sni_translate_local_args(t, args, nargs, &copy)) != 0) {
		return rc;
	}
	rc = construct(t, c, copy.value.as.list, nargs, selfp);
	syn_result_fini(&copy);
	if (rc != 0) {
		return rc;
	}
	/* Held by the task until it ends, like an argument (without
	 * memory to note it, dropped at once: its fini runs). */
	if ((rc = sni_translate_hold_object(
	         t, sni_object_of(this_sync(), *selfp))) != 0) {
		*selfp = NULL;
	}
	return rc;
}

void
syn_object_retain(void *self)
{
	sni_actor *a = sni_actor_self();
	if (a == NULL) {
		return;
	}
	sni_object *o = sni_object_of(a->ops_arg, self);
	if (o != NULL) {
		o->retains++;
	}
}

void
syn_object_release(void *self)
{
	sni_actor *a = sni_actor_self();
	if (a == NULL) {
		return;
	}
	sni_object *o = sni_object_of(a->ops_arg, self);
	if (o != NULL && o->retains > 0) {
		o->retains--;
		maybe_drop(a->ops_arg, o);
	}
}

/* ---- resolving calls on objects --------------------------------------- */

/* The methods of a blocking class run through sni_blocking_method. */
static void
blocking_resolve(const sni_class *c, const sni_method *m, sni_callable *out)
{
	if (c->flags & SYN_CLASS_BLOCKING) {
		out->method   = sni_blocking_method;
		out->userdata = (void *) m;
	}
}

static int
resolve_constructor(sni_sync *s, const sni_call_view *v, sni_callable *out)
{
	const sni_class *c = sni_class_find(s, v->method, v->method_len);
	if (c == NULL) {
		sni_detail_set("no class named '%.*s' is registered",
		    (int) v->method_len, v->method);
		return SYN_ENOENT;
	}
	*out = (sni_callable) { .method = constructor,
		.userdata               = (void *) c,
		.name                   = c->name,
		.kind                   = SYN_KIND_FUNCTION };
	return 0;
}

int
sni_static_resolve(sni_sync *s, const sni_call_view *v, sni_callable *out)
{
	/* (the last dot: a class name may have dots, a static method's not) */
	const char      *dot = memrchr(v->method, '.', v->method_len);
	size_t           cl  = dot != NULL ? (size_t) (dot - v->method) : 0;
	const sni_class *c =
	    dot != NULL ? sni_class_find(s, v->method, cl) : NULL;
	const sni_method *m = c != NULL
	    ? sni_class_method(c, dot + 1, v->method_len - cl - 1)
	    : NULL;
	if (m == NULL || (m->flags & SYN_METHOD_STATIC) == 0) {
		sni_detail_set("no function named '%.*s' is registered",
		    (int) v->method_len, v->method);
		return SYN_ENOENT;
	}
	*out = (sni_callable) { .method = m->fn,
		.name                   = m->qualname,
		.kind                   = m->kind,
		.raw                    = (m->flags & SYN_METHOD_RAW) != 0 };
	blocking_resolve(c, m, out);
	return 0;
}

int
sni_object_resolve(sni_sync *s, const sni_call_view *v, sni_callable *out)
{
	uint32_t self_id = sni_actor_self()->id;
	if (v->target.owner != self_id) {
		sni_detail_set("an object of synchronizer %llu was called on "
		               "synchronizer %u",
		    (unsigned long long) v->target.owner, self_id);
		return SYN_EINVAL;
	}
	if (v->target.object == 0) {
		return resolve_constructor(s, v, out);
	}
	sni_object *o = sni_object_find(s, v->target.object);
	if (o == NULL) {
		sni_detail_set("the object was released: no proxy of it is "
		               "left");
		return SYN_ECLOSED;
	}
	if (!o->constructed) {
		sni_detail_set("the object's init has not finished");
		return SYN_EAGAIN;
	}
	const sni_method *m =
	    sni_class_method(o->cls, v->method, v->method_len);
	if (m == NULL || (m->flags & SYN_METHOD_STATIC) != 0) {
		sni_detail_set("class %s has no method '%.*s'", o->cls->name,
		    (int) v->method_len, v->method);
		return SYN_ENOENT;
	}
	*out = (sni_callable) { .method = m->fn,
		.self                   = o->self,
		.object                 = o,
		.name                   = m->qualname,
		.kind                   = m->kind,
		.raw                    = (m->flags & SYN_METHOD_RAW) != 0 };
	blocking_resolve(o->cls, m, out);
	return 0;
}
