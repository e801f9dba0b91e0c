/*
 * synchronicity: typed interfaces, the C answer to the seed's type stubs.
 *
 * One interface list, written once, gives compiler-checked functions on
 * both sides of the message boundary: the implementation receives its
 * task and typed arguments and returns typed results through out
 * parameters; callers get, for each entry, a blocking function, a typed
 * future, and an nng_aio form, or a typed iterator for a generator. The
 * C preprocessor and _Generic do all of it; underneath is the dynamic API
 * (function.h, class.h), which stays available.
 *
 * An interface list is a macro taking five macro names, one per number of
 * arguments (0 to 4), and a prefix C, and naming each entry with one of
 * them, C first:
 *
 *     #define CALC(F0, F1, F2, F3, F4, C)                          \
 *             F1(C, FUNC, square, int64_t, int64_t, x)             \
 *             F2(C, FUNC, add, int64_t, int64_t, a, int64_t, b)    \
 *             F1(C, GEN, count, int64_t, int64_t, n)               \
 *             F0(C, PROC, ping, void)
 *
 * An entry is (C, KIND, name, R, then a type and a name per argument;
 * names ending in _ are the generated code's, and a class's methods may
 * not be named new, release, ref, ref_dup, proxy, self, state, register
 * or fini,
 * nor an entry x beside an entry x_get, x_aio, ... : the generated names
 * would clash):
 *   FUNC  returns one R          PROC  returns nothing (R is void)
 *   GEN   yields items of type R (a generator)
 *   INIT  (classes only) the constructor's arguments (R is void)
 * Types are single names: int64_t, double, bool, syn_cstr (a string),
 * syn_buf (bytes), syn_vptr (any value, the dynamic layer), or the ref
 * type of a declared class (NAME_ref): a proxy of one of its objects.
 *
 * In a header: SYN_FUNCTIONS_DECLARE(calc, CALC) declares, for each entry
 * e (here square):
 *   int calc_square(syn_synchronizer s, int64_t x, int64_t *ret);
 *       blocking; ret may be NULL (PROC entries have no ret)
 *   int calc_square_future(syn_synchronizer s, int64_t x,
 *       calc_square_future_t **fp);   a typed future, then
 *   int calc_square_get(calc_square_future_t *f, int64_t *ret);
 *       waits for it and reads its result, and
 *   void calc_square_free(calc_square_future_t *f);
 *       (SYN_FUTURE(f) is the syn_future underneath, to await or poll)
 *   void calc_square_aio(syn_synchronizer s, int64_t x, nng_aio *aio);
 *   int calc_square_aio_get(nng_aio *aio, int64_t *ret);
 *   int calc_square_impl(syn_task *t, int64_t x, int64_t *ret);
 *       which the library's user writes: the implementation
 * and for a GEN entry (count): calc_count_open(s, n, &it) giving a
 * calc_count_iter *, calc_count_next(it, &item) (0 or SYN_EEND, as
 * syn_iter_next), calc_count_close(it), and the async request of an item:
 * calc_count_next_future(it, &f) giving a calc_count_next_t *, read with
 * calc_count_next_get(f, &item) and freed with calc_count_next_free(f);
 * the implementation
 * calc_count_impl(t, n) hands out items with calc_count_yield(t, item).
 * Plus int calc_register(syn_synchronizer s), registering every entry
 * (as functions named "calc_square", ...) in order, as syn_register()
 * does; it stops at the first failure (SYN_EEXIST for a name taken),
 * and the entries before it stay registered (call it once, on a
 * synchronizer that has none of these names).
 * In one .c file: SYN_FUNCTIONS_DEFINE(calc, CALC) defines them all.
 *
 * Classes: SYN_CLASS_DECLARE(db, DB) and, in one .c file,
 * SYN_CLASS_DEFINE(db, DB), registered as the class "db"; db_state, which
 * the user defines before, is the instance's type.
 * The list has one INIT entry (the constructor's arguments) and methods.
 * Generated: the type db_ref (a proxy of a DB object; release with
 * db_release()), db_new(s, args..., &ref), and per method the same forms
 * as functions with a db_ref first instead of the synchronizer
 * (db_query(ref, q, &ret), db_query_future, db_query_aio, ...), the
 * async constructor db_new_future(s, args..., &f) giving a db_new_t *,
 * read with db_new_get(f, &ref) and freed with db_new_free(f), the
 * implementations db_init_impl(t, self, args...) and
 * db_query_impl(t, self, q, &ret) with self a db_state *, and
 * db_fini_impl(self), which the user writes too (it may do nothing).
 * Inside a method, db_self(self) is a db_ref of the object itself, to
 * return or pass on (the caller receives a proxy of it). db_proxy(ref) is
 * the syn_proxy behind a ref (for SYN_WITH, syn_get, the dynamic layer),
 * db_ref_dup(ref) takes one more reference. A class whose list has an
 * "enter" FUNC and an "exit" PROC taking (int64_t rc, syn_vptr message)
 * is a context manager: SYN_WITH(w, db_proxy(ref), &rc) { ... }.
 *
 * Ownership: arguments are borrowed for the call. Results: numbers and
 * bools by value; strings (syn_cstr) and bytes (syn_buf.data) are
 * malloc'd copies the caller frees with syn_typed_free(), values
 * (syn_vptr) copies freed with syn_vptr_free() (they may hold proxies);
 * refs hold one reference the caller releases (NAME_release). On the
 * implementation side, results must outlive the task (static data,
 * syn_task_alloc(), syn_task_printf(), or the arguments).
 */
