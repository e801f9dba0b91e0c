/*
 * proto: the wire. Values to msgpack and back, and the framing of the
 * messages a call is made of. No threads, no sockets: everything here is a
 * pure function of its inputs, and every decoder is bounded.
 *
 * Internal to the library (prefix sni_); the public value model is in
 * <synchronicity/value.h>.
 */
#ifndef SNI_PROTO_H
#define SNI_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include <synchronicity/context.h>
#include <synchronicity/error.h>
#include <synchronicity/value.h>

/*
 * Limits a decoder enforces. A value nested deeper than max_depth, or an
 * input longer than max_size, is SYN_EPROTO; allow_ptr admits pointer
 * values (only on the in-process lane of this process); deny_handles
 * refuses handles; deny_owned refuses the handles that carry a reference
 * (OBJECT exts: only the object's own synchronizer sends them, and a
 * client of another process is never that). In encoding, allow_ptr writes
 * pointer values and proxy_refs writes a reply's proxies as PROXY exts;
 * in decoding, allow_ptr also admits PROXY exts (both only ever come
 * from this process).
 */
typedef struct sni_limits {
	uint32_t max_depth;
	size_t   max_size;
	bool     allow_ptr;
	bool     deny_handles;
	bool     deny_owned;
	bool     proxy_refs;
} sni_limits;

/*
 * The bytes of stack left below the caller's frame, when the runtime
 * above knows them (core sets this once, at load: a task's stack can be
 * as small as 16 KiB), else NULL or SIZE_MAX. At every level of a nested
 * value, the decoder and the encoder check that SNI_STACK_RESERVE is
 * left, and fail with SYN_ENOMEM rather than run off the stack. The
 * sanitizers' frames and interceptors take more.
 */
extern size_t (*sni_stack_left_fn)(void);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SNI_STACK_RESERVE ((size_t) 8 * 1024)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SNI_STACK_RESERVE ((size_t) 8 * 1024)
#endif
#endif
#ifndef SNI_STACK_RESERVE
#define SNI_STACK_RESERVE ((size_t) 4 * 1024)
#endif

/* True when too little stack is left for one more level of a value
 * (and the detail says so). */
bool sni_stack_short(void);

#define SNI_DEFAULT_MAX_DEPTH 32u
#define SNI_MAX_DEPTH 64u /* the most config.max_depth may ask for */
#define SNI_DEFAULT_MAX_SIZE ((size_t) 16 * 1024 * 1024)

/* The msgpack ext types of the values msgpack has no type for. */
enum sni_ext_type {
	SNI_EXT_HANDLE = 1, /* 16 bytes: owner, object (big-endian) */
	SNI_EXT_ERROR  = 2, /* msgpack [code, message, where] */
	SNI_EXT_PTR    = 3, /* 16 bytes: process nonce, pointer */
	SNI_EXT_OBJECT = 4, /* as HANDLE, and it carries a reference */
	SNI_EXT_PROXY  = 5, /* as HANDLE, with a reference to this process's
	                       proxy of it (a reply's, in this process only) */
};

/* What sni_encode_value may write besides plain values (flags). */
enum sni_encode_flags {
	SNI_ENCODE_PTR = 1, /* pointer values (for this process only) */
	/* each proxy as a PROXY ext, whose reference the sender takes once
	 * the value is encoded (actors/translate.c, sni_translate_sent) */
	SNI_ENCODE_PROXY_REFS = 2,
};

/* The encode flags that lim asks for. */
static inline unsigned
sni_limits_encode_flags(const sni_limits *lim)
{
	return (lim->allow_ptr ? SNI_ENCODE_PTR : 0u) |
	    (lim->proxy_refs ? SNI_ENCODE_PROXY_REFS : 0u);
}

/*
 * An object's handle, as the codec writes it for a PROXY or an OBJECT
 * value. A proxy begins with its object's handle, and an object's handle
 * sits just before the object (actors/object.c keeps both so).
 */
