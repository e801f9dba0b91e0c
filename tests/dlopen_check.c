/*
 * The shared library loaded with dlopen, as Python's ctypes or a plugin
 * host loads it: a synchronizer runs calls, with the thread-locals of the
 * library reached through dynamic TLS (the library is built with TLS
 * descriptors, never the initial-exec model that dlopen may refuse).
 * Then dlclose: the library stays mapped (it is linked -z nodelete), as
 * the threads it started (its blocking pool, nng's) may still run in it.
 *
 * Usage: dlopen_check path/to/libsynchronicity.so
 */
#include <dlfcn.h>
#include <stdio.h>

#include <synchronicity.h>

static int
add1(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t;
	if (nargs != 1 || args[0].type != SYN_TYPE_INT) {
		return SYN_EINVAL;
	}
	*ret = syn_int(args[0].as.i + 1);
	return 0;
}

#define LOOKUP(lib, name) ((__typeof__(&name)) dlsym(lib, #name))

int
main(int argc, char **argv)
{
	void *lib = argc > 1 ? dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) : NULL;
	if (lib == NULL) {
		fprintf(
		    stderr, "dlopen: %s\n", argc > 1 ? dlerror() : "no path");
		return 1;
	}
	__typeof__(&syn_synchronizer_new) new_sync =
	    LOOKUP(lib, syn_synchronizer_new);
	__typeof__(&syn_register)    reg  = LOOKUP(lib, syn_register);
	__typeof__(&syn_call)        call = LOOKUP(lib, syn_call);
	__typeof__(&syn_result_fini) fini = LOOKUP(lib, syn_result_fini);
	__typeof__(&syn_synchronizer_destroy) destroy =
	    LOOKUP(lib, syn_synchronizer_destroy);
	if (new_sync == NULL || reg == NULL || call == NULL || fini == NULL ||
	    destroy == NULL) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		return 1;
	}
	syn_synchronizer s;
	syn_func_def     d   = { "add1", SYN_KIND_FUNCTION, add1, NULL };
	int64_t          sum = 0;
	if (new_sync(&s, NULL) != 0 || reg(s, &d) != 0) {
		fprintf(stderr, "no synchronizer\n");
		return 1;
	}
	for (int i = 0; i < 1000; i++) {
		syn_value  a = syn_int(i);
		syn_result r = SYN_RESULT_INIT;
		if (call(s, "add1", &a, 1, &r) != 0) {
			fprintf(stderr, "call %d failed\n", i);
			return 1;
		}
		sum += r.value.as.i;
		fini(&r);
	}
	if (destroy(s) != 0 || sum != 500500) {
		fprintf(stderr, "sum %lld\n", (long long) sum);
		return 1;
	}
	printf("1000 calls through dlopen: %lld\n", (long long) sum);
	if (dlclose(lib) != 0 ||
	    dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == NULL) {
		fprintf(stderr,
		    "the library was unloaded by dlclose, under "
		    "threads that may still run in it\n");
		return 1;
	}
	printf("still loaded after dlclose\n");
	return 0;
}
