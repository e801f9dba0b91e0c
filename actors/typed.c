/*
 * actors/typed.c: what the typed layer's generated code calls: calls on
 * refs (a proxy, or inside a task the object itself), and results copied
 * out for their caller.
 */
#include <stdlib.h>
#include <string.h>

#include <synchronicity/typed.h>

#include "call.h"
#include "core/errors.h"
#include "proto/proto.h"
#include "proxy.h"
#include "sync.h"

/* The call of method on ref's object; h receives the target. */
static int
ref_request(const void *ref, const char *method, const syn_value *args,
    size_t nargs, syn_handle *h, sni_request *r)
{
	uintptr_t v = (uintptr_t) ref;
	if (ref == NULL) {
		return sni_error_set(
		    SYN_EINVAL, "ref is NULL", method != NULL ? method : "");
	}
	*h = (v & 1) ? *sni_object_handle((void *) (v & ~(uintptr_t) 1))
	             : ((const syn_proxy *) ref)->h;
	if (h->owner > UINT32_MAX) {
		return sni_error_set(SYN_ECLOSED, "no such synchronizer",
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

/* syn_ref_invoke_aio's request, or the failure to make it. */
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

int
syn_ref_invoke_iter(const void *ref, const char *method, const syn_value *args,
    size_t nargs, syn_iter **itp)
{
	syn_handle  h;
	sni_request r;
	if (itp != NULL) {
		*itp = NULL;
	}
	int rc = ref_request(ref, method, args, nargs, &h, &r);
	if (rc == 0 && (rc = sni_iter_open(&r, NULL, itp)) == 0 &&
	    ((uintptr_t) ref & 1) == 0) {
		sni_iter_hold_target(*itp, (syn_proxy *) ref);
	}
	return rc;
}

void
syn_ref_release(const void *ref)
{
	if (ref != NULL && ((uintptr_t) ref & 1) == 0) {
		syn_proxy_release((syn_proxy *) ref);
	}
}

void *
syn_ref_dup(const void *ref)
{
	if (ref != NULL && ((uintptr_t) ref & 1) == 0) {
		syn_proxy_ref((syn_proxy *) ref);
	}
	return (void *) ref;
}

/* ---- results, copied out ---------------------------------------------- */

void
syn_typed_free(const void *p)
{
	free((void *) p);
}

void
syn_vptr_free(syn_vptr v)
{
	syn_result *r = (syn_result *) v; /* the value is its first member */
	if (r != NULL) {
		syn_result_fini(r);
		free(r);
	}
}

int
syn_typed_take_cstr(const syn_value *v, syn_cstr *out)
{
	const char *s;
	size_t      len;
	int         rc = syn_value_get_str(v, &s, &len);
	char       *c  = rc == 0 ? malloc(len + 1) : NULL;
	if (rc == 0 && c == NULL) {
		rc = SYN_ENOMEM;
	}
	if (rc != 0) {
		return sni_error_set(rc, "the result is no string", "");
	}
	memcpy(c, s, len);
	c[len] = '\0';
	*out   = c;
	return 0;
}

int
syn_typed_take_buf(const syn_value *v, syn_buf *out)
{
	const void *p;
	size_t      len;
	int         rc = syn_value_get_bytes(v, &p, &len);
	void       *c  = rc == 0 ? malloc(len > 0 ? len : 1) : NULL;
	if (rc == 0 && c == NULL) {
		rc = SYN_ENOMEM;
	}
	if (rc != 0) {
		return sni_error_set(rc, "the result is no bytes", "");
	}
	memcpy(c, p, len);
	*out = (syn_buf) { c, len };
	return 0;
}

int
syn_typed_take_vptr(const syn_value *v, syn_vptr *out)
{
	syn_result *r  = calloc(1, sizeof(*r));
	int         rc = r != NULL ? syn_value_copy(v, r) : SYN_ENOMEM;
	if (rc == 0 &&
	    (rc = sni_translate_hold_copy(&r->value, &r->held_)) != 0) {
		syn_result_fini(r); /* the copy keeps its proxies */
	}
	if (rc != 0) {
		free(r);
		return sni_error_set(rc, "the result could not be copied", "");
	}
	*out = &r->value;
	return 0;
}

int
syn_typed_take_ref(const syn_value *v, void *out)
{
	void **p = out;
	if (v->type == SYN_TYPE_NIL) {
		*p = NULL;
		return 0;
	}
	if (v->type != SYN_TYPE_PROXY) {
		return sni_error_set(
		    SYN_EBADTYPE, "the result is no object", "");
	}
	*p = syn_proxy_ref(v->as.proxy);
	return 0;
}