static inline const syn_handle *
sni_proxy_handle(const syn_proxy *p)
{
	return (const syn_handle *) (const void *) p;
}

static inline const syn_handle *
sni_object_handle(const void *self)
{
	return (const syn_handle *) self - 1;
}

/*
 * A decoded HANDLE whose len is 1 came as an OBJECT ext: its sender, the
 * object's synchronizer, handed out a reference with it, which the proxy
 * made of it owes back.
 */
#define SNI_HANDLE_OWNED 1u

/*
 * A decoded HANDLE whose len is 2 came as a PROXY ext: its sender, a
 * task of this process, took a reference to this process's proxy of it,
 * which whoever reads the value takes over (or releases).
 */
#define SNI_HANDLE_CARRIED 2u

/*
 * What a value holds besides its memory: the proxies that translation
 * made for it (actors/translate.c). release drops them and frees h.
 */
typedef struct sni_held sni_held;
struct sni_held {
	void (*release)(sni_held *h);
};

static inline void
sni_held_release(void *h)
{
	if (h != NULL) {
		((sni_held *) h)->release((sni_held *) h);
	}
}

#include "detail.h"
#include "reader.h"
#include "writer.h"

/* ---- writing values ------------------------------------------------- */

/*
 * Appends the msgpack encoding of v, which must nest at most max_depth
 * levels. Pointers are encoded only with SNI_ENCODE_PTR in flags, and
 * proxies as PROXY exts with SNI_ENCODE_PROXY_REFS. Failures land in
 * w->err and are also returned: SYN_EINVAL (an invalid value, bad UTF-8,
 * too deep, a pointer the calling thread refuses: see below; a detail is
 * recorded with sni_detail_set), SYN_ENOTSUP (a pointer where pointers
 * cannot go), SYN_ENOMEM.
 */
int sni_encode_value(
    sni_wbuf *w, const syn_value *v, uint32_t max_depth, unsigned flags);

/*
 * From now on the calling thread's encodings refuse pointers into
 * [lo, hi), with SYN_EINVAL: the stack its tasks share, which they do not
 * own while they wait (core/shared.c). lo == hi: none refused (the
 * default).
 */
void sni_encode_refuse_ptrs(const void *lo, const void *hi);

/* Appends the msgpack encodings of a list header and of vals[0..n-1]. */
int sni_encode_array(sni_wbuf *w, const syn_value *vals, size_t n,
    uint32_t max_depth, unsigned flags);

/* Appends an error ext value. NULL strings are written as "". */
void sni_encode_error(
    sni_wbuf *w, int code, const char *message, const char *where);

/* ---- reading values ------------------------------------------------- */

/*
 * Pass one: checks the msgpack value at r (every length, the nesting, the
 * UTF-8 of strings, the ext types) and moves r past it, adding to *need the
 * bytes of memory that decoding it takes (sni_fill_value). Returns 0 or
 * SYN_EPROTO, with a detail recorded through sni_detail_set.
 */
int sni_scan_value(sni_reader *r, const sni_limits *lim, size_t *need);

/*
 * Pass one for a top-level array of values (a call's arguments): checks it
 * and stores its length in *count; *need receives the memory for the
 * count values and what they point to.
 */
int sni_scan_array(
    sni_reader *r, const sni_limits *lim, uint32_t *count, size_t *need);

/*
 * A bump allocator over memory of the size pass one computed; it cannot
 * run out when given that much.
 */
typedef struct sni_bump {
	uint8_t *p;
	uint8_t *end;
} sni_bump;

/* Rounds n up to the alignment the bump allocator keeps (8 bytes). */
static inline size_t
sni_bump_round(size_t n)
{
	return (n + 7u) & ~(size_t) 7u;
}

/*
 * Pass two: decodes the value at r, which pass one accepted, into *out,
 * taking memory from b. Moves r past it.
 */
