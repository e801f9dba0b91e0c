/*
 * actors/version.c: syn_version() and syn_version_number(), the version
 * this build of the library was made with (the generated
 * synchronicity/version.h, from the CMake project version).
 */
#include <synchronicity/version.h>

const char *
syn_version(void)
{
	return SYN_VERSION_STRING;
}

int
syn_version_number(void)
{
	return SYN_VERSION_NUMBER;
}
