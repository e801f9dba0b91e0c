/*
 * actors/call.h: what the other request forms share with calls.
 */
#ifndef SNI_CALL_H
#define SNI_CALL_H

#include <nng/nng.h>

#include <synchronicity/future.h>

/*
 * Starts a request: on success *fp is its future, posted, the caller's.
 * On failure returns the code, with syn_last_error() set.
 */
typedef int (*sni_request_fn)(void *arg, syn_future **fp);

/*
 * The aio form of any request: begins aio, starts the request with
 * start(arg) and completes aio once with its reply (see syn_call_aio()
 * for cancellation and syn_aio_result() for reading it). Any thread.
 */
void sni_request_aio(nng_aio *aio, sni_request_fn start, void *arg);

#endif /* SNI_CALL_H */