void sni_fill_value(sni_reader *r, sni_bump *b, syn_value *out);

/* Pass two for an array accepted by sni_scan_array: fills out[0..count-1]. */
void sni_fill_array(sni_reader *r, sni_bump *b, syn_value *out);

/* Whether v is a number, a string or anything else that holds no value
 * of its own: no walk of it finds a handle, proxy or object to
 * translate. */
static inline bool
sni_value_plain(const syn_value *v)
{
	return v->type < SYN_TYPE_LIST || v->type == SYN_TYPE_ERROR ||
	    v->type == SYN_TYPE_PTR;
}

/* Whether every one of the n values is plain. */
static inline bool
sni_values_plain(const syn_value *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!sni_value_plain(&v[i])) {
			return false;
		}
	}
	return true;
}

/*
 * Both passes over one value of exactly len bytes, into memory allocated
 * with malloc (in *memp, NULL when the value needs none; free() it).
 * Trailing bytes are SYN_EPROTO.
 */
int sni_decode_value(const void *p, size_t len, const sni_limits *lim,
    syn_value *out, void **memp);

/*
 * Both passes over the next value at r, which may be followed by more:
 * moves r past it. Memory as sni_decode_value.
 */
int sni_decode_value_next(
    sni_reader *r, const sni_limits *lim, syn_value *out, void **memp);

/* -------------------------------------------------------------------------
 * Call contexts (proto/context.c). On the wire, a msgpack map of 1 or more
 * entries, each a key (a string of 1 to SYN_CONTEXT_KEY_MAX bytes of
 * UTF-8) and a value of plain data (no handles, objects, proxies or
 * pointers), SYN_CONTEXT_MAX bytes in all. A context is made only by
 * sni_context_with, or read from a message by sni_context_scan: the
 * functions that take one as bytes take it checked.
 */

/*
 * Checks the context at r against lim (its values one level less deep
 * than lim allows: the map is a level), moving r past it: 0, or
 * SYN_EPROTO / SYN_EMSGSIZE with a detail.
 */
int sni_context_scan(sni_reader *r, const sni_limits *lim);

/*
 * Finds key (klen bytes) in the context cx[0..len-1] (len 0: empty): 0
 * with its value's msgpack bytes at *vp (*vlen of them), or SYN_ENOENT.
 */
int sni_context_find(const uint8_t *cx, size_t len, const char *key,
    size_t klen, const uint8_t **vp, size_t *vlen);

/*
 * Writes into w the context cx[0..len-1] (len 0: empty) with key (klen
 * bytes, checked by the caller) set to v, or removed when v is NULL;
 * *count receives its entries (nothing is written for 0). SYN_EINVAL
 * when v is not plain data (see above) or nests deeper than
 * SNI_DEFAULT_MAX_DEPTH - 1 levels, SYN_EMSGSIZE when the context would
 * be larger than SYN_CONTEXT_MAX, SYN_ENOMEM; with a detail.
 */
int sni_context_with(sni_wbuf *w, const uint8_t *cx, size_t len,
    const char *key, size_t klen, const syn_value *v, uint32_t *count);

/* -------------------------------------------------------------------------
 * Helpers shared by both directions.
 */

/* This process's pointer nonce (changes in a forked child). */
uint64_t sni_process_nonce(void);

/* Makes a new nonce: called in the child after fork. */
void sni_process_nonce_reset(void);

