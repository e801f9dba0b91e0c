/*
 * Calls a function through the installed library, whose version is the
 * installed header's: exit 0 when it works.
 */
#include <string.h>

#include <synchronicity.h>

static int
twice(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t x;
	int     rc = syn_unpack(t, args, nargs, "i", &x);
	if (rc == 0) {
		*ret = syn_int(2 * x);
	}
	return rc;
}

int
main(void)
{
	syn_synchronizer s;
	syn_func_def     def = { "twice", SYN_KIND_FUNCTION, twice, NULL };
	syn_value        arg = syn_int(21);
	syn_result       res = SYN_RESULT_INIT;
	if (strcmp(syn_version(), SYN_VERSION_STRING) != 0 ||
	    syn_version_number() != SYN_VERSION_NUMBER) {
		return 1;
	}
	if (syn_synchronizer_new(&s, NULL) != 0 || syn_register(s, &def) != 0 ||
	    syn_call(s, "twice", &arg, 1, &res) != 0 || res.value.as.i != 42) {
		return 1;
	}
	syn_result_fini(&res);
	return syn_synchronizer_destroy(s) == 0 ? 0 : 1;
}
