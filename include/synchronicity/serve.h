/*
 * synchronicity: serving a synchronizer to other processes and machines,
 * and calling it from there.
 *
 * syn_serve() adds a listener (ipc://, tcp://, tls+tcp://: nng's
 * transports) to a synchronizer's mailbox; syn_connect() dials one and
 * returns a synchronizer handle that names the remote synchronizer: the
 * same calls work on it as on a local one (syn_call, syn_call_future,
 * syn_call_aio, the iterators, the typed functions), each call travelling
 * as its message.
 *
 * Objects cross too. An exported class is made from the client with
 * syn_new() on the connection; an object a served function or method
 * returns or yields reaches the client as a proxy (of the connection's
 * synchronizer), with the same calls as a local proxy: syn_invoke and its
 * future, aio and iterator forms, syn_get, context managers, typed
 * interfaces. Passed back in a call's arguments, such a proxy arrives on
 * the server as the object itself. Releasing the client's last proxy of
 * an object gives its reference back, and the server drops the object
 * once nothing holds it; a client that goes away (killed, disconnected,
 * destroyed) gives back everything it held at once. A connection can
 * call only the objects handed to it: a handle of anything else, made up
 * or taken from another connection, gives SYN_ECLOSED.
 *
 * Callbacks: a proxy of a synchronizer of the client's own process,
 * passed in a call's arguments, is lent to the server, which can call its
 * methods as any proxy's (the calls come back over the same connection
 * and run on the client's synchronizer) until it releases its proxy or
 * the connection goes; the client's object stays alive meanwhile.
 *
 * What cannot cross (yet) says so with SYN_ENOTSUP and a message: a proxy
 * of a third synchronizer (neither the server's nor the client's own), an
 * object value sent from a task (pass a proxy of it), objects or proxies
 * in a callback's arguments or result, and generator methods called back.
 *
 * Nothing is reachable from outside but what the server exports by name.
 * Requests from other processes are checked as strictly as any input:
 * size limits on every listener, strict decoding, the protocol version in
 * every message; a bad frame gets an error reply, or (larger than the
 * limit) closes that peer's connection, and the server keeps serving.
 */
#ifndef SYNCHRONICITY_SERVE_H
#define SYNCHRONICITY_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include <synchronicity/export.h>
#include <synchronicity/synchronizer.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How to serve. A zeroed struct exports nothing. */
typedef struct syn_serve_config {
	/* The names of the functions, generators and classes callers
	 * from other processes may call: an array ending with NULL. NULL:
	 * none. A class's name exports its constructor (syn_new) and its
	 * static methods; the methods of an object are callable by any
	 * connection the object was handed to, exported or not. The names
	 * add up over the synchronizer's syn_serve() calls (copied). */
	const char *const *exports;
	/* The largest request a peer may send, in bytes: a larger frame
	 * closes that peer's connection. 0: the synchronizer's
	 * config.max_message. */
	size_t max_message;
	/* For an ipc:// address: the socket file's mode, such as 0600.
	 * 0: the process's umask decides. */
	int ipc_mode;
	/* How long a reply may wait for a peer that does not read it, in
	 * ms: then that peer is cut off (its connection closes, as if it
	 * had gone: what it held is given back; others are not held up).
	 * 0: 10000. The shortest asked by any syn_serve() of the
	 * synchronizer applies to all its listeners. */
	syn_duration reply_timeout;
	/* For a tls+tcp:// address (required there, refused elsewhere): a
	 * PEM file holding the server's certificate chain and its private
	 * key (not encrypted). Read when the listener starts. */
	const char *tls_cert_key_file;
	/* For tls+tcp://: a PEM file of CA certificates; when set, a client
	 * must present a certificate signed by one of them (mutual TLS).
	 * NULL: any client may connect. */
	const char *tls_ca_file;
	/* The most connections served at once, over all listeners (and the
	 * synchronizer's own inproc:// address). 0: 1024. */
	uint32_t max_connections;
	/* The most connections served at once from one host: one IPv4
	 * address, or one IPv6 /64 (tcp:// and tls+tcp://; inproc:// and
	 * ipc:// peers count only towards max_connections). 0: 256.
	 * A connection past either limit is refused: for a second every
	 * request on it is answered with SYN_EBUSY ("the server has its N
	 * connections"), then it is closed; past 64 such at once, refused
	 * connections are closed at once. For both limits the smallest
	 * asked by any syn_serve() of the synchronizer applies, to the
	 * connections that come after it. */
	uint32_t max_connections_per_host;
	/* The most objects one connection may hold at once (each object
	 * handed to it counts once, however many proxies of it the client
	 * has); the connections from one host may hold 4 times that, and
	 * all connections 16 times: a reply that would hand one more fails
	 * with SYN_EBUSY ("this connection holds N objects, its most:
	 * release some first", or the host's, or all's), and the object is
	 * not handed over. 0: 65536. The smallest asked by any syn_serve()
	 * of the synchronizer applies. */
	uint32_t max_objects_per_connection;
} syn_serve_config;

