/*
 * synchronicity: the error table.
 *
 * Every function of the library returns an int: 0 for success or one of the
 * codes below. The codes that nng also has carry nng's numbers, so a code
 * that completes an nng_aio means the same thing to nng_strerror() and to
 * syn_strerror(), and an nng result can be passed on unchanged.
 */
#ifndef SYNCHRONICITY_ERROR_H
#define SYNCHRONICITY_ERROR_H

#include <synchronicity/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The table, written once: X(NAME, number, description). It yields the enum,
 * syn_strerror() and syn_errname(). Codes 1 to 31 and 1000 are nng's.
 */
#define SYN_ERROR_TABLE(X)                                                    \
	X(EINTR, 1, "interrupted")                                            \
	X(ENOMEM, 2, "out of memory")                                         \
	X(EINVAL, 3, "invalid argument")                                      \
	X(EBUSY, 4, "resource busy")                                          \
	X(ETIMEDOUT, 5, "timed out")                                          \
	X(ECONNREFUSED, 6, "connection refused")                              \
	X(ECLOSED, 7, "closed")                                               \
	X(EAGAIN, 8, "not ready, try again")                                  \
	X(ENOTSUP, 9, "not supported")                                        \
	X(EADDRINUSE, 10, "address in use")                                   \
	X(ESTATE, 11, "incorrect state")                                      \
	X(ENOENT, 12, "no such entry")                                        \
	X(EPROTO, 13, "protocol error: malformed message")                    \
	X(EUNREACHABLE, 14, "destination unreachable")                        \
	X(EADDRINVAL, 15, "address invalid")                                  \
	X(EPERM, 16, "permission denied")                                     \
	X(EMSGSIZE, 17, "message too large")                                  \
	X(ECONNABORTED, 18, "connection aborted")                             \
	X(ECONNRESET, 19, "connection reset")                                 \
	X(ECANCELED, 20, "canceled")                                          \
	X(ENOFILES, 21, "out of files")                                       \
	X(ENOSPC, 22, "out of space")                                         \
	X(EEXIST, 23, "already exists")                                       \
	X(EREADONLY, 24, "read only")                                         \
	X(EWRITEONLY, 25, "write only")                                       \
	X(ECRYPTO, 26, "cryptographic error")                                 \
	X(EPEERAUTH, 27, "peer could not be authenticated")                   \
	X(ENOARG, 28, "option requires argument")                             \
	X(EAMBIGUOUS, 29, "ambiguous option")                                 \
	X(EBADTYPE, 30, "wrong type")                                         \
	X(ECONNSHUT, 31, "connection shutdown")                               \
	X(EDEADLK, 128,                                                       \
	    "deadlock detected: a blocking call would wait for its own "      \
	    "thread")                                                         \
	X(EFORK, 129, "synchronizer belongs to the parent process of a fork") \
	X(ERANGE, 130, "value out of range")                                  \
	X(EBADCODE, 131,                                                      \
	    "implementation returned a code that is neither 0, a library "    \
	    "code "                                                           \
	    "nor SYN_EUSER(n)")                                               \
	X(EEND, 132, "end of the stream: the generator has no more items")    \
	X(EITERCLOSED, 133, "the consumer closed the iterator")               \
	X(EINTERNAL, 1000, "internal error")

/* The library's codes: SYN_EINTR, SYN_ENOMEM, ... as listed above. */
enum syn_errno {
#define SYN_ERRNO_ENUM_(name, num, text) SYN_##name = num,
	SYN_ERROR_TABLE(SYN_ERRNO_ENUM_)
#undef SYN_ERRNO_ENUM_
};

/*
 * A failed system call, as nng's NNG_ESYSERR: SYN_ESYSERR | errno.
 * syn_strerror() gives strerror(errno) for these.
 */
#define SYN_ESYSERR 0x10000000

/*
 * User error codes. Implementation code that fails for a reason of its own
 * returns SYN_EUSER(n) with n from 1 to 0xffffff; the caller receives the
 * same code, never confused with a library code (a user timeout is not
 * SYN_ETIMEDOUT). SYN_IS_USER(code) tells them apart, SYN_USER_CODE(code)
 * gives n back.
 */
#define SYN_EUSER_FLAG 0x40000000
#define SYN_EUSER(n) (SYN_EUSER_FLAG | ((n) &0xffffff))
#define SYN_IS_USER(code) \
	(((code) & ~0xffffff) == SYN_EUSER_FLAG && ((code) &0xffffff) != 0)
#define SYN_USER_CODE(code) ((code) &0xffffff)

/*
 * The detail of an error: its code, a message, and the path of calls it
 * crossed, innermost first ("query <- load"). Strings are never NULL; they
 * may be empty.
 */
typedef struct syn_error {
	int         code;
	const char *message;
	const char *where;
} syn_error;

/*
 * A static English description of code; codes outside the table give
 * "unknown error". Any thread; never NULL.
 */
SYN_API const char *syn_strerror(int code);

/*
 * The symbolic name of code ("SYN_ECLOSED", "SYN_EUSER(5)", "SYN_ESYSERR(2)"),
 * in a static or thread-local buffer valid until the next call of
 * syn_errname() on this thread. Any thread; never NULL.
 */
SYN_API const char *syn_errname(int code);

/*
 * The detail of the last error that a blocking call, a future or
 * syn_aio_result() reported on this thread: code, message and path. Valid
 * until the next library call on this thread; owned by the library. After
 * a success it still describes the previous failure. Never NULL (code 0
 * and empty strings when nothing failed yet).
 */
SYN_API const syn_error *syn_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_ERROR_H */
