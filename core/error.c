/*
 * core/error.c: the error table's strings, and the thread's last error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "proto/proto.h"

const char *
syn_strerror(int code)
{
	if (code == 0) {
		return "no error";
	}
	if ((code & ~0xffff) == SYN_ESYSERR) {
		return strerror(code & 0xffff);
	}
	if (SYN_IS_USER(code)) {
		return "user error";
	}
	switch (code) {
#define SYN_STRERROR_CASE_(name, num, text) \
	case num:                           \
		return text;
		SYN_ERROR_TABLE(SYN_STRERROR_CASE_)
#undef SYN_STRERROR_CASE_
	default:
		return "unknown error";
	}
}

static const char *
table_name(int code)
{
	switch (code) {
#define SYN_ERRNAME_CASE_(name, num, text) \
	case num:                          \
		return "SYN_" #name;
		SYN_ERROR_TABLE(SYN_ERRNAME_CASE_)
#undef SYN_ERRNAME_CASE_
	default:
		return NULL;
	}
}

const char *
syn_errname(int code)
{
	static _Thread_local char buf[40];
	const char               *name = table_name(code);
	if (name != NULL) {
		return name;
	}
	if (code == 0) {
		return "0";
	}
	if ((code & ~0xffff) == SYN_ESYSERR) {
		snprintf(buf, sizeof(buf), "SYN_ESYSERR(%d)", code & 0xffff);
	} else if (SYN_IS_USER(code)) {
		snprintf(
		    buf, sizeof(buf), "SYN_EUSER(%d)", SYN_USER_CODE(code));
	} else {
		snprintf(buf, sizeof(buf), "unknown(%d)", code);
	}
	return buf;
}

bool
sni_code_valid(int code)
{
	return code == 0 || table_name(code) != NULL ||
	    ((code & ~0xffff) == SYN_ESYSERR && (code & 0xffff) != 0) ||
	    SYN_IS_USER(code);
}

/* ---- the thread's last error ------------------------------------------ */

typedef struct last_error {
	syn_error pub;
	char      message[512];
	char      where[256];
} last_error;

static _Thread_local last_error last = { { 0, "", "" }, "", "" };

const syn_error *
syn_last_error(void)
{
	last.pub.message = last.message;
	last.pub.where   = last.where;
	return &last.pub;
}

bool
sni_debug(void)
{
	const char *v = getenv("SYN_DEBUG"); /* errors are rare: read each */
	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

const char *
sni_raised_at(char *buf, size_t size, const char *file, int line)
{
	buf[0] = '\0';
	if (sni_debug() && file != NULL) {
		const char *base = strrchr(file, '/');
		snprintf(buf, size, " [raised at %s:%d]",
		    base != NULL ? base + 1 : file, line);
	}
	return buf;
}

int
sni_error_set_at(int code, const char *message, const char *where,
    const char *file, int line)
{
	char at[128];
	if (message == NULL || message[0] == '\0') {
		message = syn_strerror(code);
	}
	if (strstr(message, " [raised at ") != NULL) {
		at[0] = '\0'; /* where it came from says it already */
	} else {
		sni_raised_at(at, sizeof(at), file, line);
	}
	snprintf(last.message, sizeof(last.message), "%s%s", message, at);
	snprintf(last.where, sizeof(last.where), "%s", where ? where : "");
	last.pub.code = code;
	return code;
}

int
sni_error_set_detail(int code, const char *where)
{
	return sni_error_set(code, sni_detail_get(), where);
}
