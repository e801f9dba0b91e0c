/*
 * core/errors.h: the thread's last-error detail, and the check of codes
 * that implementation code returns.
 */
#ifndef SNI_ERRORS_H
#define SNI_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

#include <synchronicity/error.h>

/*
 * Records code, message and where (copied, truncated to a few hundred
 * bytes; NULL means "") as the calling thread's syn_last_error(), and
 * returns code. message NULL gives syn_strerror(code).
 */
int sni_error_set_at(int code, const char *message, const char *where,
    const char *file, int line);
#define sni_error_set(code, message, where) \
	sni_error_set_at((code), (message), (where), __FILE__, __LINE__)

/* Whether SYN_DEBUG is set (not to 0) in the environment. */
bool sni_debug(void);

/*
 * With SYN_DEBUG=1: " [raised at file:line]" (file without its folders)
 * in buf; else "". Returns buf.
 */
const char *sni_raised_at(char *buf, size_t size, const char *file, int line);

/* As sni_error_set, with the proto detail of this thread as message. */
int sni_error_set_detail(int code, const char *where);

/* True for 0, a code of the table, SYN_ESYSERR|errno and SYN_EUSER(n). */
bool sni_code_valid(int code);

#endif /* SNI_ERRORS_H */
