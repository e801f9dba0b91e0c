/*
 * The version (version.h, actors/version.c): the header's macros agree with
 * one another, syn_version() and syn_version_number() of the library agree
 * with the header, and so does the shared library that the file named by
 * the SONAME (libsynchronicity.so.<major>) holds. tests/check_soname.cmake
 * checks the SONAME written in that file.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

/* The directory of the shared library, set by tests/CMakeLists.txt. */
#ifndef SYN_SHARED_DIR
#error "SYN_SHARED_DIR must name the shared library's directory"
#endif

/* The version compiled against, "major.minor.patch" from its parts. */
static void
version_from_parts(char *buf, size_t size)
{
	int n = snprintf(buf, size, "%d.%d.%d", SYN_VERSION_MAJOR,
	    SYN_VERSION_MINOR, SYN_VERSION_PATCH);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_lt((size_t) n, size);
}

START_TEST(macros_agree)
{
	char parts[32];
	version_from_parts(parts, sizeof(parts));
	ck_assert_str_eq(SYN_VERSION_STRING, parts);
	ck_assert_int_ge(SYN_VERSION_MAJOR, 0);
	ck_assert_int_ge(SYN_VERSION_MINOR, 0);
	ck_assert_int_lt(SYN_VERSION_MINOR, 1000);
	ck_assert_int_ge(SYN_VERSION_PATCH, 0);
	ck_assert_int_lt(SYN_VERSION_PATCH, 1000);
	ck_assert_int_eq(SYN_VERSION_NUMBER,
	    SYN_VERSION_MAJOR * 1000000 + SYN_VERSION_MINOR * 1000 +
	        SYN_VERSION_PATCH);
#if SYN_VERSION_NUMBER < 1000
#error "SYN_VERSION_NUMBER must work in #if, and 0.1.0 came first"
#endif
}
END_TEST

START_TEST(library_agrees)
{
	const char *v = syn_version();
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, SYN_VERSION_STRING);
	ck_assert_ptr_eq(syn_version(), v); /* static: the same string */
	ck_assert_int_eq(syn_version_number(), SYN_VERSION_NUMBER);
}
END_TEST

START_TEST(shared_library_agrees)
{
	char path[4096];
	int  n = snprintf(path, sizeof(path), "%s/libsynchronicity.so.%d",
	     SYN_SHARED_DIR, SYN_VERSION_MAJOR);
	ck_assert_uint_lt((size_t) n, sizeof(path));

	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(lib != NULL, "dlopen: %s", dlerror());
	const char *(*version)(void);
	int (*number)(void);
	*(void **) &version = dlsym(lib, "syn_version");
	*(void **) &number  = dlsym(lib, "syn_version_number");
	ck_assert_msg(version != NULL, "syn_version is not exported");
	ck_assert_msg(number != NULL, "syn_version_number is not exported");
	ck_assert_str_eq(version(), SYN_VERSION_STRING);
	ck_assert_int_eq(number(), SYN_VERSION_NUMBER);
	ck_assert_int_eq(dlclose(lib), 0);
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("macros", macros_agree),
		TH_CASE("library", library_agrees),
		TH_CASE("shared", shared_library_agrees),
	};
	return TH_SUITE("version", cases);
}