/* -------------------------------------------------------------------------
 * Messages. Every message body starts with SNI_MAGIC, SNI_VERSION and a
 * kind, followed by msgpack fields:
 *   CALL    call id, target (nil or a handle), method (str), [args]
 *   RETURN  call id, value
 *   ERROR   call id, error (ext)
 * and, for generators (a stream is named by the id its consumer chose):
 *   OPEN    call id, target, method, [args], stream id, window: starts
 *           the generator and asks for its first item
 * A CALL or an OPEN may end with one more field, its call context (see
 * "Call contexts" below): none when the caller's context is empty.
 *   NEXT    call id, stream id, sent value: asks for the next item
 *   THROW   call id, stream id, error (ext): as NEXT, raising the error
 *           at the generator's pending yield instead of sending a value
 *   CLOSE   call id, stream id: closes the stream; RETURN nil once the
 *           generator's cleanup ran
 *   END     call id: the answer to OPEN or NEXT when the stream is over
 *   ITEMS   call id, status, count, then count values: a batch of items,
 *           for a stream opened with a window; status is nil (more to
 *           come), true (the stream ended after them) or an error ext
 *           (it failed after them)
 * OPEN and NEXT are answered by RETURN (the item), END or ERROR, or with
 * a window by ITEMS (or ERROR). And for objects:
 *   RELEASE call id, handle, count: count references that the object's
 *           synchronizer handed out come back; answered by RETURN nil
 *   RAW     as RETURN, for a method whose results are not translated
 * and, from another process (its calls have call ids of their own):
 *   CANCEL  call id, the call id of a CALL or OPEN of the same peer:
 *           cancels its task; answered by RETURN nil
 * and for callbacks, the calls a server makes on objects of its client
 * (the server cannot send requests of its own: it answers a request
 * that the client keeps waiting with it):
 *   POLL     call id: waits for the server's next message to the client;
 *            answered by CALLBACK
 *   CALLBACK call id, callback id, message (bin): a CALL or RELEASE of
 *            the server's, for the client's objects; callback id names it
 *   RESULT   call id, callback id, message (bin): the client's answer
 *            to the CALL of that callback id (a RETURN or ERROR);
 *            answered by RETURN nil
 * and for many calls in one message, from another process:
 *   BATCH    call id (the batch's id), 0, count, then count messages
 *            (bin), each a whole CALL with its own call id; answered by
 *            REPLIES
 *   REPLIES  call id, pending, count, then count messages (bin): the
 *            replies of a batch's calls that finished, in any order,
 *            each with its call's id; pending of its calls are not
 *            answered yet: a FETCH asks for them
 *   FETCH    call id, batch id: waits for more replies of that batch of
 *            the same peer; answered by REPLIES
 * and, once per connection, from the client:
 *   HELLO    call id, the largest reply the client takes (uint);
 *            answered by RETURN with the largest request the server
 *            takes on that connection (uint): batches are sized by it
 * In a request from a client, a handle whose owner has SNI_PEER_OWNER
 * set names an object of the client itself (owner and object as the
 * client knows them, each under 2^32).
 */
#define SNI_PEER_OWNER (1ull << 63)
#define SNI_MAGIC 0xc1 /* a byte msgpack never uses */
#define SNI_VERSION 1
#define SNI_HDR_LEN 3
#define SNI_METHOD_MAX 255

/* The smallest stream id (0 and 1 are the keys maps reserve). */
#define SNI_STREAM_MIN 2

enum sni_msg_kind {
	SNI_MSG_CALL     = 1,
	SNI_MSG_RETURN   = 2,
	SNI_MSG_ERROR    = 3,
	SNI_MSG_OPEN     = 4,
	SNI_MSG_NEXT     = 5,
	SNI_MSG_CLOSE    = 6,
	SNI_MSG_END      = 7,
	SNI_MSG_ITEMS    = 8,
	SNI_MSG_RELEASE  = 9,
	SNI_MSG_RAW      = 10, /* a RETURN whose handles stay handles */
	SNI_MSG_CANCEL   = 11,
	SNI_MSG_POLL     = 12,
	SNI_MSG_CALLBACK = 13,
	SNI_MSG_RESULT   = 14,
	SNI_MSG_BATCH    = 15,
	SNI_MSG_REPLIES  = 16,
	SNI_MSG_FETCH    = 17,
	SNI_MSG_HELLO    = 18,
	SNI_MSG_THROW    = 19,
	SNI_MSG_LAST     = SNI_MSG_THROW, /* the highest kind */
};