#ifndef SYNCHRONICITY_TYPED_H
#define SYNCHRONICITY_TYPED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>

#include <synchronicity/class.h>
#include <synchronicity/export.h>
#include <synchronicity/function.h>
#include <synchronicity/iter.h>
#include <synchronicity/task.h>
#include <synchronicity/value.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The single-name types of the typed layer. */
typedef const char *syn_cstr; /* a NUL-terminated UTF-8 string */
typedef struct syn_buf {
	const void *data;
	size_t      len;
} syn_buf;                         /* bytes */
typedef const syn_value *syn_vptr; /* any value */

/*
 * Frees a string or the bytes of a syn_buf that a typed call returned;
 * syn_vptr_free() frees a syn_vptr result. NULL is allowed. Any thread.
 */
SYN_API void syn_typed_free(const void *p);
SYN_API void syn_vptr_free(syn_vptr v);

/*
 * Calls on a ref: a proxy, or (inside a task of the object's own
 * synchronizer) the object itself, tagged with bit 0. They back the
 * generated class functions (use those instead) and behave as
 * syn_invoke(), syn_invoke_future(), syn_invoke_aio() and
 * syn_invoke_iter() (no iterator configuration) do, with the same
 * threads and errors; the ref is borrowed. syn_ref_release() drops one
 * reference of a proxy ref (nothing for the object itself), and
 * syn_ref_dup() takes one more and returns ref. Any thread.
 */
SYN_API int   syn_ref_invoke(const void *ref, const char *method,
      const syn_value *args, size_t nargs, syn_result *res);
SYN_API int   syn_ref_invoke_future(const void *ref, const char *method,
      const syn_value *args, size_t nargs, syn_future **fp);
SYN_API void  syn_ref_invoke_aio(const void *ref, const char *method,
     const syn_value *args, size_t nargs, nng_aio *aio);
SYN_API int   syn_ref_invoke_iter(const void *ref, const char *method,
      const syn_value *args, size_t nargs, syn_iter **itp);
SYN_API void  syn_ref_release(const void *ref);
SYN_API void *syn_ref_dup(const void *ref);

/*
 * A typed call's result v, copied out for its caller (the generated code
 * calls these): a number as syn_value_get_int() and the like read it, a
 * string or bytes into malloc'd memory (syn_typed_free), a value into a
 * copy holding its proxies (syn_vptr_free), a proxy into a reference of
 * the caller's own (nil gives NULL). 0, or SYN_EBADTYPE (v is of another
 * type), SYN_ERANGE (a number that does not fit), SYN_ENOMEM, with
 * syn_last_error() set. Any thread.
 */
