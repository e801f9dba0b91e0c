/*
 * core/nngclose.h: closing an nng socket with a bound on the wait.
 *
 * nng 1.5.2's nng_close() can hang for ever when the socket's peer went
 * away with messages in flight (nng issues #1543 and #1813, fixed after
 * 1.5.2). A destroy must not hang: the close runs on a thread of its
 * own, and the caller waits for it a bounded time. When it does not
 * return in time, the socket is abandoned to that thread, with what
 * nng's callbacks may still touch (keep), which late(keep) frees if the
 * close ever returns.
 */
#ifndef SNI_NNGCLOSE_H
#define SNI_NNGCLOSE_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

/*
 * Closes s, waiting ms milliseconds at most. true: closed (keep is the
 * caller's); false: abandoned (keep belongs to the closing thread now,
 * and must not be freed or touched by the caller). Any thread.
 */
bool sni_close_bounded(
    nng_socket s, int32_t ms, void (*late)(void *keep), void *keep);

#endif /* SNI_NNGCLOSE_H */
