/*
 * Errors: implementation code raises them, callers read them.
 *
 * "lookup" runs on a synchronizer named "db" and fails with a user error
 * for any id but 1. "load" runs on a second synchronizer, awaits lookup
 * there and passes its error on, so the error's path reads
 * "lookup <- load".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <synchronicity.h>

#include "example.h"

/* [codes] */
/* This library's own error codes: SYN_EUSER(n), n from 1 to 0xffffff. */
#define E_NO_ROW SYN_EUSER(1)
/* [codes] */

/* [raise] */
static int
lookup(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t id;
	int     rc = syn_unpack(t, args, nargs, "i", &id);
	if (rc != 0) {
		return rc; /* raised by syn_unpack, with a message */
	}
	if (id != 1) {
		return syn_raise(t, E_NO_ROW, "no row %lld", (long long) id);
	}
	*ret = syn_str("one"); /* static data outlives the task */
	return 0;
}
/* [raise] */

/* [nested] */
/* Runs on the "app" synchronizer; awaits a call on the "db" one. */
static int
load(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const syn_synchronizer *db = syn_task_userdata(t);
	syn_future             *f;
	int rc = syn_call_future(*db, "lookup", args, nargs, &f);
	if (rc != 0) {
		return rc;
	}
	rc = syn_await(t, f); /* on failure, t takes over f's error */
	if (rc == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = syn_task_printf(t, "loaded %s", v->as.str);
	}
	syn_future_free(f);
	return rc; /* the same code: the path grows to "lookup <- load" */
}
/* [nested] */

static void
register_fn(syn_synchronizer s, const char *name, syn_func_fn fn, void *ud)
{
	const syn_func_def def = { .name = name,
		.kind                    = SYN_KIND_FUNCTION,
		.fn                      = fn,
		.userdata                = ud };
	check(syn_register(s, &def), name);
}

static void
read_blocking(syn_synchronizer app)
{
	/* [read] */
	syn_value  arg = syn_int(7);
	syn_result res = SYN_RESULT_INIT;
	int        rc  = syn_call(app, "load", &arg, 1, &res);
	if (rc != 0) {
		const syn_error *e = syn_last_error(); /* this thread's */
		printf("%s: %s [%s]\n", syn_errname(rc), e->message, e->where);
		/* prints: SYN_EUSER(1): no row 7 [lookup <- load] */
	}
	if (SYN_IS_USER(rc) && SYN_USER_CODE(rc) == 1) {
		/* the caller's own branch for E_NO_ROW */
	}
	/* [read] */
	expect(rc == E_NO_ROW, "load(7) is E_NO_ROW");
	expect(strcmp(syn_last_error()->message, "no row 7") == 0, "message");
	expect(strcmp(syn_last_error()->where, "lookup <- load") == 0, "path");
	expect(strcmp(syn_errname(rc), "SYN_EUSER(1)") == 0, "errname");

	arg = syn_int(1);
	check(syn_call(app, "load", &arg, 1, &res), "load(1)");
	expect(strcmp(res.value.as.str, "loaded one") == 0, "load(1) result");
	syn_result_fini(&res);
}

static void
read_future(syn_synchronizer db)
{
	/* [future_error] */
	syn_future *f;
	syn_value   arg = syn_str("seven");
	check(syn_call_future(db, "lookup", &arg, 1, &f), "lookup");
	int              rc = syn_future_wait(f);
	const syn_error *e  = syn_future_error(f); /* owned by f */
	printf("%s: %s [%s]\n", syn_errname(rc), e->message, e->where);
	/* prints: SYN_EBADTYPE: lookup: argument 0 is str, expected int
	 * [lookup] */
	/* [future_error] */
	expect(rc == SYN_EBADTYPE, "lookup(\"seven\") is SYN_EBADTYPE");
	expect(
	    strcmp(e->message, "lookup: argument 0 is str, expected int") == 0,
	    "unpack message");
	expect(strcmp(e->where, "lookup") == 0, "unpack path");
	syn_future_free(f);

	/* [library_error] */
	rc = syn_call(db, "lookup", NULL, 0, NULL);
	/* SYN_EINVAL: "lookup takes 1 argument, got 0" */
	rc = syn_call(db, "nothing", NULL, 0, NULL);
	/* SYN_ENOENT: "no function named 'nothing' is registered", where
	 * is the synchronizer's name: "db" */
	/* [library_error] */
	expect(rc == SYN_ENOENT, "nothing is SYN_ENOENT");
	expect(strcmp(syn_last_error()->where, "db") == 0, "ENOENT path");
}

int
main(void)
{
	static syn_synchronizer db;
	syn_synchronizer        app;
	syn_config              db_cfg  = { .name = "db" };
	syn_config              app_cfg = { .name = "app" };
	check(syn_synchronizer_new(&db, &db_cfg), "db");
	check(syn_synchronizer_new(&app, &app_cfg), "app");
	register_fn(db, "lookup", lookup, NULL);
	register_fn(app, "load", load, &db);
	read_blocking(app);
	read_future(db);
	check(syn_synchronizer_destroy(app), "destroy app");
	check(syn_synchronizer_destroy(db), "destroy db");
	return failures == 0 ? 0 : 1;
}
