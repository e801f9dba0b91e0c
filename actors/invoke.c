/*
 * actors/invoke.c: what callers do with classes and proxies: make objects,
 * call their methods every way a function is called, read getters, and
 * use context managers.
 */
#include <string.h>

#include <synchronicity/typed.h>

#include "call.h"
#include "core/cancel.h"
#include "core/errors.h"
#include "proto/proto.h"
#include "proto/reader.h"
#include "proxy.h"
#include "sync.h"

/*
 * A call of method on a ref's object: a proxy, or (in a task of the
 * object's own synchronizer) the object itself, tagged with bit 0. h
 * receives the target the request points to.
 */
static int
ref_request(const void *ref, const char *method, const syn_value *args,
    size_t nargs, syn_handle *h, sni_request *r)
{
	uintptr_t v = (uintptr_t) ref;
	if (ref == NULL) {
		return sni_error_set(
		    SYN_EINVAL, "proxy is NULL", method != NULL ? method : "");
	}
	*h = (v & 1) ? *sni_object_handle((void *) (v & ~(uintptr_t) 1))
	             : ((const syn_proxy *) ref)->h;
	if (h->owner > UINT32_MAX) {
		return sni_error_set(SYN_ECLOSED,
		    "the proxy names no synchronizer of this process",
		    method != NULL ? method : "");
	}
	if (h->object == 0) { /* (0 is no object: the constructors' target) */
		return sni_error_set(SYN_ECLOSED, "the proxy names no object",
		    method != NULL ? method : "");
	}
	*r = (sni_request) { (uint32_t) h->owner, h, method, args, nargs };
	return 0;
}

int
syn_ref_invoke(const void *ref, const char *method, const syn_value *args,
    size_t nargs, syn_result *res)
{
	syn_handle  h;
	sni_request r;
	int         rc = ref_request(ref, method, args, nargs, &h, &r);
	return rc != 0 ? rc : sni_request_run(&r, SYN_DURATION_INFINITE, res);
}

int
syn_ref_invoke_future(const void *ref, const char *method,
    const syn_value *args, size_t nargs, syn_future **fp)
{
	syn_handle  h;
	sni_request r;
	if (fp == NULL) {
		return sni_error_set(SYN_EINVAL, "future pointer is NULL", "");
	}
	*fp    = NULL;
	int rc = ref_request(ref, method, args, nargs, &h, &r);
	return rc != 0 ? rc : sni_request_start(&r, fp);
}

/* An aio-form request, or the failure to make it. */
typedef struct ref_args {
	syn_handle  h;
	sni_request r;
	int         rc;
} ref_args;

static int
start_ref(void *arg, syn_future **fp)
{
	ref_args *a = arg;
	return a->rc != 0 ? a->rc : sni_request_start(&a->r, fp);
}

void
syn_ref_invoke_aio(const void *ref, const char *method, const syn_value *args,
    size_t nargs, nng_aio *aio)
{
	ref_args a;
	a.rc = ref_request(ref, method, args, nargs, &a.h, &a.r);
	sni_request_aio(aio, start_ref, &a);
}

/* An iterator over a generator method; it holds a proxy until closed. */
static int
ref_iter(const void *ref, const char *method, const syn_value *args,
    size_t nargs, const syn_iter_config *cfg, syn_iter **itp)
{
	syn_handle  h;
	sni_request r;
	if (itp != NULL) {
		*itp = NULL;
	}
	int rc = ref_request(ref, method, args, nargs, &h, &r);
	if (rc == 0 && (rc = sni_iter_open(&r, cfg, itp)) == 0 &&
	    ((uintptr_t) ref & 1) == 0) {
		sni_iter_hold_target(*itp, (syn_proxy *) ref);
	}
	return rc;
}

int
syn_ref_invoke_iter(const void *ref, const char *method, const syn_value *args,
    size_t nargs, syn_iter **itp)
{
	return ref_iter(ref, method, args, nargs, NULL, itp);
}

/* The proxy forms are the ref forms (a proxy is a ref). */
int
syn_invoke(syn_proxy *p, const char *method, const syn_value *args,
    size_t nargs, syn_result *res)
{
	return syn_ref_invoke(p, method, args, nargs, res);
}

int
syn_invoke_future(syn_proxy *p, const char *method, const syn_value *args,
    size_t nargs, syn_future **fp)
{
	return syn_ref_invoke_future(p, method, args, nargs, fp);
}

void
syn_invoke_aio(syn_proxy *p, const char *method, const syn_value *args,
    size_t nargs, nng_aio *aio)
{
	syn_ref_invoke_aio(p, method, args, nargs, aio);
}

int
syn_invoke_iter(syn_proxy *p, const char *method, const syn_value *args,
    size_t nargs, const syn_iter_config *cfg, syn_iter **itp)
{
	return ref_iter(p, method, args, nargs, cfg, itp);
}