/*
 * Makes s reachable at url from other processes: "tcp://127.0.0.1:0"
 * (port 0: one is picked), "ipc:///path/to/socket", "tls+tcp://..."
 * (with cfg->tls_cert_key_file).
 * The address taken is copied into bound (size bytes, NUL-terminated;
 * NULL: not wanted): the port picked for port 0. May be called again for
 * more addresses (15 at most). The exports are added once the listener
 * listens. Any thread but s's own. Errors: SYN_EINVAL (a NULL or too long
 * url, bound too small, a bad export name, TLS files missing for
 * tls+tcp:// or given for another scheme), SYN_ENOENT (s has no mailbox
 * socket: created with no_door), SYN_ENOSPC (15 listeners already),
 * SYN_ECLOSED, SYN_EFORK, SYN_ENOMEM, SYN_EDEADLK (from s's own thread,
 * or from a task of a synchronizer whose thread s's blocks for),
 * SYN_ENOTSUP (s is a syn_connect() handle), nng's errors
 * (SYN_EADDRINUSE, SYN_EADDRINVAL, SYN_ENOENT or SYN_ECRYPTO for a TLS
 * file that cannot be read or used, ...).
 */
SYN_API int syn_serve(syn_synchronizer s, const char *url,
    const syn_serve_config *cfg, char *bound, size_t size);

/* How to connect. A zeroed struct asks for the defaults. */
typedef struct syn_connect_config {
	/* The largest reply taken, in bytes; 0: 16 MiB. */
	size_t max_message;
	/* How long syn_connect() waits for its connection (connect, TLS
	 * and protocol handshakes: then SYN_ETIMEDOUT), how long a request
	 * waits to be sent (for a connection to send on: then its call
	 * fails with SYN_ECONNRESET), and how long a cancelled call waits
	 * for the server's answer to its cancel (then it ends here anyway),
	 * in ms. 0: 5000. */
	syn_duration timeout;
	/* For a tls+tcp:// address (required there, refused elsewhere): a
	 * PEM file of the CA certificates the server's certificate must be
	 * signed by. The server is always verified. */
	const char *tls_ca_file;
	/* For tls+tcp://: the name the server's certificate must carry.
	 * NULL: the host of the url. */
	const char *tls_server_name;
	/* For tls+tcp://, when the server asks for one: a PEM file with this
	 * client's certificate chain and private key. NULL: none. */
	const char *tls_cert_key_file;
} syn_connect_config;

/*
 * Connects to a synchronizer served at url and names it in *sp: calls on
 * *sp go there. Free it with syn_synchronizer_destroy(), which fails the
 * calls still pending with SYN_ECLOSED (and leaves the server alone).
 * When the connection is lost, the calls in flight fail with
 * SYN_ECONNRESET; nng reconnects on its own, and calls made meanwhile
 * fail with SYN_ECONNRESET at once. Cancelling a call here (its future,
 * a canceller, a timeout) cancels its task on the server, and the call
 * ends once that task's cleanup ran, as a local call's does (so does an
 * iterator's pending request: its generator sees SYN_ECANCELED); a server
 * that does not answer the cancel within cfg->timeout (stopped, its
 * connection still up) does not hold the call longer: it ends with
 * SYN_ECANCELED (SYN_ETIMEDOUT for a timed call), and the late answer is
 * dropped.
 * The futures of calls on *sp complete on nng's threads (a call whose
 * request could not be sent: on the connection's own thread, which waits
 * for requests nng could not take at once, or on the thread that
 * destroys *sp): a callback set with syn_future_callback() runs there,
 * and must not block (no blocking call, no destroy of *sp).
 * syn_register() and the like on *sp give SYN_ENOTSUP. Any thread.
 * Errors: SYN_EINVAL (a NULL url or sp, a bad config: TLS files missing
 * for tls+tcp:// or given for another scheme), SYN_ECONNREFUSED (nobody
 * listens there), SYN_ETIMEDOUT (no connection within cfg->timeout: a
 * host that does not answer, a peer that does not speak the protocol),
 * SYN_EPEERAUTH or SYN_ECRYPTO (a TLS handshake that
 * failed: a server whose certificate does not verify, or one that asked
 * for ours), SYN_EFORK, SYN_ENOMEM, nng's errors (SYN_EADDRINVAL, ...).
 */
SYN_API int syn_connect(
    const char *url, const syn_connect_config *cfg, syn_synchronizer *sp);

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_SERVE_H */
