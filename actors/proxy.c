/*
 * actors/proxy.c: the process's proxies, one per live object reference,
 * found by handle so that the same object comes back as the same proxy.
 * One lock guards the table and the counts: proxies change hands far less
 * often than they are called through.
 */
#include <pthread.h>
#include <stdlib.h>

#include "call.h"
#include "core/actor.h"
#include "core/errors.h"
#include "core/future.h"
#include "core/task.h"
#include "proto/proto.h"
#include "proxy.h"
#include "sync.h"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t  fork_once  = PTHREAD_ONCE_INIT;

/* A fork while another thread holds the lock must not leave the child's
 * copy locked: the lock is held across the fork. */
static void
fork_prepare(void)
{
	pthread_mutex_lock(&table_lock);
}

static void
fork_done(void)
{
	pthread_mutex_unlock(&table_lock);
}

static void
install_fork_handlers(void)
{
	pthread_atfork(fork_prepare, fork_done, fork_done);
}

static void
lock_table(void)
{
	pthread_once(&fork_once, install_fork_handlers);
	pthread_mutex_lock(&table_lock);
}
static syn_proxy **buckets;
static size_t      nbuckets; /* a power of two, or 0 */
static size_t      nproxies;

static size_t
bucket_of(const syn_handle *h, size_t n)
{
	uint64_t x = h->owner * 0x9e3779b97f4a7c15ull ^ h->object;
	x ^= x >> 29;
	return (size_t) (x * 0xbf58476d1ce4e5b9ull >> 17) & (n - 1);
}

/* Under the lock: doubles the table. False without memory. */
static bool
grow(void)
{
	size_t      n = nbuckets ? nbuckets * 2 : 64;
	syn_proxy **b = calloc(n, sizeof(*b));
	if (b == NULL) {
		return false;
	}
	for (size_t i = 0; i < nbuckets; i++) {
		while (buckets[i] != NULL) {
			syn_proxy *p = buckets[i];
			buckets[i]   = p->next;
			size_t k     = bucket_of(&p->h, n);
			p->next      = b[k];
			b[k]         = p;
		}
	}
	free(buckets);
	buckets  = b;
	nbuckets = n;
	return true;
}

static syn_proxy *
find(const syn_handle *h)
{
	if (nbuckets == 0) {
		return NULL;
	}
	for (syn_proxy *p = buckets[bucket_of(h, nbuckets)]; p != NULL;
	     p            = p->next) {
		if (p->h.owner == h->owner && p->h.object == h->object) {
			return p;
		}
	}
	return NULL;
}

static void
unlink_proxy(syn_proxy *p)
{
	syn_proxy **pp = &buckets[bucket_of(&p->h, nbuckets)];
	while (*pp != p) {
		pp = &(*pp)->next;
	}
	*pp = p->next;
	nproxies--;
}

syn_proxy *
sni_proxy_get(const syn_handle *h, bool owned)
{
	lock_table();
	syn_proxy *p = find(h);
	if (p == NULL && (nproxies < nbuckets || grow()) &&
	    (p = calloc(1, sizeof(*p))) != NULL) {
		p->h       = *h;
		size_t k   = bucket_of(h, nbuckets);
		p->next    = buckets[k];
		buckets[k] = p;
		nproxies++;
	}
	if (p != NULL) {
		p->refs++;
		p->exports += owned ? 1 : 0;
	}
	pthread_mutex_unlock(&table_lock);
	return p;
}

syn_proxy *
sni_proxy_carried(const syn_handle *h)
{
	lock_table();
	syn_proxy *p = find(h);
	pthread_mutex_unlock(&table_lock);
	return p;
}

syn_proxy *
syn_proxy_ref(syn_proxy *p)
{
	if (p != NULL) {
		lock_table();
		p->refs++;
		pthread_mutex_unlock(&table_lock);
	}
	return p;
}

/* Gives count references back to the object's synchronizer. */
static void
post_release(const syn_handle *h, uint64_t count)
{
	sni_actor *a;
	if (h->owner > UINT32_MAX ||
	    sni_actor_hold_closed((uint32_t) h->owner, &a) != 0) {
		return; /* gone: it dropped its objects */
	}
	syn_future *f;
	sni_wbuf    w;
	sni_wbuf_init(&w);
	sni_msg_encode_release(&w, 0, h, count);
	if (sni_post_body(a, &w, &f) == 0) {
		syn_future_free(f); /* nobody waits: freed once answered */
	}
	sni_actor_release(a);
}

void
syn_proxy_release(syn_proxy *p)
{
	if (p == NULL) {
		return;
	}
	lock_table();
	bool last = --p->refs == 0;
	if (last) {
		unlink_proxy(p);
	}
	pthread_mutex_unlock(&table_lock);
	if (last) {
		if (p->exports > 0) {
			post_release(&p->h, p->exports);
		}
		free(p);
	}
}

int
syn_proxy_release_later(syn_task *t, syn_proxy *p)
{
	int rc = sni_task_check_data(t);
	if (rc != 0) {
		return sni_error_set(rc,
		    "syn_proxy_release_later() is for the running task", "");
	}
	if (p == NULL) {
		return sni_error_set(SYN_EINVAL, "proxy is NULL", "");
	}
	if ((rc = sni_translate_hold_proxy(t, p)) != 0) {
		return sni_error_set(rc, "no memory to note the proxy", "");
	}
	return 0;
}

syn_synchronizer
syn_proxy_synchronizer(const syn_proxy *p)
{
	syn_synchronizer s = { p != NULL ? (uint32_t) p->h.owner : 0 };
	return s;
}
