/*
 * A libFuzzer target for the strict decoder: every input goes through
 * sni_decode_value (default limits, pointers refused and admitted), a CALL
 * decode with its arguments filled the way core/task.c place_args does,
 * a reply decode, and the generator messages (OPEN, NEXT, CLOSE, and an
 * ITEMS batch read item by item, as an iterator reads it). Whatever is accepted
 * is walked and freed, so ASan sees any bad read and LeakSanitizer any leak.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads all of an accepted value, so that bad pointers show. */
static void
walk(const syn_value *v)
{
	char buf[64];
	syn_value_format(v, buf, sizeof(buf));
	(void) syn_value_equal(v, v);
}

static void
fuzz_value(const uint8_t *data, size_t size, bool allow_ptr)
{
	sni_limits lim = { SNI_DEFAULT_MAX_DEPTH, SNI_DEFAULT_MAX_SIZE,
		allow_ptr, false, false, false };
	syn_value  v;
	void      *mem;
	if (sni_decode_value(data, size, &lim, &v, &mem) == 0) {
		walk(&v);
		free(mem);
	}
}

/* A call's context, checked by the decoder: each key the seeds use is
 * looked up as syn_context_get does, and its value decoded. */
static void
fuzz_context(const sni_call_view *cv, const sni_limits *lim)
{
	static const char *const keys[] = { "request", "deep", "k" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const uint8_t *v;
		size_t         vlen;
		void          *vmem;
		syn_value      value;
		if (sni_context_find(cv->context, cv->context_len, keys[i],
		        strlen(keys[i]), &v, &vlen) == 0) {
			if (sni_decode_value(v, vlen, lim, &value, &vmem) !=
			    0) {
				abort(); /* the decoder passed what cannot be
				            read */
			}
			walk(&value);
			free(vmem);
		}
	}
}

/* Fills the arguments as place_args does: the array first, then the rest. */
static void
fuzz_call(const uint8_t *data, size_t size)
{
	sni_limits lim = { SNI_DEFAULT_MAX_DEPTH, SNI_DEFAULT_MAX_SIZE, false,
		false, false, false };
	sni_call_view cv;
	if (sni_msg_decode_call(data, size, &lim, &cv) != 0) {
		return;
	}
	uint8_t *mem = malloc(cv.args_need > 0 ? cv.args_need : 1);
	if (mem == NULL) {
		return;
	}
	sni_bump   b   = { mem, mem + cv.args_need };
	syn_value *out = (syn_value *) b.p;
	b.p += sni_bump_round((size_t) cv.nargs * sizeof(syn_value));
	sni_reader r = cv.args;
	sni_fill_array(&r, &b, out);
	if (b.p != b.end) {
		abort(); /* pass one and pass two disagree on the memory */
	}
	for (uint32_t i = 0; i < cv.nargs; i++) {
		walk(&out[i]);
	}
	free(mem);
	fuzz_context(&cv, &lim);
}

static void
fuzz_reply(const uint8_t *data, size_t size)
{
	sni_limits lim = { SNI_DEFAULT_MAX_DEPTH, SNI_DEFAULT_MAX_SIZE, false,
		false, false, false };
	uint64_t   id;
	int        code;
	syn_value  v;
	const syn_error *err;
	void            *mem;
	if (sni_msg_decode_reply(
	        data, size, &lim, &id, &code, &v, &err, &mem) != 0) {
		return;
	}
	if (err != NULL) {
		/* An error's strings come from the message; an END's is the
		 * library's own. */
		if (code == 0 ||
		    (code != SYN_EEND &&
		        strlen(err->message) + strlen(err->where) > size)) {
			abort();
		}
	} else {
		walk(&v);
	}
	free(mem);
}

