/*
 * core/context.c: the call contexts of threads and tasks
 * (synchronicity/context.h). A context is immutable bytes: setting a key
 * makes new bytes and frees the old, so a call that copied them is never
 * touched again.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <synchronicity/context.h>

#include "context.h"
#include "errors.h"
#include "pool.h"
#include "proto/proto.h"
#include "task.h"

/* The contexts that are not empty, in all threads and tasks: while there
 * are none, a call looks no further. */
static atomic_long contexts_set;

/* This thread's own context; its bytes are also the value of
 * thread_key, whose destructor frees them when the thread exits. */
static _Thread_local sni_context thread_context;
static pthread_key_t             thread_key;
static pthread_once_t            thread_key_once = PTHREAD_ONCE_INIT;

/* Completion callbacks running on this thread now (nested): they work
 * on the thread's context, not on the task whose reply runs them. */
static _Thread_local unsigned in_callback;

static void
thread_exits(void *bytes)
{
	/* (a destructor of a key made later may still use the context) */
	thread_context = (sni_context) { NULL, 0 };
	free(bytes);
	atomic_fetch_sub_explicit(&contexts_set, 1, memory_order_relaxed);
}

void
sni_context_callback_begin(void)
{
	in_callback++;
}

void
sni_context_callback_end(void)
{
	in_callback--;
}

unsigned
sni_context_callback_suspend(void)
{
	unsigned n  = in_callback;
	in_callback = 0;
	return n;
}

void
sni_context_callback_resume(unsigned n)
{
	in_callback = n;
}

static void
make_thread_key(void)
{
	pthread_key_create(&thread_key, thread_exits);
}

/* The context this thread's functions work on: its task's (running
 * here, or waiting for the blocking method or syn_run_blocking job this
 * pool thread runs), or its own. */
static sni_context *
owned_here(bool *is_thread)
{
	sni_task *t = NULL;
	if (in_callback == 0 && (t = sni_task_current()) == NULL &&
	    (t = sni_task_lent()) == NULL) {
		t = sni_pool_job_task();
	}
	*is_thread = t == NULL;
	return t != NULL ? &t->context : &thread_context;
}

const sni_context *
sni_context_current(void)
{
	if (atomic_load_explicit(&contexts_set, memory_order_relaxed) == 0) {
		return NULL;
	}
	bool         is_thread;
	sni_context *c = owned_here(&is_thread);
	return c->len > 0 ? c : NULL;
}

/* c's bytes become bytes[0..len-1] (len 0: none, bytes NULL). */
static void
replace(sni_context *c, bool is_thread, uint8_t *bytes, size_t len)
{
	long change = (len > 0) - (c->len > 0);
	free(c->bytes);
	c->bytes = bytes;
	c->len   = (uint32_t) len;
	if (change != 0) {
		atomic_fetch_add_explicit(
		    &contexts_set, change, memory_order_relaxed);
	}
	if (is_thread) { /* (what thread_exits frees) */
		pthread_once(&thread_key_once, make_thread_key);
		pthread_setspecific(thread_key, bytes);
	}
}

/* c's bytes become a copy of src[0..len-1] (len 0: none); SYN_ENOMEM,
 * c unchanged. */
static int
replace_with_copy(
    sni_context *c, bool is_thread, const uint8_t *src, size_t len)
{
	uint8_t *mine = NULL;
	if (len > 0 && (mine = malloc(len)) == NULL) {
		return SYN_ENOMEM;
	}
	if (len > 0) {
		memcpy(mine, src, len);
	}
	replace(c, is_thread, mine, len);
	return 0;
}

int
sni_context_copy(sni_context *c, const uint8_t *bytes, size_t len)
{
	return replace_with_copy(c, false, bytes, len);
}

void
sni_context_fini(sni_context *c)
{
	if (c->len > 0) {
		replace(c, false, NULL, 0);
	}
}

