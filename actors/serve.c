/*
 * actors/serve.c: serving a synchronizer to other processes (listeners
 * on its door, and the names it exports), and connecting to one.
 */
#include <stdlib.h>
#include <string.h>

#include <synchronicity/serve.h>

#include "core/door.h"
#include "core/errors.h"
#include "core/remote.h"
#include "functab.h"
#include "proto/proto.h"
#include "sync.h"

#define URL_MAX 1024
#define CONNECT_TIMEOUT_MS 5000

/* ---- exports ----------------------------------------------------------
 */

static bool
export_has(const sni_sync *s, const char *name, size_t len)
{
	for (uint32_t i = 0; i < s->nexports; i++) {
		if (strlen(s->exports[i]) == len &&
		    memcmp(s->exports[i], name, len) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * As the call will resolve: with target object 0, the constructor of a
 * class exported by its name; with no target, a function registered
 * under the whole name, exported by it, or else a static method
 * "Class.method" (class up to the last dot, as resolution reads it) of
 * an exported class or exported by its whole name. A function whose
 * name has a dot is never reached through its prefix's export.
 */
static bool
name_exported(const sni_sync *s, const sni_call_view *v)
{
	const char *dot = memrchr(v->method, '.', v->method_len);
	bool        ok  = export_has(s, v->method, v->method_len);
	if (!ok && !v->has_target && dot != NULL &&
	    sni_functab_find(&s->funcs, v->method, v->method_len) == NULL) {
		ok = export_has(s, v->method, (size_t) (dot - v->method));
	}
	if (ok) {
		return true;
	}
	sni_detail_set("no %s named '%.*s' is served",
	    v->has_target ? "class" : "function", (int) v->method_len,
	    v->method);
	return false;
}

bool
sni_exported(sni_sync *s, const sni_call_view *v)
{
	if (!v->has_target || v->target.object == 0) {
		return name_exported(s, v);
	}
	if (!sni_peer_holds(s, v->pipe, v->target.object)) {
		sni_detail_set("this connection holds no reference to object "
		               "%llu (released, or never handed to it)",
		    (unsigned long long) v->target.object);
		return false;
	}
	return true;
}

/* Forgets the names added after the first n. */
static void
exports_cut(sni_sync *s, uint32_t n)
{
	while (s->nexports > n) {
		free(s->exports[--s->nexports]);
	}
}

void
sni_exports_fini(sni_sync *s)
{
	exports_cut(s, 0);
	free(s->exports);
	s->exports = NULL;
}

static int
export_add(sni_sync *s, const char *name)
{
	if (export_has(s, name, strlen(name))) {
		return 0;
	}
	char **more = realloc(s->exports, (s->nexports + 1) * sizeof(*more));
	if (more == NULL) {
		return SYN_ENOMEM;
	}
	s->exports = more;
	if ((more[s->nexports] = strdup(name)) == NULL) {
		return SYN_ENOMEM;
	}
	s->nexports++;
	return 0;
}

/* Adds the NULL-terminated names (NULL: none): 0 or SYN_ENOMEM. */
static int
exports_add(sni_sync *s, const char *const *names)
{
	for (const char *const *e = names; e != NULL && *e != NULL; e++) {
		if (export_add(s, *e) != 0) {
			return SYN_ENOMEM;
		}
	}
	return 0;
}

/* ---- serving ------------------------------------------------------------
 */

typedef struct serve_args {
	const char             *url;
	const syn_serve_config *cfg;
	char                   *bound;
	size_t                  size;
	const char             *why; /* the detail, for the caller's thread */
} serve_args;

/* On the actor's thread: the listener, then the exports. */
static int
serve_on_actor(sni_actor *a, void *arg)
{
	serve_args *sa = arg;
	sni_sync   *s  = a->ops_arg;
	if (a->door == NULL) {
		sa->why = "the synchronizer has no mailbox socket (no_door)";
		return SYN_ENOENT;
	}
	sni_listen_opts o = { sa->cfg->max_message != 0 ? sa->cfg->max_message
		                                        : a->max_message,
		sa->cfg->ipc_mode, sa->cfg->tls_cert_key_file,
		sa->cfg->tls_ca_file };
	sni_detail_clear();
	uint32_t had = s->nexports;
	if (exports_add(s, sa->cfg->exports) != 0) {
		exports_cut(s, had);
		sa->why = "no memory for the exports";
		return SYN_ENOMEM;
	}
	/* (asked before the listener starts: its first peers meet them) */
	sni_door_asks asks = { sa->cfg->max_connections,
		sa->cfg->max_connections_per_host,
		(int32_t) sa->cfg->reply_timeout };
	sni_door_asks before;
	sni_door_ask(a->door, &asks, &before);
	uint32_t objects_before = s->peer_objects_max;
	uint32_t objects        = sa->cfg->max_objects_per_connection;
	if (objects != 0 && (objects_before == 0 || objects < objects_before)) {
		s->peer_objects_max = objects; /* (the smallest asked) */
	}
	int rc = sni_door_listen(a->door, sa->url, &o, sa->bound, sa->size);
	if (rc != 0) {
		sni_door_unask(a->door, &before); /* (all or nothing) */
		s->peer_objects_max = objects_before;
		exports_cut(s, had);
		sa->why = rc == SYN_ENOSPC ? "a synchronizer has 15 listeners "
		                             "at most"
		    : rc == SYN_EINVAL && sni_detail_get()[0] == '\0'
		    ? "bound is too small for the address"
		    : sni_detail_get()[0] != '\0' ? sni_detail_get()
		                                  : NULL;
		return rc;
	}
	return 0;
}

/* Whether url names nng's TLS transport. */
static bool
is_tls(const char *url)
{
	return strncmp(url, "tls+tcp", 7) == 0;
}

/* TLS files for a tls+tcp:// url, none for another: 0, or SYN_EINVAL
 * with a detail. */
static int
check_tls(const char *url, const char *required, const char *what, bool others)
{
	if (is_tls(url) && required == NULL) {
		return sni_error_set(SYN_EINVAL, what, url);
	}
	if (!is_tls(url) && (required != NULL || others)) {
		return sni_error_set(SYN_EINVAL,
		    "TLS files are for tls+tcp:// addresses only", url);
	}
	return 0;
}

static int
check_serve(const char *url, const syn_serve_config *cfg)
{
	if (url == NULL || strlen(url) >= URL_MAX) {
		return sni_error_set(
		    SYN_EINVAL, "url is NULL or longer than 1023 bytes", "");
	}
	int rc = check_tls(url, cfg->tls_cert_key_file,
	    "a tls+tcp:// listener needs config.tls_cert_key_file",
	    cfg->tls_ca_file != NULL);
	if (rc != 0) {
		return rc;
	}
	if (cfg->reply_timeout < 0) {
		return sni_error_set(SYN_EINVAL,
		    "reply_timeout is 0 (the default) or a positive number of "
		    "ms",
		    url);
	}
	for (const char *const *e = cfg->exports; e != NULL && *e != NULL;
	     e++) {
		size_t len = strlen(*e);
		if (len == 0 || len > SNI_METHOD_MAX ||
		    !sni_utf8_valid((const uint8_t *) *e, len)) {
			return sni_error_set(SYN_EINVAL,
			    "an export needs a name of 1 to 255 bytes of UTF-8",
			    url);
		}
	}
	return 0;
}

int
syn_serve(syn_synchronizer s, const char *url, const syn_serve_config *cfg,
    char *bound, size_t size)
{
	static const syn_serve_config none;
	cfg    = cfg != NULL ? cfg : &none;
	int rc = check_serve(url, cfg);
	if (rc != 0) {
		return rc;
	}
	sni_actor *self = sni_actor_self();
	if (self != NULL && self->id == s.id) {
		return sni_error_set(SYN_EDEADLK,
		    "syn_serve from the synchronizer's own thread", url);
	}
	serve_args sa = { url, cfg, bound, size, NULL };
	rc            = sni_actor_run(s.id, serve_on_actor, &sa);
	if (rc == SYN_EDEADLK) {
		return rc; /* (a ring of waits: its message is set) */
	}
	return rc != 0 ? sni_error_set(rc, sa.why, url) : 0;
}

/* ---- connecting ---------------------------------------------------------
 */

int
syn_connect(
    const char *url, const syn_connect_config *cfg, syn_synchronizer *sp)
{
	static const syn_connect_config defaults;
	cfg = cfg != NULL ? cfg : &defaults;
	if (url == NULL || sp == NULL || strlen(url) >= URL_MAX ||
	    (cfg->max_message != 0 && cfg->max_message < 64) ||
	    cfg->timeout < 0) {
		return sni_error_set(SYN_EINVAL,
		    "syn_connect needs a url (under 1024 bytes) and sp; "
		    "config.max_message 0 or at least 64, timeout >= 0",
		    "");
	}
	int rc = check_tls(url, cfg->tls_ca_file,
	    "a tls+tcp:// connection needs config.tls_ca_file",
	    cfg->tls_server_name != NULL || cfg->tls_cert_key_file != NULL);
	if (rc != 0) {
		return rc;
	}
	sp->id = 0;
	size_t max =
	    cfg->max_message != 0 ? cfg->max_message : SNI_DEFAULT_MAX_SIZE;
	sni_actor    *a;
	sni_dial_opts o = { max,
		cfg->timeout != 0 ? cfg->timeout : CONNECT_TIMEOUT_MS,
		cfg->tls_ca_file, cfg->tls_server_name,
		cfg->tls_cert_key_file };
	sni_detail_clear();
	rc = sni_remote_open(url, &o, &a, &sp->id);
	if (rc != 0) {
		return sni_error_set(rc,
		    rc == SYN_EFORK ? "nng cannot be used in a forked child "
		                      "of a process that used it"
		        : sni_detail_get()[0] != '\0' ? sni_detail_get()
		                                      : NULL,
		    url);
	}
	sni_translate_install();
	return 0;
}
