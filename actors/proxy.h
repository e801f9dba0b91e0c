/*
 * actors/proxy.h: proxies, the caller's side of an object.
 */
#ifndef SNI_PROXY_H
#define SNI_PROXY_H

#include <stdbool.h>

#include <synchronicity/class.h>

/* A proxy begins with its object's handle: the codec reads it there. */
struct syn_proxy {
	syn_handle h;
	uint32_t   refs;    /* under the table's lock */
	uint64_t   exports; /* references its owner handed out with it */
	syn_proxy *next;    /* in its bucket */
};

/*
 * The proxy of h, the same one while it lives, with one more reference
 * for the caller; owned: h came with a reference that its owner handed
 * out (given back at the last release). NULL without memory. Any thread.
 */
syn_proxy *sni_proxy_get(const syn_handle *h, bool owned);

/*
 * The proxy of h that a decoded value's PROXY ext (SNI_HANDLE_CARRIED)
 * holds a reference to, which passes to the caller: no count changes.
 * NULL when h has no proxy (no encoder of this process wrote that ext).
 * Any thread.
 */
syn_proxy *sni_proxy_carried(const syn_handle *h);

#endif /* SNI_PROXY_H */
