/*
 * The typed interfaces of the tests: functions (calc) and a class (store),
 * declared once each.
 */
#ifndef SYN_TEST_TYPED_API_H
#define SYN_TEST_TYPED_API_H

#include <synchronicity/typed.h>

#define CALC(F0, F1, F2, F3, F4, C)                                    \
	F1(C, FUNC, square, int64_t, int64_t, x)                       \
	F2(C, FUNC, add, int64_t, int64_t, a, int64_t, b)              \
	F1(C, FUNC, half, double, double, x)                           \
	F1(C, FUNC, negate, bool, bool, b)                             \
	F1(C, FUNC, greet, syn_cstr, syn_cstr, name)                   \
	F1(C, FUNC, reverse, syn_buf, syn_buf, data)                   \
	F1(C, FUNC, describe, syn_cstr, syn_vptr, v)                   \
	F0(C, FUNC, answer, syn_vptr)                                  \
	F3(C, FUNC, sum3, int64_t, int64_t, a, int64_t, b, int64_t, c) \
	F4(C, FUNC, sum4, int64_t, int64_t, a, int64_t, b, int64_t, c, \
	    int64_t, d)                                                \
	F1(C, PROC, nap, void, int64_t, ms)                            \
	F1(C, GEN, count, int64_t, int64_t, n)

SYN_FUNCTIONS_DECLARE(calc, CALC)

/* A key-value store: one per object. */
typedef struct store_state {
	int64_t entries;
	char    name[32];
} store_state;

#define STORE(F0, F1, F2, F3, F4, C)                  \
	F1(C, INIT, init, void, syn_cstr, name)       \
	F0(C, FUNC, name, syn_cstr)                   \
	F1(C, PROC, add, void, int64_t, n)            \
	F0(C, FUNC, entries, int64_t)                 \
	F0(C, FUNC, me, store_ref)                    \
	F1(C, FUNC, merge, int64_t, store_ref, other) \
	F1(C, FUNC, child, store_ref, syn_cstr, name) \
	F1(C, GEN, keys, syn_cstr, int64_t, n)        \
	F0(C, FUNC, wrapped, syn_vptr)

SYN_CLASS_DECLARE(store, STORE)

#endif /* SYN_TEST_TYPED_API_H */
