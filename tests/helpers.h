/*
 * Shared by the check suites: a standard set of implementations to call,
 * clocks, and assertions that print the library's error detail.
 */
#ifndef SYN_TEST_HELPERS_H
#define SYN_TEST_HELPERS_H

#include <stdatomic.h>

#include <check.h>

#include <synchronicity.h>

/* The period of the timing tests, in milliseconds ("D"): longer under
 * the sanitizers (tests/CMakeLists.txt), where calls and stacks cost
 * several times more and "ten calls of D end within 2D" needs the room. */
#ifndef SYN_TEST_D_MS
#define SYN_TEST_D_MS 250
#endif
#define D_MS SYN_TEST_D_MS

/* Asserts rc == 0, printing the code's name and the last error detail. */
#define ck_assert_syn_ok(expr)                                           \
	do {                                                             \
		int rc_ = (expr);                                        \
		ck_assert_msg(rc_ == 0, "%s failed: %s: %s [%s]", #expr, \
		    syn_errname(rc_), syn_last_error()->message,         \
		    syn_last_error()->where);                            \
	} while (0)

/* Asserts that expr returns the code want. */
#define ck_assert_syn_rc(expr, want)                                        \
	do {                                                                \
		int rc_ = (expr);                                           \
		ck_assert_msg(rc_ == (want), "%s returned %s, expected %s", \
		    #expr, syn_errname(rc_), syn_errname(want));            \
	} while (0)

/* Monotonic milliseconds. */
double th_now_ms(void);

/* A synchronizer with the standard functions below registered. */
syn_synchronizer th_new(void);
syn_synchronizer th_new_cfg(const syn_config *cfg);

/* Registers the standard functions on s. */
void th_register_std(syn_synchronizer s);

/* Registers fn as name on s (asserting success). */
void th_register(
    syn_synchronizer s, const char *name, syn_func_fn fn, void *userdata);

/*
 * The standard functions:
 *   square(x)          sleeps D_MS, returns x*x
 *   square_now(x)      returns x*x at once
 *   echo(v)            returns v
 *   add(x, y)          returns x + y
 *   fail(n)            raises SYN_EUSER(n), "boom <n>"
 *   sleep_ms(ms)       sleeps ms; counts th_cleanups when cancelled
 *   block_ms(ms)       blocks the thread (usleep) for ms
 *   nested(id, f, x)   calls f(x) on synchronizer id as a future, awaits it
 *   destroy(id)        returns syn_synchronizer_destroy() of synchronizer id
 */
extern atomic_int th_cleanups;
extern atomic_int th_calls;

/* A generator, for a test to register under the name it wants:
 * count(n) yields 0 .. n-1. */
int th_count_gen(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret);

/* A generator that catches what is thrown into it: catcher() yields 0,
 * 1, 2, ...; thrown SYN_EUSER(1), it yields the error's message (a str)
 * and goes on; SYN_EUSER(2): it fails with SYN_EUSER(3), "caught <the
 * message>"; SYN_EUSER(4): it returns; any other error: it returns that
 * code (passing it on). */
int th_catcher_gen(
    syn_task *t, const syn_value *args, size_t nargs, syn_value *ret);

/* Calls name(x) on s and returns the int result (asserting success). */
int64_t th_call_int(syn_synchronizer s, const char *name, int64_t x);

/* A table of test cases, one tcase each: TH_CASE("name", test_fn). */
typedef struct th_case {
	const char  *name;
	const TTest *test;
} th_case;
#define TH_CASE(name, fn) \
	{                 \
		name, fn  \
	}

/* Every test_<name>.c defines this: its suite. */
Suite *suite(void);

/* A suite of the cases in the table. */
Suite *th_suite(const char *name, const th_case *cases, size_t n);
#define TH_SUITE(name, table) \
	th_suite(name, table, sizeof(table) / sizeof(table[0]))
#endif /* SYN_TEST_HELPERS_H */