SYN_API int syn_typed_take_int(const syn_value *v, int64_t *out);
SYN_API int syn_typed_take_double(const syn_value *v, double *out);
SYN_API int syn_typed_take_bool(const syn_value *v, bool *out);
SYN_API int syn_typed_take_cstr(const syn_value *v, syn_cstr *out);
SYN_API int syn_typed_take_buf(const syn_value *v, syn_buf *out);
SYN_API int syn_typed_take_vptr(const syn_value *v, syn_vptr *out);
SYN_API int syn_typed_take_ref(const syn_value *v, void *out);

/* ---- marshalling: from a C type to a value and back ------------------- */

static inline syn_value
sni_t_buf_value(syn_buf b)
{
	return syn_bytes(b.data, b.len);
}

static inline syn_value
sni_t_vptr_value(syn_vptr v)
{
	return v != NULL ? *v : syn_nil();
}

/* A ref: an object of this synchronizer has bit 0 set. */
static inline syn_value
sni_t_ref_value(const void *ref)
{
	uintptr_t r = (uintptr_t) ref;
	if (r & 1) {
		return syn_object((void *) (r & ~(uintptr_t) 1));
	}
	return ref != NULL ? syn_proxy_value((syn_proxy *) ref) : syn_nil();
}

#define SYN_TO_VALUE_(x)                     \
	_Generic((x), int64_t                \
	         : syn_int, double           \
	         : syn_double, bool          \
	         : syn_bool, syn_cstr        \
	         : syn_str, syn_buf          \
	         : sni_t_buf_value, syn_vptr \
	         : sni_t_vptr_value, default \
	         : sni_t_ref_value)(x)

/* An int argument or result: the common case read in line, the rest (an
 * unsigned in range, a wrong type) by the library's reader. */
static inline int
sni_t_get_int(const syn_value *v, int64_t *out)
{
	if (v != NULL && out != NULL && v->type == SYN_TYPE_INT) {
		*out = v->as.i;
		return 0;
	}
	return syn_value_get_int(v, out);
}

static inline int
sni_t_take_int(const syn_value *v, int64_t *out)
{
	if (v != NULL && out != NULL && v->type == SYN_TYPE_INT) {
		*out = v->as.i;
		return 0;
	}
	return syn_typed_take_int(v, out);
}

static inline int
sni_t_get_cstr(const syn_value *v, syn_cstr *out)
{
	size_t len;
	return syn_value_get_str(v, out, &len);
}

static inline int
sni_t_get_buf(const syn_value *v, syn_buf *out)
{
	return syn_value_get_bytes(v, &out->data, &out->len);
}

static inline int
sni_t_get_vptr(const syn_value *v, syn_vptr *out)
{
	*out = v;
	return 0;
}

/* An argument that is a ref: the object itself here, else a proxy. */
static inline int
sni_t_get_ref(const syn_value *v, void *out)
{
	void **p = (void **) out;
	switch (v->type) {
	case SYN_TYPE_OBJECT:
		*p = (void *) ((uintptr_t) v->as.object | 1);
		return 0;
	case SYN_TYPE_PROXY:
		*p = v->as.proxy;
		return 0;
	case SYN_TYPE_NIL:
		*p = NULL;
		return 0;
	default:
		return SYN_EBADTYPE;
	}
}

/* Reads an argument (implementation side: borrowed). */
#define SYN_FROM_VALUE_(v, p) \
	_Generic((p), int64_t *                                 \
	         : sni_t_get_int, double *                      \
	         : syn_value_get_double, bool *                 \
	         : syn_value_get_bool, syn_cstr *               \
	         : sni_t_get_cstr, syn_buf *                    \
	         : sni_t_get_buf, syn_vptr *                    \
	         : sni_t_get_vptr, default                      \
	         : sni_t_get_ref)(v, p)

/* Takes a result (caller side: owned copies). */
#define SYN_TAKE_VALUE_(v, p) \
	_Generic((p), int64_t *                                 \
	         : sni_t_take_int, double *                     \
	         : syn_typed_take_double, bool *                \
	         : syn_typed_take_bool, syn_cstr *              \
	         : syn_typed_take_cstr, syn_buf *               \
	         : syn_typed_take_buf, syn_vptr *               \
	         : syn_typed_take_vptr, default                 \
	         : syn_typed_take_ref)(v, p)