/* The most messages a BATCH or a REPLIES carries. */
#define SNI_BATCH_MAX 64
/* The batches one connection may have open at once (started, or with
 * replies not fetched yet): a server refuses more (SYN_EBUSY), and a
 * client holds its next batch back until one ends. */
#define SNI_PEER_BATCHES_MAX 256
/* The generators one connection may keep open at once (each holds a
 * suspended task and its stack): a server refuses more OPENs
 * (SYN_EBUSY). */
#define SNI_PEER_STREAMS_MAX 1024
/* And all the connections from one host (see core/admission.h), and all
 * connections together. */
#define SNI_HOST_STREAMS_MAX 4096
#define SNI_STREAMS_MAX 16384

/* What a bundle adds to the messages in it, at most: a BATCH or REPLIES
 * of messages each within a limit fits in the limit plus this. */
#define SNI_BUNDLE_SLACK 64

/* Up to this many arguments, all numbers, bools or nil, come decoded in
 * the view of a call (the commonest call reads them once). */
#define SNI_CALL_SIMPLE_MAX 4

/* A call as the decoder sees it: the fields point into the message. */
typedef struct sni_call_view {
	uint64_t       call_id;
	bool           has_target;
	syn_handle     target;
	const char    *method; /* not NUL-terminated */
	uint32_t       method_len;
	sni_reader     args; /* positioned at the argument array */
	uint32_t       nargs;
	size_t         args_need; /* memory the arguments take decoded */
	uint32_t       pipe;      /* set by the actor: the nng pipe, or 0 */
	bool           remote;    /* set by the actor: from another process */
	bool           args_decoded; /* the arguments are in simple_args */
	const uint8_t *context;      /* its call context (checked), or NULL */
	uint32_t       context_len;  /* its bytes; 0: none */
	syn_value      simple_args[SNI_CALL_SIMPLE_MAX];
} sni_call_view;

/*
 * Encodes a CALL into w, after its header. Failures as sni_encode_value,
 * with a detail naming the argument.
 */
int sni_msg_encode_call(sni_wbuf *w, uint64_t call_id, const syn_handle *target,
    const char *method, size_t method_len, const syn_value *args, size_t nargs,
    const sni_limits *lim);

/*
 * The commonest call written without a buffer: a CALL with call id 0, to
 * target or none, a name of 1 to 31 bytes of UTF-8 and at most
 * SNI_CALL_SIMPLE_MAX arguments that are numbers, bools or nil, into out
 * (cap bytes), byte for byte what sni_msg_encode_call writes. Returns its
 * length (at most 4 + 18 + 32 + 1 + 9 * SNI_CALL_SIMPLE_MAX, under every
 * limit a synchronizer accepts), or 0, out unspecified, for any other
 * call or when cap is short of room for 9 bytes an argument:
 * sni_msg_encode_call writes those, or reports what is wrong.
 */
size_t sni_msg_put_simple_call(uint8_t *out, size_t cap,
    const syn_handle *target, const char *method, size_t method_len,
    const syn_value *args, size_t nargs);

/*
 * Appends the call context cx[0..len-1] (made by sni_context_with) to
 * the CALL or OPEN just encoded into w, and checks the size of the whole
 * against lim: SYN_EMSGSIZE (with a detail), SYN_ENOMEM, or 0.
 */
int sni_msg_add_context(
    sni_wbuf *w, const void *cx, size_t len, const sni_limits *lim);

/*
 * Encodes an OPEN into w: a CALL of a generator (see above) whose items
 * go to stream, window items ahead (0: one at a time).
 */
int sni_msg_encode_open(sni_wbuf *w, uint64_t call_id, const syn_handle *target,
    const char *method, size_t method_len, const syn_value *args, size_t nargs,
    const sni_limits *lim, uint64_t stream, uint32_t window);

