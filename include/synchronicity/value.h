/*
 * synchronicity: the values that cross a synchronizer's boundary.
 *
 * A syn_value is a small tagged struct (16 bytes) that the caller builds on
 * its own stack with the constructors below, without allocating:
 *
 *     syn_value args[] = { syn_int(42), syn_str("hello") };
 *
 * A value never owns what it points to. Values that the library hands out
 * (call results, arguments given to implementation code) live in memory the
 * library owns, for as long as the object that hands them out says.
 */
#ifndef SYNCHRONICITY_VALUE_H
#define SYNCHRONICITY_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <synchronicity/error.h>
#include <synchronicity/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The kinds of value. An integer that fits int64_t decodes as INT. */
typedef enum syn_type {
	SYN_TYPE_NIL = 0,
	SYN_TYPE_BOOL,
	SYN_TYPE_INT,    /* int64_t */
	SYN_TYPE_UINT,   /* uint64_t above INT64_MAX after a round trip */
	SYN_TYPE_DOUBLE, /* float32 on the wire decodes as a double */
	SYN_TYPE_STR,    /* UTF-8, len bytes, NUL-terminated when decoded */
	SYN_TYPE_BYTES,  /* len opaque bytes */
	SYN_TYPE_LIST,   /* len values */
	SYN_TYPE_MAP,    /* len key/value pairs, keys of any type */
	SYN_TYPE_HANDLE, /* an object living on some synchronizer */
	SYN_TYPE_ERROR,  /* an error: code, message, where */
	SYN_TYPE_PTR,    /* an opaque pointer, legal only inside one process */
	SYN_TYPE_PROXY,  /* a proxy of an object (synchronicity/class.h) */
	SYN_TYPE_OBJECT, /* an object, seen by a task of its own synchronizer */
	SYN_TYPE_INVALID_ =
	    0xff /* built from an unusable input; never encoded */
} syn_type;

typedef struct syn_value syn_value;
typedef struct syn_pair  syn_pair;
typedef struct syn_proxy syn_proxy;

/* A reference to an object living on a synchronizer: both ids. */
typedef struct syn_handle {
	uint64_t owner;  /* the synchronizer's id */
	uint64_t object; /* the object's id on that synchronizer */
} syn_handle;

struct syn_value {
	uint8_t  type; /* a syn_type */
	uint32_t len;  /* bytes of STR or BYTES; items of LIST or MAP */
	union {
		bool              b;
		int64_t           i;
		uint64_t          u;
		double            d;
		const char       *str;
		const void       *bytes;
		const syn_value  *list;
		const syn_pair   *map;
		const syn_handle *handle;
		const syn_error  *error;
		void             *ptr;
		syn_proxy        *proxy;  /* PROXY */
		void             *object; /* OBJECT: the instance (self) */
	} as;
};

struct syn_pair {
	syn_value key;
	syn_value value;
};

/* Constructors. They copy nothing: the value points at the caller's data. */
static inline syn_value
syn_nil(void)
{
	syn_value v;
	memset(&v, 0, sizeof(v));
	return v;
}

static inline syn_value
syn_bool(bool b)
{
	syn_value v = syn_nil();
	v.type      = SYN_TYPE_BOOL;
	v.as.b      = b;
	return v;
}

static inline syn_value
syn_int(int64_t i)
{
	syn_value v = syn_nil();
	v.type      = SYN_TYPE_INT;
	v.as.i      = i;
	return v;
}

static inline syn_value
syn_uint(uint64_t u)
{
	syn_value v = syn_nil();
	v.type      = SYN_TYPE_UINT;
	v.as.u      = u;
	return v;
}

static inline syn_value
syn_double(double d)
{
	syn_value v = syn_nil();
	v.type      = SYN_TYPE_DOUBLE;
	v.as.d      = d;
	return v;
}

/* A string of len bytes (need not be NUL-terminated; must be UTF-8). */
static inline syn_value
syn_strn(const char *s, size_t len)
{
	syn_value v = syn_nil();
	v.type      = len > UINT32_MAX ? SYN_TYPE_INVALID_ : SYN_TYPE_STR;
	v.len       = (uint32_t) len;
	v.as.str    = s;
	return v;
}

/* A NUL-terminated string; NULL gives an invalid value. */
static inline syn_value
syn_str(const char *s)
{
	if (s == NULL) {
		syn_value v = syn_nil();
		v.type      = SYN_TYPE_INVALID_;
		return v;
	}
	return syn_strn(s, strlen(s));
}

static inline syn_value
syn_bytes(const void *p, size_t len)
{
	syn_value v = syn_nil();
	v.type      = len > UINT32_MAX ? SYN_TYPE_INVALID_ : SYN_TYPE_BYTES;
	v.len       = (uint32_t) len;
	v.as.bytes  = p;
	return v;
}

