/*
 * Shared test helpers: the standard implementations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

atomic_int th_cleanups;
atomic_int th_calls;

double
th_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int
square(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x;
	int     rc = syn_unpack(t, args, nargs, "i", &x);
	if (rc == 0 && (rc = syn_sleep(t, D_MS)) == 0) {
		*ret = syn_int(x * x);
	}
	return rc;
}

static int
square_now(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x;
	int     rc = syn_unpack(t, args, nargs, "i", &x);
	if (rc == 0) {
		*ret = syn_int(x * x);
	}
	atomic_fetch_add(&th_calls, 1);
	return rc;
}

static int
echo(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const syn_value *v  = NULL;
	int              rc = syn_unpack(t, args, nargs, "|v", &v);
	if (rc == 0 && v != NULL) {
		*ret = *v; /* args live until the task ends */
	}
	return rc;
}

static int
add(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x, y;
	int     rc = syn_unpack(t, args, nargs, "ii", &x, &y);
	if (rc == 0) {
		*ret = syn_int(x + y);
	}
	return rc;
}

static int
raise_user(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	if (rc != 0) {
		return rc;
	}
	return syn_raise(t, SYN_EUSER((int) n), "boom %d", (int) n);
}

static int
sleep_ms(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc != 0) {
		return rc;
	}
	rc = syn_sleep(t, (syn_duration) ms);
	if (rc == SYN_ECANCELED) {
		atomic_fetch_add(&th_cleanups, 1); /* cleanup runs */
	}
	*ret = syn_int(ms);
	return rc;
}

int
th_count_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) ret;
	int64_t n;
	int     rc = syn_unpack(t, args, nargs, "i", &n);
	for (int64_t i = 0; rc == 0 && i < n; i++) {
		syn_value v = syn_int(i);
		rc          = syn_yield(t, &v, NULL);
	}
	return rc;
}

int
th_catcher_gen(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args;
	(void) nargs;
	(void) ret;
	char      caught[128];
	int64_t   i = 0;
	syn_value v = syn_int(i);
	for (;;) {
		int rc = syn_yield(t, &v, NULL);
		if (rc == 0) {
			v = syn_int(++i);
			continue;
		}
		if (rc == SYN_EITERCLOSED || rc == SYN_EUSER(4)) {
			return 0;
		}
		if (rc != SYN_EUSER(1) && rc != SYN_EUSER(2)) {
			return rc;
		}
		if (syn_last_error()->code != rc) {
			return syn_raise(t, SYN_ESTATE, "no last error");
		}
		snprintf(
		    caught, sizeof(caught), "%s", syn_last_error()->message);
		if (rc == SYN_EUSER(2)) {
			return syn_raise(t, SYN_EUSER(3), "caught %s", caught);
		}
		v = syn_str(caught);
	}
}

static int
block_ms(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc == 0) {
		usleep((useconds_t) ms * 1000); /* blocks the actor thread */
	}
	return rc;
}

static int
nested(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t          id;
	const char      *name;
	const syn_value *x;
	syn_future      *f;
	int              rc = syn_unpack(t, args, nargs, "isv", &id, &name, &x);
	if (rc != 0) {
		return rc;
	}
	syn_synchronizer other = { (uint32_t) id };
	if ((rc = syn_call_future(other, name, x, 1, &f)) != 0) {
		return rc;
	}
	rc = syn_await(t, f);
	if (rc == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = syn_int(v->as.i); /* an int: nothing to keep alive */
	}
	syn_future_free(f);
	return rc;
}

static int
destroy_id(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t id;
	int     rc = syn_unpack(t, args, nargs, "i", &id);
	if (rc == 0) {
		syn_synchronizer victim = { (uint32_t) id };
		*ret = syn_int(syn_synchronizer_destroy(victim));
	}
	return rc;
}

void
th_register(syn_synchronizer s, const char *name, syn_func_fn fn, void *ud)
{
	syn_func_def def = { name, SYN_KIND_FUNCTION, fn, ud };
	ck_assert_syn_ok(syn_register(s, &def));
}

void
th_register_std(syn_synchronizer s)
{
	th_register(s, "square", square, NULL);
	th_register(s, "square_now", square_now, NULL);
	th_register(s, "echo", echo, NULL);
	th_register(s, "add", add, NULL);
	th_register(s, "fail", raise_user, NULL);
	th_register(s, "sleep_ms", sleep_ms, NULL);
	th_register(s, "block_ms", block_ms, NULL);
	th_register(s, "nested", nested, NULL);
	th_register(s, "destroy", destroy_id, NULL);
}

syn_synchronizer
th_new_cfg(const syn_config *cfg)
{
	syn_synchronizer s;
	syn_config       shared = { 0 };
	if (getenv("SYN_TEST_SHARED_STACK") != NULL) {
		/* (the suites run again with every task on a shared stack:
		 * tests/CMakeLists.txt) */
		if (cfg != NULL) {
			shared = *cfg;
		}
		shared.shared_stack = true;
		cfg                 = &shared;
	}
	ck_assert_syn_ok(syn_synchronizer_new(&s, cfg));
	th_register_std(s);
	return s;
}

syn_synchronizer
th_new(void)
{
	return th_new_cfg(NULL);
}

int64_t
th_call_int(syn_synchronizer s, const char *name, int64_t x)
{
	syn_value  arg = syn_int(x);
	syn_result res = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, name, &arg, 1, &res));
	ck_assert_int_eq(res.value.type, SYN_TYPE_INT);
	int64_t v = res.value.as.i;
	syn_result_fini(&res);
	return v;
}

Suite *
th_suite(const char *name, const th_case *cases, size_t n)
{
	Suite *s = suite_create(name);
	for (size_t i = 0; i < n; i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}