/* Encodes a NEXT sending v (nil for a plain next), a CLOSE, an END. */
int sni_msg_encode_next(sni_wbuf *w, uint64_t call_id, uint64_t stream,
    const syn_value *v, const sni_limits *lim);
/* Encodes a THROW of code (not 0) with message (NULL: none) and where. */
int  sni_msg_encode_throw(sni_wbuf *w, uint64_t call_id, uint64_t stream,
     int code, const char *message, const char *where, const sni_limits *lim);
void sni_msg_encode_close(sni_wbuf *w, uint64_t call_id, uint64_t stream);
void sni_msg_encode_end(sni_wbuf *w, uint64_t call_id);

/* The longest message sni_msg_put_simple_next writes. */
#define SNI_SIMPLE_NEXT_MAX (SNI_HDR_LEN + 1 + 9 + 9)

/*
 * The commonest NEXT written without a buffer: call id 0, to stream,
 * sending v, a number, bool or nil, into out (SNI_SIMPLE_NEXT_MAX bytes),
 * byte for byte what sni_msg_encode_next writes. Returns its length
 * (under every limit a synchronizer accepts), or 0, nothing written, when
 * v needs the general path.
 */
size_t sni_msg_put_simple_next(
    uint8_t *out, uint64_t stream, const syn_value *v);

/*
 * Encodes an ITEMS into w: count items already encoded back to back in
 * items[0..len-1], and the status: 0 (more to come), SYN_EEND (the end
 * after them) or an error code with its message and where.
 */
void sni_msg_encode_items(sni_wbuf *w, uint64_t call_id, int status,
    const char *message, const char *where, const void *items, size_t len,
    uint32_t count);

/* Encodes a RELEASE of count references to the object h. */
void sni_msg_encode_release(
    sni_wbuf *w, uint64_t call_id, const syn_handle *h, uint64_t count);

/* Encodes a CANCEL of the call whose id is target. */
void sni_msg_encode_cancel(sni_wbuf *w, uint64_t call_id, uint64_t target);

/* Encodes a POLL. */
void sni_msg_encode_poll(sni_wbuf *w, uint64_t call_id);

/* Checks a POLL body. */
int sni_msg_decode_poll(
    const void *body, size_t len, const sni_limits *lim, uint64_t *call_id);

/*
 * Encodes a CALLBACK or a RESULT (kind): the message inner[0..len-1]
 * wrapped, for callback id.
 */
void sni_msg_encode_wrapped(sni_wbuf *w, int kind, uint64_t call_id,
    uint64_t id, const void *inner, size_t len);

/* Checks a CALLBACK or RESULT body (kind); *inner points into it. */
int sni_msg_decode_wrapped(const void *body, size_t len, const sni_limits *lim,
    int kind, uint64_t *call_id, uint64_t *id, const void **inner,
    size_t *inner_len);

/*
 * Encodes the head of a BATCH or a REPLIES (kind): count messages follow,
 * each added with sni_msg_bundle_add (pending: 0 for a BATCH).
 */
void sni_msg_encode_bundle(
    sni_wbuf *w, int kind, uint64_t call_id, uint64_t pending, uint32_t count);

/* Adds a whole message, msg[0..len-1], to a bundle. */
void sni_msg_bundle_add(sni_wbuf *w, const void *msg, size_t len);

/*
 * Checks a BATCH or REPLIES body (kind) whole: its head, then count
 * (1 to SNI_BATCH_MAX) messages and nothing after them. *r is left at the
 * first message, for sni_msg_bundle_next.
 */
int sni_msg_decode_bundle(const void *body, size_t len, const sni_limits *lim,
    int kind, uint64_t *call_id, uint64_t *pending, uint32_t *count,
    sni_reader *r);

/* The next message of a bundle checked by sni_msg_decode_bundle. */
void sni_msg_bundle_next(sni_reader *r, const void **msg, size_t *len);