static inline syn_value
syn_list(const syn_value *items, size_t n)
{
	syn_value v = syn_nil();
	v.type      = n > UINT32_MAX ? SYN_TYPE_INVALID_ : SYN_TYPE_LIST;
	v.len       = (uint32_t) n;
	v.as.list   = items;
	return v;
}

static inline syn_value
syn_map(const syn_pair *pairs, size_t n)
{
	syn_value v = syn_nil();
	v.type      = n > UINT32_MAX ? SYN_TYPE_INVALID_ : SYN_TYPE_MAP;
	v.len       = (uint32_t) n;
	v.as.map    = pairs;
	return v;
}

static inline syn_value
syn_handle_value(const syn_handle *h)
{
	syn_value v = syn_nil();
	v.type      = h == NULL ? SYN_TYPE_INVALID_ : SYN_TYPE_HANDLE;
	v.as.handle = h;
	return v;
}

static inline syn_value
syn_error_value(const syn_error *e)
{
	syn_value v = syn_nil();
	v.type      = e == NULL ? SYN_TYPE_INVALID_ : SYN_TYPE_ERROR;
	v.as.error  = e;
	return v;
}

/*
 * An opaque pointer. It crosses only the in-process lane of the process
 * that made it; the codec rejects it anywhere else with SYN_ENOTSUP.
 */
static inline syn_value
syn_ptr(void *p)
{
	syn_value v = syn_nil();
	v.type      = SYN_TYPE_PTR;
	v.as.ptr    = p;
	return v;
}

/*
 * A proxy as a value: passed in a call it travels as a handle, and arrives
 * as the object itself on the object's own synchronizer, as a proxy
 * anywhere else. The value borrows p: it holds no reference of its own.
 */
static inline syn_value
syn_proxy_value(syn_proxy *p)
{
	syn_value v = syn_nil();
	v.type      = SYN_TYPE_PROXY;
	v.as.proxy  = p;
	return v;
}

/*
 * An object of this task's synchronizer as a value (self, or one made
 * with syn_object_new()): returned or yielded, its caller gets a proxy of
 * it, the same proxy each time while that proxy lives.
 */
static inline syn_value
syn_object(void *self)
{
	syn_value v = syn_nil();
	v.type      = SYN_TYPE_OBJECT;
	v.as.object = self;
	return v;
}

/*
 * Typed reads. Each returns 0 and stores the value, SYN_EBADTYPE when v
 * holds another type, or SYN_ERANGE when a number does not fit. An INT and
 * a UINT read as either type when the number fits; an integer reads as a
 * double when it converts exactly. v may be NULL (SYN_EINVAL). Any thread.
 */
SYN_API int syn_value_get_bool(const syn_value *v, bool *out);
SYN_API int syn_value_get_int(const syn_value *v, int64_t *out);
SYN_API int syn_value_get_uint(const syn_value *v, uint64_t *out);
SYN_API int syn_value_get_double(const syn_value *v, double *out);

/*
 * The string of a STR value and its length (len may be NULL). Decoded
 * strings are NUL-terminated; strings built with syn_strn() are only if
 * the caller made them so.
 */
SYN_API int syn_value_get_str(const syn_value *v, const char **s, size_t *len);
SYN_API int syn_value_get_bytes(
    const syn_value *v, const void **p, size_t *len);

/* The name of a type ("int", "str", ...); "invalid" for unknown ones. */
SYN_API const char *syn_type_name(int type);

/*
 * Deep equality: same types (INT and UINT holding the same number are
 * equal), same contents, maps in the same order. Doubles compare with ==,
 * but a value compared with itself (the same pointer, or lists or maps
 * with the same item array) is equal without a look inside.
 */
SYN_API bool syn_value_equal(const syn_value *a, const syn_value *b);

/*
 * Writes a readable, JSON-like rendering of v into buf (at most size bytes,
 * always NUL-terminated when size > 0) and returns the length the whole
 * rendering needs, as snprintf does.
 */
SYN_API size_t syn_value_format(const syn_value *v, char *buf, size_t size);

/*
 * A value together with the memory behind it, owned by the caller.
 * Blocking calls fill one; syn_result_fini() releases it. A zeroed struct
 * (SYN_RESULT_INIT) is a valid empty result, and fini on it does nothing.
 */
typedef struct syn_result {
	syn_value value;
	void     *mem_;  /* private */
	void     *held_; /* private: the proxies the value holds */
} syn_result;

#define SYN_RESULT_INIT                     \
	{                                   \
		{ 0, 0, { 0 } }, NULL, NULL \
	}

/* Releases the memory behind r->value and leaves r empty (nil). */
SYN_API void syn_result_fini(syn_result *r);

/*
 * Copies v, and everything it points to, into r (which must be empty or
 * finished). Proxies in v are not copied: the copy borrows them, and is
 * valid as long as whoever holds them in v does. Errors: SYN_EINVAL for an
 * invalid value or one nested more than 64 levels deep, SYN_ENOMEM.
 */
SYN_API int syn_value_copy(const syn_value *v, syn_result *r);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_VALUE_H */