static void
fuzz_stream(const uint8_t *data, size_t size)
{
	sni_limits lim = { SNI_DEFAULT_MAX_DEPTH, SNI_DEFAULT_MAX_SIZE, false,
		false, false, false };
	sni_call_view  cv;
	sni_items_view iv;
	uint64_t       id, stream;
	uint32_t       window;
	syn_value      v;
	void          *mem;
	(void) sni_msg_decode_open(data, size, &lim, &cv, &stream, &window);
	(void) sni_msg_decode_close(data, size, &lim, &id, &stream);
	if (sni_msg_decode_next(data, size, &lim, &id, &stream, &v, &mem) ==
	    0) {
		walk(&v);
		free(mem);
	}
	if (sni_msg_decode_items(data, size, &lim, &iv, &mem) != 0) {
		return;
	}
	if (iv.err != NULL) {
		walk(&(syn_value) {
		    .type = SYN_TYPE_ERROR, .as.error = iv.err });
	}
	free(mem);
	for (uint32_t i = 0; i < iv.count; i++) {
		if (sni_decode_value_next(&iv.items, &lim, &v, &mem) != 0) {
			break;
		}
		walk(&v);
		free(mem);
	}
}

/* What a remote's replies and a door's peers go through first: the
 * whole-message check (handles admitted and denied), the call id, a
 * CANCEL, a POLL, the wrapped messages of callbacks, a FETCH, BATCH and
 * REPLIES bundles and the messages in them, and the renaming of handles
 * in place (on a copy: the input is read-only). */
static int
rename_handle(void *ctx, syn_handle *h, bool *owned)
{
	(void) ctx;
	h->owner ^= *owned ? 1 : 2;
	*owned = !*owned;
	return 0;
}

static void
fuzz_whole(const uint8_t *data, size_t size)
{
	for (int deny = 0; deny < 2; deny++) {
		sni_limits lim = { SNI_DEFAULT_MAX_DEPTH, SNI_DEFAULT_MAX_SIZE,
			false, deny != 0, false, false };
		int        kind;
		if (sni_msg_check(data, size, &lim, &kind) == 0 &&
		    (kind < SNI_MSG_CALL || kind > SNI_MSG_LAST)) {
			abort(); /* accepted a kind that does not exist */
		}
	}
	sni_limits lim = { SNI_DEFAULT_MAX_DEPTH, SNI_DEFAULT_MAX_SIZE, false,
		false, false, false };
	uint64_t   id, target;
	(void) sni_msg_call_id(data, size, &id);
	(void) sni_msg_decode_cancel(data, size, &lim, &id, &target);
	(void) sni_msg_decode_poll(data, size, &lim, &id);
	const void *inner;
	size_t      inner_len;
	for (int kind = SNI_MSG_CALLBACK; kind <= SNI_MSG_RESULT; kind++) {
		(void) sni_msg_decode_wrapped(
		    data, size, &lim, kind, &id, &target, &inner, &inner_len);
	}
	(void) sni_msg_decode_fetch(data, size, &lim, &id, &target);
	(void) sni_msg_decode_hello(data, size, &lim, &id, &target);
	for (int kind = SNI_MSG_BATCH; kind <= SNI_MSG_REPLIES; kind++) {
		uint64_t   pending;
		uint32_t   count;
		sni_reader r;
		if (sni_msg_decode_bundle(data, size, &lim, kind, &id, &pending,
		        &count, &r) != 0) {
			continue;
		}
		for (uint32_t i = 0; i < count; i++) { /* each, as a message */
			sni_msg_bundle_next(&r, &inner, &inner_len);
			int inner_kind;
			(void) sni_msg_check(
			    inner, inner_len, &lim, &inner_kind);
			(void) sni_msg_call_id(inner, inner_len, &id);
		}
		if (sni_reader_left(&r) != 0) {
			abort(); /* a bundle checked whole has no trailing bytes
			          */
		}
	}
	uint8_t *copy = malloc(size + 1);
	if (copy != NULL) {
		memcpy(copy, data, size);
		(void) sni_msg_each_handle(
		    copy, size, SNI_DEFAULT_MAX_DEPTH, rename_handle, NULL);
		free(copy);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_whole(data, size);
	fuzz_value(data, size, false);
	fuzz_value(data, size, true);
	fuzz_call(data, size);
	fuzz_reply(data, size);
	fuzz_stream(data, size);
	return 0;
}