/*
 * Copies the message body[0..len-1] into w with call id id in place of
 * its own. SYN_EPROTO when it has no call id to replace.
 */
int sni_msg_recall(const void *body, size_t len, uint64_t id, sni_wbuf *w);

/* Encodes a HELLO telling the largest reply taken; checks one. */
void sni_msg_encode_hello(sni_wbuf *w, uint64_t call_id, uint64_t max_reply);
int  sni_msg_decode_hello(const void *body, size_t len, const sni_limits *lim,
     uint64_t *call_id, uint64_t *max_reply);

/* Encodes a FETCH of the replies of batch; checks one. */
void sni_msg_encode_fetch(sni_wbuf *w, uint64_t call_id, uint64_t batch);
int  sni_msg_decode_fetch(const void *body, size_t len, const sni_limits *lim,
     uint64_t *call_id, uint64_t *batch);

/* Checks a CANCEL body. */
int sni_msg_decode_cancel(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *target);

/*
 * The call id of a message of any kind (the field after the header), or
 * SYN_EPROTO. Reads nothing else.
 */
int sni_msg_call_id(const void *body, size_t len, uint64_t *call_id);

/*
 * Shows every handle in a message to fn, which may change it: the handle
 * is written back into the message (its encoding has a fixed size).
 * *owned: it is an OBJECT ext (it carries a reference), which fn may
 * change too. fn returns 0 to go on, or a code that the walk returns.
 */
typedef int (*sni_handle_fn)(void *ctx, syn_handle *h, bool *owned);

/*
 * Walks the values of the message body[0..len-1] (of any kind, header
 * included in len), at most max_depth levels deep, calling fn on each
 * handle. Returns 0, fn's code, or SYN_EPROTO for a malformed body that
 * it walked or one with a PROXY ext (which no message leaving this
 * process may carry): a body with no 0xd8 byte (so no handle) is not walked and
 * gives 0 however malformed, so this is no check of the body (its
 * decoder checks it). Any thread; the body must not be read by anyone
 * else meanwhile.
 */
int sni_msg_each_handle(
    void *body, size_t len, uint32_t max_depth, sni_handle_fn fn, void *ctx);

/* Checks a RELEASE body. */
int sni_msg_decode_release(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, syn_handle *h, uint64_t *count);

/* An ITEMS as the decoder sees it. */
typedef struct sni_items_view {
	uint64_t         call_id;
	int              status; /* 0, SYN_EEND or the error's code */
	const syn_error *err;    /* the error, in *memp; NULL unless failed */
	uint32_t         count;
	sni_reader       items; /* at the first item; read them in order */
} sni_items_view;

/*
 * Checks an ITEMS body's head (the items are checked as they are read,
 * with sni_decode_value_next). The error, if any, is decoded into malloc'd
 * memory in *memp (NULL otherwise; free() it). SYN_EPROTO.
 */
int sni_msg_decode_items(const void *body, size_t len, const sni_limits *lim,
    sni_items_view *v, void **memp);

/*
 * Encodes a RAW: a RETURN of a method flagged SYN_METHOD_RAW, whose value
 * its caller takes without translation (handles stay handles).
 */
int sni_msg_encode_raw(
    sni_wbuf *w, uint64_t call_id, const syn_value *v, const sni_limits *lim);

/* The longest message sni_msg_put_simple_return writes. */
#define SNI_SIMPLE_RETURN_MAX (SNI_HDR_LEN + 1 + 9)

/*
 * The commonest reply written without a buffer: a RETURN of v, a number,
 * bool or nil, for call_id below 128, into out (SNI_SIMPLE_RETURN_MAX
 * bytes), byte for byte what sni_msg_encode_return writes. Returns its
 * length, or 0 (nothing written) when v or call_id needs the general
 * path. Under every size and depth limit a synchronizer accepts.
 */
size_t sni_msg_put_simple_return(
    uint8_t *out, uint64_t call_id, const syn_value *v);