int
syn_get(syn_proxy *p, const char *name, syn_result *res)
{
	return syn_invoke(p, name, NULL, 0, res);
}

/* ---- making objects --------------------------------------------------- */

/* The constructor call of cls on s: a call of object 0. */
static sni_request
new_request(syn_synchronizer s, const char *cls, const syn_value *args,
    size_t nargs, syn_handle *h)
{
	*h = (syn_handle) { s.id, 0 };
	return (sni_request) { s.id, h, cls, args, nargs };
}

int
syn_new(syn_synchronizer s, const char *cls, const syn_value *args,
    size_t nargs, syn_proxy **pp)
{
	if (pp == NULL) {
		return sni_error_set(SYN_EINVAL, "proxy pointer is NULL", "");
	}
	*pp = NULL;
	syn_handle  h;
	syn_result  res = SYN_RESULT_INIT;
	sni_request r   = new_request(s, cls, args, nargs, &h);
	int         rc  = sni_request_run(&r, SYN_DURATION_INFINITE, &res);
	if (rc != 0) {
		return rc;
	}
	if (res.value.type != SYN_TYPE_PROXY) { /* cannot happen */
		syn_result_fini(&res);
		return sni_error_set(
		    SYN_EINTERNAL, "the constructor returned no object", cls);
	}
	*pp = syn_proxy_ref(res.value.as.proxy);
	syn_result_fini(&res);
	return 0;
}

int
syn_new_future(syn_synchronizer s, const char *cls, const syn_value *args,
    size_t nargs, syn_future **fp)
{
	if (fp == NULL) {
		return sni_error_set(SYN_EINVAL, "future pointer is NULL", "");
	}
	*fp = NULL;
	syn_handle  h;
	sni_request r = new_request(s, cls, args, nargs, &h);
	return sni_request_start(&r, fp);
}

/* ---- context managers ------------------------------------------------- */

/*
 * enter is shielded from the thread's canceller, so that exit runs exactly
 * when enter succeeded: a cancel that comes while enter runs is seen once
 * it returned, and then exit runs at once.
 */
int
syn_enter(syn_proxy *p, syn_result *res)
{
	int rc = sni_cancel_check();
	if (rc != 0) {
		return rc;
	}
	bool was = sni_cancel_shield(true);
	rc       = syn_invoke(p, "enter", NULL, 0, res);
	sni_cancel_shield(was);
	if (rc == 0 && (rc = sni_cancel_check()) != 0) {
		if (res != NULL) {
			syn_result_fini(res);
		}
		syn_exit(p, rc, "cancelled while entering");
		return sni_error_set(rc,
		    "cancelled while the context manager entered; it has "
		    "exited",
		    "");
	}
	return rc;
}

int
syn_exit(syn_proxy *p, int rc, const char *message)
{
	/* Exit must run all the same: a message that is not UTF-8 all
	 * through (e.g. cut mid-character) goes as far as it is, and one
	 * too long for the target's messages is cut by half until the call
	 * fits. */
	bool   text = rc != 0 && message != NULL;
	size_t len  = text
	     ? sni_utf8_prefix((const uint8_t *) message, strlen(message))
	     : 0;
	bool   was  = sni_cancel_shield(true); /* exit runs to its end */
	int    out;
	for (;;) {
		syn_value args[2] = { syn_int(rc),
			text ? syn_strn(message, len) : syn_nil() };
		out               = syn_invoke(p, "exit", args, 2, NULL);
		if (out != SYN_EMSGSIZE || len == 0) {
			break;
		}
		len = sni_utf8_prefix((const uint8_t *) message, len / 2);
	}
	sni_cancel_shield(was);
	return out;
}

syn_scope
syn_scope_begin(syn_proxy *p, int *outcome)
{
	syn_scope s  = { p, outcome, 0, 0, SYN_RESULT_INIT };
	int       rc = syn_enter(p, &s.value);
	s.state_     = rc == 0 ? 1 : 0;
	if (outcome != NULL) {
		*outcome = rc;
	}
	return s;
}

void
syn_scope_end(syn_scope *s)
{
	if (s == NULL || s->state_ == 0) {
		return; /* enter failed: no exit, and the outcome is set */
	}
	s->state_ = 0;
	syn_result_fini(&s->value);
	char message[256] = "";
	if (s->rc != 0) {
		const syn_error *e = syn_last_error();
		snprintf(message, sizeof(message), "%s",
		    e->code == s->rc ? e->message : syn_strerror(s->rc));
	}
	int rc = syn_exit(s->proxy, s->rc, s->rc != 0 ? message : NULL);
	if (s->outcome != NULL) {
		*s->outcome = rc != 0 ? rc : s->rc;
	}
}
