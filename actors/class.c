/*
 * actors/class.c: registering classes, and finding them and their methods.
 * A synchronizer has few classes and a class few methods: both are
 * searched in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "proto/proto.h"
#include "sync.h"

#define INSTANCE_MAX ((size_t) 1 << 20)

static bool
name_ok(const char *name)
{
	if (name == NULL) {
		return false;
	}
	size_t len = strlen(name);
	return len > 0 && len <= SNI_METHOD_MAX &&
	    sni_utf8_valid((const uint8_t *) name, len);
}

static int
check_method(const syn_class_def *def, size_t i)
{
	const syn_method_def *m = &def->methods[i];
	if (!name_ok(m->name) || m->fn == NULL) {
		return sni_error_set(SYN_EINVAL,
		    "a method needs a name of 1 to 255 bytes of UTF-8 and an "
		    "implementation",
		    def->name);
	}
	if (m->kind != SYN_KIND_FUNCTION && m->kind != SYN_KIND_GENERATOR) {
		return sni_error_set(
		    SYN_EINVAL, "unknown method kind", m->name);
	}
	if ((m->flags &
	        ~(unsigned) (SYN_METHOD_RAW | SYN_METHOD_GETTER |
	            SYN_METHOD_STATIC)) != 0) {
		return sni_error_set(
		    SYN_EINVAL, "unknown method flags", m->name);
	}
	if ((m->flags & SYN_METHOD_STATIC) != 0 &&
	    (strchr(m->name, '.') != NULL ||
	        strlen(def->name) + 1 + strlen(m->name) > SNI_METHOD_MAX)) {
		return sni_error_set(SYN_EINVAL,
		    "a static method is called as \"Class.method\": its name "
		    "has no '.', and the two names with the dot have at most "
		    "255 bytes",
		    m->name);
	}
	for (size_t j = 0; j < i; j++) {
		if (strcmp(def->methods[j].name, m->name) == 0) {
			return sni_error_set(
			    SYN_EEXIST, "a method name repeats", m->name);
		}
	}
	return 0;
}

/* Checks def on the caller's thread. */
static int
check_class(const syn_class_def *def)
{
	if (def == NULL || !name_ok(def->name)) {
		return sni_error_set(SYN_EINVAL,
		    "a class needs a name of 1 to 255 bytes of UTF-8", "");
	}
	if (def->size == 0 || def->size > INSTANCE_MAX) {
		return sni_error_set(
		    SYN_EINVAL, "an instance has 1 byte to 1 MiB", def->name);
	}
	if (def->nmethods > 0 && def->methods == NULL) {
		return sni_error_set(SYN_EINVAL, "methods is NULL", def->name);
	}
	if ((def->flags & ~(unsigned) SYN_CLASS_BLOCKING) != 0) {
		return sni_error_set(
		    SYN_EINVAL, "unknown class flags", def->name);
	}
	for (size_t i = 0; i < def->nmethods; i++) {
		int rc = check_method(def, i);
		if (rc != 0) {
			return rc;
		}
		if ((def->flags & SYN_CLASS_BLOCKING) &&
		    def->methods[i].kind == SYN_KIND_GENERATOR) {
			return sni_error_set(SYN_EINVAL,
			    "a blocking class cannot have generator methods "
			    "(a generator yields from its synchronizer's "
			    "thread)",
			    def->methods[i].name);
		}
	}
	return 0;
}

static void
class_free(sni_class *c)
{
	if (c == NULL) {
		return;
	}
	for (uint32_t i = 0; i < c->nmethods; i++) {
		free(c->methods[i].name);
		free(c->methods[i].qualname);
	}
	free(c->methods);
	free(c->name);
	free(c);
}

/* A copy of def, or NULL without memory. */
static sni_class *
class_copy(const syn_class_def *def)
{
	sni_class *c = calloc(1, sizeof(*c));
	if (c == NULL || (c->name = strdup(def->name)) == NULL ||
	    (def->nmethods > 0 &&
	        (c->methods = calloc(def->nmethods, sizeof(sni_method))) ==
	            NULL)) {
		class_free(c);
		return NULL;
	}
	c->len   = (uint32_t) strlen(def->name);
	c->size  = def->size;
	c->init  = def->init;
	c->fini  = def->fini;
	c->flags = def->flags;
	for (size_t i = 0; i < def->nmethods; i++) {
		const syn_method_def *m = &def->methods[i];
		sni_method           *d = &c->methods[i];
		size_t qlen = strlen(def->name) + strlen(m->name) + 2;
		c->nmethods++;
		if ((d->name = strdup(m->name)) == NULL ||
		    (d->qualname = malloc(qlen)) == NULL) {
			class_free(c);
			return NULL;
		}
		snprintf(d->qualname, qlen, "%s.%s", def->name, m->name);
		d->len   = (uint32_t) strlen(m->name);
		d->kind  = m->kind;
		d->flags = m->flags;
		d->fn    = m->fn;
	}
	return c;
}

static int
add_on_actor(sni_actor *a, void *arg)
{
	sni_sync            *s   = a->ops_arg;
	const syn_class_def *def = arg;
	if (sni_class_find(s, def->name, strlen(def->name)) != NULL) {
		return SYN_EEXIST;
	}
	sni_class **more =
	    realloc(s->classes, (s->nclasses + 1) * sizeof(*more));
	if (more == NULL) {
		return SYN_ENOMEM;
	}
	s->classes = more;
	if ((more[s->nclasses] = class_copy(def)) == NULL) {
		return SYN_ENOMEM;
	}
	s->nclasses++;
	return 0;
}

int
syn_register_class(syn_synchronizer s, const syn_class_def *def)
{
	int rc = check_class(def);
	if (rc != 0) {
		return rc;
	}
	sni_translate_install();
	rc = sni_actor_run(s.id, add_on_actor, (void *) def);
	if (rc == SYN_EEXIST) {
		sni_error_set(rc, "a class of this name is registered already",
		    def->name);
	} else if (rc != 0 && rc != SYN_EDEADLK) { /* (that one says why) */
		sni_error_set(rc, NULL, def->name);
	}
	return rc;
}

const sni_class *
sni_class_find(const sni_sync *s, const char *name, size_t len)
{
	for (uint32_t i = 0; i < s->nclasses; i++) {
		const sni_class *c = s->classes[i];
		if (c->len == len && sni_name_equal(c->name, name, len)) {
			return c;
		}
	}
	return NULL;
}

const sni_method *
sni_class_method(const sni_class *c, const char *name, size_t len)
{
	for (uint32_t i = 0; i < c->nmethods; i++) {
		const sni_method *m = &c->methods[i];
		if (m->len == len && sni_name_equal(m->name, name, len)) {
			return m;
		}
	}
	return NULL;
}

void
sni_classes_fini(sni_sync *s)
{
	for (uint32_t i = 0; i < s->nclasses; i++) {
		class_free(s->classes[i]);
	}
	free(s->classes);
	s->classes  = NULL;
	s->nclasses = 0;
}