/* The syn_future underneath a typed future. */
#define SYN_FUTURE(f) ((syn_future *) (f))

/* ---- the generators' pieces -------------------------------------------- */

/* Parameter lists, argument arrays and reads, per arity. */
#define SNI_P0()
#define SNI_P1(T1, a1) , T1 a1
#define SNI_P2(T1, a1, T2, a2) , T1 a1, T2 a2
#define SNI_P3(T1, a1, T2, a2, T3, a3) , T1 a1, T2 a2, T3 a3
#define SNI_P4(T1, a1, T2, a2, T3, a3, T4, a4) , T1 a1, T2 a2, T3 a3, T4 a4

#define SNI_A0() 0, syn_nil()
#define SNI_A1(T1, a1) 1, SYN_TO_VALUE_(a1)
#define SNI_A2(T1, a1, T2, a2) 2, SYN_TO_VALUE_(a1), SYN_TO_VALUE_(a2)
#define SNI_A3(T1, a1, T2, a2, T3, a3) \
	3, SYN_TO_VALUE_(a1), SYN_TO_VALUE_(a2), SYN_TO_VALUE_(a3)
#define SNI_A4(T1, a1, T2, a2, T3, a3, T4, a4)                      \
	4, SYN_TO_VALUE_(a1), SYN_TO_VALUE_(a2), SYN_TO_VALUE_(a3), \
	    SYN_TO_VALUE_(a4)

/* Declarations of the arguments, and their reads from args[] (glue). */
#define SNI_D0()
#define SNI_D1(T1, a1) T1 a1;
#define SNI_D2(T1, a1, T2, a2) \
	T1 a1;                 \
	T2 a2;
#define SNI_D3(T1, a1, T2, a2, T3, a3) \
	T1 a1;                         \
	T2 a2;                         \
	T3 a3;
#define SNI_D4(T1, a1, T2, a2, T3, a3, T4, a4) \
	T1 a1;                                 \
	T2 a2;                                 \
	T3 a3;                                 \
	T4 a4;

#define SNI_R0()
#define SNI_R1(T1, a1) SNI_READ(0, a1)
#define SNI_R2(T1, a1, T2, a2) SNI_READ(0, a1) SNI_READ(1, a2)
#define SNI_R3(T1, a1, T2, a2, T3, a3) \
	SNI_READ(0, a1) SNI_READ(1, a2) SNI_READ(2, a3)
#define SNI_R4(T1, a1, T2, a2, T3, a3, T4, a4) \
	SNI_READ(0, a1) SNI_READ(1, a2) SNI_READ(2, a3) SNI_READ(3, a4)
#define SNI_READ(i, a)                                                         \
	if ((rc_ = SYN_FROM_VALUE_(&args_[i], &a)) != 0) {                     \
		return syn_raise(t_, rc_, "%s: argument %d (%s) is %s", name_, \
		    i, #a, syn_type_name(args_[i].type));                      \
	}

/* The names passed to the implementation. */
#define SNI_N0()
#define SNI_N1(T1, a1) , a1
#define SNI_N2(T1, a1, T2, a2) , a1, a2
#define SNI_N3(T1, a1, T2, a2, T3, a3) , a1, a2, a3
#define SNI_N4(T1, a1, T2, a2, T3, a3, T4, a4) , a1, a2, a3, a4

/* The values array of a call (at least one element). */
#define SNI_ARGS_ARRAY(...) SNI_ARGS_ARRAY_X(__VA_ARGS__)
#define SNI_ARGS_ARRAY_X(n, ...)       \
	const size_t nargs_       = n; \
	syn_value    args_[n + 1] = { __VA_ARGS__ }

/* The function kinds, as registered. */
#define SNI_KIND_FUNC SYN_KIND_FUNCTION
#define SNI_KIND_PROC SYN_KIND_FUNCTION
#define SNI_KIND_GEN SYN_KIND_GENERATOR

#ifdef __cplusplus
}
#endif

#include <synchronicity/typed_gen.h>

#endif /* SYNCHRONICITY_TYPED_H */
