/*
 * core/nngclose.h: nng calls that can block for ever, run with a bound on
 * the wait.
 *
 * nng 1.5.2's nng_close() can hang for ever when the socket's peer went
 * away with messages in flight (nng issues #1543 and #1813, fixed after
 * 1.5.2), and a dial waits as long as its connect and handshakes take.
 * Neither may hang a caller of ours: the call runs on a thread of its
 * own, and the caller waits for it a bounded time. When it does not
 * return in time, the caller lets go, and what nng's callbacks may still
 * touch (keep) belongs to that thread, which late(keep) frees if the
 * call ever returns.
 */
#ifndef SNI_NNGCLOSE_H
#define SNI_NNGCLOSE_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

/* A blocking call running on a thread of its own. */
typedef struct sni_bounded sni_bounded;

/*
 * Starts fn(arg) on a thread of its own; late(keep) runs there if the
 * caller lets go before fn returns (late may be NULL). NULL when no
 * thread could start: then the caller runs fn itself. Any thread.
 */
sni_bounded *sni_bounded_start(
    int (*fn)(void *arg), void *arg, void (*late)(void *keep), void *keep);

/* Waits ms milliseconds at most for fn to return; true when it did, and
 * then *rc is what it returned. The starting thread only. */
bool sni_bounded_wait(sni_bounded *b, int32_t ms, int *rc);

/* Lets go of b: when fn has returned, b is freed now; else b and keep
 * are the thread's from now on. The starting thread only, once. */
void sni_bounded_end(sni_bounded *b);

/*
 * Closes s, waiting ms milliseconds at most. true: closed (keep is the
 * caller's); false: abandoned (keep belongs to the closing thread now,
 * and must not be freed or touched by the caller). Any thread.
 */
bool sni_close_bounded(
    nng_socket s, int32_t ms, void (*late)(void *keep), void *keep);

#endif /* SNI_NNGCLOSE_H */