/* A key as the context takes it; its length in *klen. */
static int
check_key(const char *key, size_t *klen)
{
	*klen = key != NULL ? strnlen(key, SYN_CONTEXT_KEY_MAX + 1) : 0;
	if (*klen == 0 || *klen > SYN_CONTEXT_KEY_MAX ||
	    !sni_utf8_valid((const uint8_t *) key, *klen)) {
		return sni_error_set(SYN_EINVAL,
		    key == NULL ? "context key is NULL"
		                : "a context key has 1 to 255 bytes of UTF-8",
		    "");
	}
	return 0;
}

/* Sets (value) or removes (value NULL) key in the current context. */
static int
change(const char *key, size_t klen, const syn_value *value)
{
	bool         is_thread;
	sni_context *c = owned_here(&is_thread);
	sni_wbuf     w;
	uint32_t     count;
	sni_wbuf_init(&w);
	int rc =
	    sni_context_with(&w, c->bytes, c->len, key, klen, value, &count);
	if (rc == 0 &&
	    (rc = replace_with_copy(
	         c, is_thread, w.buf, count > 0 ? w.len : 0)) != 0) {
		sni_detail_set("no memory for the call context");
	}
	sni_wbuf_fini(&w);
	return rc != 0 ? sni_error_set_detail(rc, key) : 0;
}

int
syn_context_set(const char *key, const syn_value *value)
{
	size_t klen;
	int    rc = check_key(key, &klen);
	if (rc != 0) {
		return rc;
	}
	if (value == NULL) {
		return sni_error_set(SYN_EINVAL, "context value is NULL", key);
	}
	return change(key, klen, value);
}

int
syn_context_unset(const char *key)
{
	size_t klen;
	int    rc = check_key(key, &klen);
	return rc != 0 ? rc : change(key, klen, NULL);
}

void
syn_context_clear(void)
{
	bool         is_thread;
	sni_context *c = owned_here(&is_thread);
	if (c->len > 0) {
		replace(c, is_thread, NULL, 0);
	}
}

int
syn_context_get(const char *key, syn_result *res)
{
	if (res == NULL) {
		return sni_error_set(SYN_EINVAL, "result pointer is NULL", "");
	}
	*res = (syn_result) SYN_RESULT_INIT;
	if (key == NULL) {
		return sni_error_set(SYN_EINVAL, "context key is NULL", "");
	}
	bool               is_thread;
	const sni_context *c = owned_here(&is_thread);
	const uint8_t     *v;
	size_t             vlen;
	if (sni_context_find(c->bytes, c->len, key, strlen(key), &v, &vlen) !=
	    0) {
		return sni_error_set(
		    SYN_ENOENT, "the call context has no such key", key);
	}
	static const sni_limits lim = { .max_depth = SNI_MAX_DEPTH,
		.max_size                          = SYN_CONTEXT_MAX };
	int rc = sni_decode_value(v, vlen, &lim, &res->value, &res->mem_);
	return rc != 0 ? sni_error_set_detail(rc, key) : 0;
}

struct syn_context_snap {
	uint32_t len;
	uint8_t  bytes[];
};

int
syn_context_capture(syn_context_snap **sp)
{
	if (sp == NULL) {
		return sni_error_set(
		    SYN_EINVAL, "snapshot pointer is NULL", "");
	}
	bool               is_thread;
	const sni_context *c = owned_here(&is_thread);
	*sp                  = malloc(sizeof(**sp) + c->len);
	if (*sp == NULL) {
		return sni_error_set(
		    SYN_ENOMEM, "no memory for a context snapshot", "");
	}
	(*sp)->len = c->len;
	if (c->len > 0) {
		memcpy((*sp)->bytes, c->bytes, c->len);
	}
	return 0;
}

int
syn_context_install(const syn_context_snap *snap)
{
	if (snap == NULL) {
		return sni_error_set(SYN_EINVAL, "snapshot is NULL", "");
	}
	bool         is_thread;
	sni_context *c = owned_here(&is_thread);
	return replace_with_copy(c, is_thread, snap->bytes, snap->len) != 0
	    ? sni_error_set(SYN_ENOMEM, "no memory for the call context", "")
	    : 0;
}

void
syn_context_snap_free(syn_context_snap *snap)
{
	free(snap);
}
