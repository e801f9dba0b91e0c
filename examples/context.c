/*
 * The call context: a request id that the caller sets once reaches every
 * task its call leads to, on this synchronizer and the next, as Python's
 * contextvars reach the coroutines of the reference library.
 */
#include <stdio.h>
#include <string.h>

#include <synchronicity.h>

#include "example.h"

/* [lookup] */
/* lookup(key): runs on the store; answers which request asked, and
 * through which stage, from the call context alone. */
static int
lookup(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	const char *key;
	int         rc      = syn_unpack(t, args, nargs, "s", &key);
	syn_result  request = SYN_RESULT_INIT, stage = SYN_RESULT_INIT;
	if (rc == 0 && (rc = syn_context_get("request", &request)) == 0 &&
	    (rc = syn_context_get("stage", &stage)) == 0) {
		*ret = syn_task_printf(t, "%s for %s via %s", key,
		    request.value.as.str, stage.value.as.str);
	}
	syn_result_fini(&request);
	syn_result_fini(&stage);
	return rc;
}
/* [lookup] */

/* [handle] */
/* handle(key): runs on the front; adds a key of its own to the context
 * it was called with, then asks the store. Its calls carry both. */
static int
handle(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	syn_synchronizer *store = syn_task_userdata(t);
	syn_value         stage = syn_str("front");
	syn_future       *f;
	int               rc = syn_context_set("stage", &stage);
	if (rc != 0 ||
	    (rc = syn_call_future(*store, "lookup", args, nargs, &f)) != 0) {
		return rc;
	}
	if ((rc = syn_await(t, f)) == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = syn_task_printf(t, "%s", v->as.str);
	}
	syn_future_free(f);
	return rc;
}
/* [handle] */

int
main(void)
{
	syn_synchronizer front, store;
	check(syn_synchronizer_new(&front, NULL), "front");
	check(syn_synchronizer_new(&store, NULL), "store");
	syn_func_def l = { "lookup", SYN_KIND_FUNCTION, lookup, NULL };
	syn_func_def h = { "handle", SYN_KIND_FUNCTION, handle, &store };
	check(syn_register(store, &l), "register lookup");
	check(syn_register(front, &h), "register handle");

	/* [caller] */
	syn_value request = syn_str("r-42");
	check(syn_context_set("request", &request), "set request");

	syn_value  key = syn_str("user:7");
	syn_result res = SYN_RESULT_INIT;
	check(syn_call(front, "handle", &key, 1, &res), "handle");
	printf("%s\n", res.value.as.str); /* user:7 for r-42 via front */
	/* [caller] */
	expect(strcmp(res.value.as.str, "user:7 for r-42 via front") == 0,
	    "the store saw the caller's key and the front's");
	syn_result_fini(&res);

	/* [after] */
	/* What the front's task set stayed there: */
	int rc = syn_context_get("stage", &res); /* SYN_ENOENT */
	syn_context_clear(); /* calls from here on carry none */
	/* [after] */
	expect(rc == SYN_ENOENT, "the task's key stays in the task");

	check(syn_synchronizer_destroy(front), "destroy front");
	check(syn_synchronizer_destroy(store), "destroy store");
	return failures != 0;
}
