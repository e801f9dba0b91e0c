/*
 * core/remote.h: a synchronizer of another process, reached over nng.
 *
 * It is an sni_actor with no thread: a raw req0 socket dialled to the
 * other process's door. A call posted to it leaves as its own message,
 * with a request id of ours, and the reply completes the caller's future
 * from nng's thread (so a future's callback runs there). Everything that posts
 * to an actor works with it: calls, futures, aios, iterators; what needs the
 * actor's thread (registering, running code there) is SYN_ENOTSUP.
 */
#ifndef SNI_REMOTE_H
#define SNI_REMOTE_H

#include <stddef.h>
#include <stdint.h>

#include "actor.h"

typedef struct sni_remote sni_remote;

/*
 * Dials url (tcp://, ipc://, tls+tcp://, inproc://) and registers a
 * remote actor for it: *ap and *idp name it. Replies are taken up to
 * max_message bytes; timeout_ms bounds each send's wait for a connection
 * (the dial itself waits as the transport does: a refusal is at once). Any
 * thread. Errors: nng's (SYN_ECONNREFUSED, SYN_EADDRINVAL, ...), SYN_ENOMEM,
 * SYN_EFORK.
 */
int sni_remote_open(const char *url, size_t max_message, int32_t timeout_ms,
    sni_actor **ap, uint32_t *idp);

/*
 * A call id for a CALL to remote actor a: the server knows the call by
 * it, so that cancelling the call can cancel its task there. Any thread.
 */
uint64_t sni_remote_call_id(sni_actor *a);

/* A node posted to remote actor a: a CALL leaves, a CANCEL aborts it. */
void sni_remote_post(sni_actor *a, sni_node *n);

/*
 * At destroy: closes the socket (pending calls fail with SYN_ECLOSED),
 * waits for nng's callbacks and frees a's remote part. The caller then
 * removes a from the registry and frees it.
 */
void sni_remote_close(sni_actor *a);

#endif /* SNI_REMOTE_H */
