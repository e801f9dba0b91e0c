/*
 * actors/typed.c: what the typed layer's generated code calls besides the
 * calls on refs (actors/invoke.c): refs kept and dropped, and results
 * copied out for their caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synchronicity/typed.h>

#include "core/errors.h"
#include "sync.h"

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

/* A number read from a result: a failure says what the result is. */
static int
number_read(int rc, const syn_value *v, const char *wanted)
{
	char text[96];
	if (rc == 0) {
		return 0;
	}
	if (rc == SYN_EINVAL && v != NULL) { /* (no place to put it) */
		return sni_error_set(rc, "the output pointer is NULL", "");
	}
	snprintf(text, sizeof(text), "the result is %s, %s %s",
	    v != NULL ? syn_type_name(v->type) : "missing",
	    rc == SYN_ERANGE ? "out of range of" : "expected", wanted);
	return sni_error_set(rc, text, "");
}

int
syn_typed_take_int(const syn_value *v, int64_t *out)
{
	return number_read(syn_value_get_int(v, out), v, "int");
}

int
syn_typed_take_double(const syn_value *v, double *out)
{
	return number_read(syn_value_get_double(v, out), v, "double");
}

int
syn_typed_take_bool(const syn_value *v, bool *out)
{
	return number_read(syn_value_get_bool(v, out), v, "bool");
}

/* The take functions' check of what they are given. */
static int
check_take(const syn_value *v, const void *out)
{
	if (v == NULL || out == NULL) {
		return sni_error_set(SYN_EINVAL,
		    v == NULL ? "value is NULL" : "out is NULL", "");
	}
	return 0;
}

int
syn_typed_take_cstr(const syn_value *v, syn_cstr *out)
{
	const char *s;
	size_t      len;
	int         rc = check_take(v, out);
	if (rc != 0) {
		return rc;
	}
	rc      = syn_value_get_str(v, &s, &len);
	char *c = rc == 0 ? malloc(len + 1) : NULL;
	if (rc == 0 && c == NULL) {
		rc = SYN_ENOMEM;
	}
	if (rc != 0) {
		return sni_error_set(rc, "the result is no string", "");
	}
	if (len > 0) { /* (an empty string may have no bytes at all) */
		memcpy(c, s, len);
	}
	c[len] = '\0';
	*out   = c;
	return 0;
}

int
syn_typed_take_buf(const syn_value *v, syn_buf *out)
{
	const void *p;
	size_t      len;
	int         rc = check_take(v, out);
	if (rc != 0) {
		return rc;
	}
	rc      = syn_value_get_bytes(v, &p, &len);
	void *c = rc == 0 ? malloc(len > 0 ? len : 1) : NULL;
	if (rc == 0 && c == NULL) {
		rc = SYN_ENOMEM;
	}
	if (rc != 0) {
		return sni_error_set(rc, "the result is no bytes", "");
	}
	if (len > 0) { /* (empty bytes come with no pointer) */
		memcpy(c, p, len);
	}
	*out = (syn_buf) { c, len };
	return 0;
}

int
syn_typed_take_vptr(const syn_value *v, syn_vptr *out)
{
	if (check_take(v, out) != 0) {
		return SYN_EINVAL;
	}
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
	if (check_take(v, out) != 0) {
		return SYN_EINVAL;
	}
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
