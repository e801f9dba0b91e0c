/*
 * core/backcall.h: calls from a served synchronizer into objects of its
 * clients (callbacks across processes).
 *
 * A client that hands one of its own objects to a server (a proxy of a
 * synchronizer of the client's process, in a call's arguments) names it
 * by a handle marked SNI_PEER_OWNER. On the server that handle becomes a
 * proxy of a thread-less actor, one per client connection (its "back"
 * actor), so that the server's code calls it as any proxy. The server
 * cannot send a request over the connection: the client keeps a POLL
 * waiting with it, which the server answers with the next call for the
 * client (a CALLBACK); the client runs it on its own synchronizer and
 * sends the answer back in a RESULT.
 *
 * Everything here runs on the served synchronizer's thread, but the
 * posting (sni_backcall_post: any thread).
 */
#ifndef SNI_BACKCALL_H
#define SNI_BACKCALL_H

#include <stdbool.h>
#include <stdint.h>

#include <nng/nng.h>

#include "actor.h"

typedef struct sni_backcall sni_backcall;

/*
 * Renames a handle marked SNI_PEER_OWNER that came from the client behind
 * pipe: it becomes a handle of that client's back actor (made on first
 * use), carrying a reference (*owned). SYN_EPROTO for a handle that no
 * client can send, SYN_ENOMEM. The loop.
 */
int sni_backcall_name(sni_actor *a, uint32_t pipe, syn_handle *h, bool *owned);

/* The loop: a POLL or a RESULT from a door slot (msg taken). */
void sni_backcall_poll(
    sni_actor *a, nng_msg *msg, void *slot, const sni_limits *lim);
void sni_backcall_result(
    sni_actor *a, nng_msg *msg, void *slot, const sni_limits *lim);

/* The loop: a SNI_NODE_BACKCALL or SNI_NODE_BACKCANCEL node. */
void sni_backcall_node(sni_actor *a, sni_node *n);

/* The loop: pipe closed: its back actor's calls fail, and it goes. */
void sni_backcall_pipe_gone(sni_actor *a, uint32_t pipe);

/* At the end of the loop: every back actor goes. */
void sni_backcalls_fini(sni_actor *a);

/* The synchronizer whose loop carries out back actor a's calls; NULL
 * when a is no back actor. Any thread, while a is pinned. */
sni_actor *sni_backcall_server(const sni_actor *a);

#endif /* SNI_BACKCALL_H */
