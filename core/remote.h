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
#include "proto/proto.h"

typedef struct sni_remote sni_remote;

/* How a connection dials. */
typedef struct sni_dial_opts {
	size_t      max_message; /* the largest reply taken */
	int32_t     timeout_ms;  /* each send's wait for a connection */
	const char *tls_ca_file; /* for tls+tcp://: see serve.h */
	const char *tls_server_name;
	const char *tls_cert_key_file;
} sni_dial_opts;

/*
 * Dials url (tcp://, ipc://, tls+tcp://, inproc://) as o says and
 * registers a remote actor for it: *ap and *idp name it. The dial waits
 * as the transport does (a refusal is at once). Any thread. Errors:
 * nng's (SYN_ECONNREFUSED, SYN_EADDRINVAL, SYN_EPEERAUTH, ...), with a
 * detail for TLS files that cannot be used, SYN_ENOMEM, SYN_EFORK.
 */
int sni_remote_open(
    const char *url, const sni_dial_opts *o, sni_actor **ap, uint32_t *idp);

/*
 * A call id for a CALL to remote actor a: the server knows the call by
 * it, so that cancelling the call can cancel its task there. Any thread.
 */
uint64_t sni_remote_call_id(sni_actor *a);

/*
 * Before a request that carries h, a handle of an object of this process
 * (a proxy of a local synchronizer), leaves for remote actor a: one more
 * reference is lent to the server, which may call the object back until
 * it gives the reference back (or the connection goes). The caller holds
 * the reference (a proxy's) for as long as it is lent: the unlend hook
 * gives it back. Starts the POLL that carries the server's calls. 0,
 * SYN_ENOMEM, SYN_ENOTSUP (ids too large to cross). Any thread.
 */
int sni_remote_lend(sni_actor *a, const syn_handle *h);

/* A lend of h's object to a's server taken back before its call went:
 * the count goes down and the unlend hook gives the reference back. Any
 * thread. */
void sni_remote_unlend(sni_actor *a, const syn_handle *h);

/* Installs how lent references are given back: n of h's (any thread). */
void sni_remote_set_unlend(void (*fn)(const syn_handle *h, uint64_t n));

/*
 * Whether remote actor id has lent the object key (owner << 32 |
 * object), and gives back n of those references (at most what it lent).
 * Any thread.
 */
bool sni_remote_lent(uint32_t id, uint64_t key, uint64_t n);

/*
 * A request to remote actor id that never left (an iterator's OPEN, closed
 * before its first request): the references lent for the proxies it
 * names go back. Any thread.
 */
void sni_remote_unlend_unsent(uint32_t id, nng_msg *m);

/* A request id for a request to remote actor id (0 when gone). */
uint64_t sni_remote_call_id_of(uint32_t id);

/* Sends the request body in w (a RESULT) to remote actor id; nobody
 * waits for its answer. When it cannot go (w->err set, no memory), the
 * pipe the server's call came on is closed (pipe: its nng id, 0: none
 * known), so that the call it answers does not wait for good. Any
 * thread. */
int sni_remote_answer(uint32_t id, uint32_t pipe, const sni_wbuf *w);

/*
 * An answer to our POLL from remote actor id came (msg, taken): posts
 * the call it carries to this process's synchronizer whose object it
 * names, which answers with a RESULT (core/callback.c); a call that
 * cannot run is answered with its error at once. False when msg was no
 * CALLBACK (the server refused the POLL): polling ends. nng's thread;
 * it does not block.
 */
bool sni_callback_run(uint32_t id, const sni_limits *lim, nng_msg *msg);

/* A connection's calls back that run at once, at most: past it, the
 * client sends no POLL until one ends (the server keeps the rest). */
#define SNI_CALLBACKS_MAX 1024

/* How many calls back that came through remote actor id run now. Any
 * thread. */
size_t sni_callback_running(uint32_t id);

/* A call back through remote actor id ended: when its POLL was held
 * back for it, the POLL goes. Any thread. */
void sni_remote_callback_ended(uint32_t id);

/* A node posted to remote actor a: a CALL leaves, a CANCEL aborts it. */
void sni_remote_post(sni_actor *a, sni_node *n);

/*
 * At destroy: closes the socket (pending calls fail with SYN_ECLOSED),
 * waits for nng's callbacks and frees a's remote part. The caller then
 * removes a from the registry and frees it.
 */
void sni_remote_close(sni_actor *a);

#endif /* SNI_REMOTE_H */