/* Encodes a RETURN of v / an ERROR into w. */
int sni_msg_encode_return(
    sni_wbuf *w, uint64_t call_id, const syn_value *v, const sni_limits *lim);
void sni_msg_encode_error(sni_wbuf *w, uint64_t call_id, int code,
    const char *message, const char *where);

/*
 * Reads the header of a message body: returns its kind (an sni_msg_kind)
 * or a negative number when the body is no message of ours.
 */
int sni_msg_kind(const void *body, size_t len);

/*
 * Checks a whole message of any kind against lim: its header, and every
 * msgpack value after it (lengths, nesting, UTF-8, ext types, pointers,
 * handles): not how many fields its kind has, which its decoder checks.
 * For what comes from another process before anything reads it. Returns
 * 0 with its kind in *kind, or SYN_EPROTO / SYN_EMSGSIZE with a detail.
 */
int sni_msg_check(
    const void *body, size_t len, const sni_limits *lim, int *kind);

/*
 * Checks a whole CALL body (pass one over the arguments included) and
 * describes it in *v; up to SNI_CALL_SIMPLE_MAX arguments that are all
 * numbers, bools or nil come decoded (v->args_decoded). Returns 0 or
 * SYN_EPROTO with a detail.
 */
int sni_msg_decode_call(
    const void *body, size_t len, const sni_limits *lim, sni_call_view *v);

/* Checks a whole OPEN body: the call in *v, and its stream and window. */
int sni_msg_decode_open(const void *body, size_t len, const sni_limits *lim,
    sni_call_view *v, uint64_t *stream, uint32_t *window);

/*
 * Checks a NEXT or THROW body: its call id, stream, and the sent value
 * (a THROW's: an error, of a code that is not 0), decoded into *sent
 * with malloc'd memory in *memp (may be NULL; free() it).
 */
int sni_msg_decode_next(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *stream, syn_value *sent, void **memp);

/*
 * The commonest NEXT, read in line: true when body is a NEXT within
 * lim's size, with a call id below 128, a stream id of 2 or more and a
 * sent number, bool or nil, and nothing after; *call_id, *stream and
 * *sent then hold them (no memory behind *sent). False, with nothing
 * read, for any other body: sni_msg_decode_next reads those, or reports
 * what is wrong.
 */
bool sni_msg_simple_next(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *stream, syn_value *sent);

/* Checks a CLOSE body: its call id and stream. */
int sni_msg_decode_close(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, uint64_t *stream);

/*
 * Decodes a RETURN or ERROR body. For a RETURN, *value receives the value
 * and *memp the memory behind it (malloc'd, may be NULL) and *code is 0;
 * for an ERROR, *code the error's code and *memp a block holding a
 * syn_error with its strings, which *err points into; for an END, *code
 * is SYN_EEND and *err a static error. Returns 0 when the body was
 * well-formed, SYN_EPROTO otherwise.
 */
int sni_msg_decode_reply(const void *body, size_t len, const sni_limits *lim,
    uint64_t *call_id, int *code, syn_value *value, const syn_error **err,
    void **memp);

/*
 * The commonest reply, read in line: true when body is a RETURN, call id
 * below 128, of a number, bool or nil, and nothing after it; *value then
 * holds it (no memory behind it, nothing to translate). False, with
 * nothing read, for any other body: sni_msg_decode_reply reads those.
 */
bool sni_msg_simple_return(const void *body, size_t len, syn_value *value);

/* Replaces m's body with the bytes of w. SYN_ENOMEM. */
int sni_msg_set_body(nng_msg *m, const sni_wbuf *w);

/*
 * Puts the bytes of w into *mp: a new message when *mp is NULL, else in
 * place of its body. w->err when set, or SYN_ENOMEM; *mp is then NULL or
 * the message it was (the caller's to free).
 */
int sni_msg_put(nng_msg **mp, const sni_wbuf *w);

#endif /* SNI_PROTO_H */
