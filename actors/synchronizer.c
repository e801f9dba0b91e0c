/*
 * actors/synchronizer.c: synchronizers as users see them: creating,
 * closing, destroying, and registering functions on them.
 */
#include <stdlib.h>
#include <string.h>

#include "core/actor.h"
#include "core/errors.h"
#include "core/registry.h"
#include "functab.h"
#include "proto/proto.h"
#include "sync.h"

static int
resolve(void *arg, const sni_call_view *v, sni_callable *out)
{
	sni_sync *s = arg;
	if (v->remote && !sni_exported(s, v)) { /* as if it did not exist */
		return v->has_target && v->target.object != 0 ? SYN_ECLOSED
		                                              : SYN_ENOENT;
	}
	if (v->has_target) {
		return sni_object_resolve(s, v, out);
	}
	const sni_func *f = s->last;
	if (f == NULL || f->len != v->method_len ||
	    !sni_name_equal(f->name, v->method, v->method_len)) {
		f = sni_functab_find(&s->funcs, v->method, v->method_len);
	}
	if (f == NULL) {
		return sni_static_resolve(s, v, out); /* "Class.method"? */
	}
	s->last       = f;
	out->fn       = f->def.fn;
	out->userdata = f->def.userdata;
	out->name     = f->name;
	out->kind     = f->def.kind;
	out->method   = NULL;
	out->self     = NULL;
	out->raw      = false;
	return 0;
}

/* A RELEASE: references to one of the objects come back. */
static void
release(void *arg, uint32_t peer, uint64_t object, uint64_t count)
{
	sni_sync   *s = arg;
	sni_object *o = sni_object_find(s, object);
	if (peer != 0) {
		sni_peer_release(s, peer, object, count);
	} else if (o != NULL) {
		sni_object_unexport(s, o, count);
	}
}

static void
pipe_gone(void *arg, uint32_t pipe)
{
	sni_peer_gone(arg, pipe);
}

/* After the loop, on the actor's thread: the objects left are dropped. */
static void
sync_fini(void *arg)
{
	sni_sync *s = arg;
	sni_peers_fini(s);
	sni_objects_fini(s);
	sni_classes_fini(s);
	sni_exports_fini(s);
	sni_functab_fini(&s->funcs);
	free(s);
}

static const sni_actor_ops sync_ops = {
	.resolve      = resolve,
	.task_begin   = sni_translate_task_begin,
	.value_out    = sni_translate_out,
	.value_sent   = sni_translate_sent,
	.value_unsent = sni_translate_unsent,
	.value_in     = sni_translate_value_in,
	.task_end     = sni_translate_task_end,
	.discard      = sni_translate_discard,
	.value_drop   = sni_translate_value_drop,
	.release      = release,
	.pipe_gone    = pipe_gone,
	.fini         = sync_fini,
};

int
syn_synchronizer_new(syn_synchronizer *sp, const syn_config *cfg)
{
	if (sp == NULL) {
		return sni_error_set(
		    SYN_EINVAL, "synchronizer pointer is NULL", "");
	}
	sp->id = 0;
	sni_translate_install(); /* replies' handles become proxies */
	sni_sync *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return sni_error_set(SYN_ENOMEM, NULL, "");
	}
	sni_actor *a;
	uint32_t   id;
	int        rc = sni_actor_start(cfg, &sync_ops, s, &a, &id);
	if (rc != 0) {
		free(s);
		return rc;
	}
	sp->id = id;
	return 0;
}

int
syn_synchronizer_close(syn_synchronizer s)
{
	return sni_actor_close(s.id);
}

int
syn_synchronizer_destroy(syn_synchronizer s)
{
	return sni_actor_destroy(s.id); /* (SYN_EDEADLK says why) */
}

int
syn_synchronizer_url(syn_synchronizer s, char *buf, size_t size)
{
	sni_actor *a;
	int        rc = sni_registry_pin(s.id, true, &a);
	if (rc != 0) {
		return rc;
	}
	if (a->url == NULL) {
		rc = SYN_ENOENT;
	} else if (buf == NULL || strlen(a->url) + 1 > size) {
		rc = SYN_EINVAL;
	} else {
		memcpy(buf, a->url, strlen(a->url) + 1);
	}
	sni_registry_unpin(s.id);
	return rc;
}

int
syn_synchronizer_stats(syn_synchronizer s, syn_stats *out)
{
	if (out == NULL) {
		return sni_error_set(SYN_EINVAL, "out is NULL", "");
	}
	sni_actor *a;
	int        rc = sni_registry_pin(s.id, true, &a);
	if (rc != 0) {
		return rc;
	}
	if (a->post != NULL) { /* another process's, or a client's */
		rc = sni_error_set(SYN_ENOTSUP,
		    "the synchronizer is in another process", a->name);
	} else {
		sni_actor_stats(a, out);
	}
	sni_registry_unpin(s.id);
	return rc;
}

/* ---- registering functions -------------------------------------------- */

static int
check_def(const syn_func_def *def)
{
	if (def == NULL || def->name == NULL || def->fn == NULL) {
		return sni_error_set(SYN_EINVAL,
		    "a function needs a name and an "
		    "implementation",
		    "");
	}
	size_t len = strlen(def->name);
	if (len == 0 || len > SNI_METHOD_MAX ||
	    !sni_utf8_valid((const uint8_t *) def->name, len)) {
		return sni_error_set(SYN_EINVAL,
		    "a function name has 1 to 255 bytes of UTF-8", "");
	}
	if (def->kind != SYN_KIND_FUNCTION && def->kind != SYN_KIND_GENERATOR) {
		return sni_error_set(
		    SYN_EINVAL, "unknown function kind", def->name);
	}
	return 0;
}

static int
add_on_actor(sni_actor *a, void *arg)
{
	sni_sync *s = a->ops_arg;
	return sni_functab_add(&s->funcs, arg);
}

int
syn_register(syn_synchronizer s, const syn_func_def *def)
{
	int rc = check_def(def);
	if (rc != 0) {
		return rc;
	}
	rc = sni_actor_run(s.id, add_on_actor, (void *) def);
	if (rc == SYN_EEXIST) {
		sni_error_set(rc,
		    "a function of this name is registered already", def->name);
	} else if (rc != 0 && rc != SYN_EDEADLK) { /* (that one says why) */
		sni_error_set(rc, NULL, def->name);
	}
	return rc;
}
