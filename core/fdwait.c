/*
 * core/fdwait.c: the poller thread. Descriptors are registered one shot
 * (EPOLLONESHOT) with their waiter's id as data; when one is ready the
 * poller finds the waiter by id (under the lock that dropping takes too,
 * so a waiter that was dropped is never touched: it lives on a task's
 * stack), marks it FIRED and posts it to its actor, which resumes the
 * task. A forked child starts afresh.
 *
 * epoll knows a registration by descriptor number (and file), so the
 * poller also remembers which waiter owns the registration of each
 * number, and a waiter removes a registration only while it owns it.
 * Dropping a waiter removes its registration at once, even when the
 * poller fired it (its task resumes later; the number is free for the
 * next wait meanwhile). A waiter whose descriptor is closed loses its
 * registration, which epoll forgot, to the number's next wait.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "actor.h"
#include "errors.h"
#include "fdwait.h"
#include "ptrmap.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static int             epfd       = -1;
static pthread_once_t  fork_once  = PTHREAD_ONCE_INIT;
static pthread_mutex_t wait_lock  = PTHREAD_MUTEX_INITIALIZER;
static sni_ptrmap      waiters; /* id -> sni_fdwait, under wait_lock */
static sni_ptrmap      owners;  /* fd -> sni_fdwait, under wait_lock */
static uint64_t        next_id = 1;

static const void *
id_key(uint64_t id)
{
	return (const void *) (uintptr_t) (id + 1); /* keys 0, 1 are taken */
}

static const void *
fd_key(int fd)
{
	return (const void *) (uintptr_t) ((unsigned) fd + 2u);
}

static void
fork_child(void)
{
	if (epfd >= 0) {
		close(epfd); /* the parent's poller did not follow */
	}
	epfd = -1;
	pthread_mutex_init(&start_lock, NULL);
	pthread_mutex_init(&wait_lock, NULL);
	sni_ptrmap_fini(&waiters); /* the parent's waiters, not ours */
	sni_ptrmap_fini(&owners);
}

static void
install_fork_handler(void)
{
	pthread_atfork(NULL, NULL, fork_child);
}

static void *
poller(void *arg)
{
	int                fd = (int) (intptr_t) arg;
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(fd, evs, 64, -1);
		if (n < 0 && errno != EINTR) {
			return NULL;
		}
		pthread_mutex_lock(&wait_lock);
		for (int i = 0; i < n; i++) {
			sni_fdwait *w =
			    sni_ptrmap_del(&waiters, id_key(evs[i].data.u64));
			if (w != NULL) { /* else dropped: gone */
				w->revents = evs[i].events;
				atomic_store(&w->state, SNI_FD_FIRED);
				sni_actor_post_held(w->actor, &w->node);
			}
		}
		pthread_mutex_unlock(&wait_lock);
	}
}

/* The poller's epoll descriptor, started on first use; -1 on failure. */
static int
poller_fd(void)
{
	pthread_once(&fork_once, install_fork_handler);
	pthread_mutex_lock(&start_lock);
	if (epfd < 0) {
		int            fd = epoll_create1(EPOLL_CLOEXEC);
		pthread_t      th;
		pthread_attr_t attr;
		if (fd >= 0 && pthread_attr_init(&attr) == 0) {
			pthread_attr_setdetachstate(
			    &attr, PTHREAD_CREATE_DETACHED);
			if (pthread_create(&th, &attr, poller,
			        (void *) (intptr_t) fd) == 0) {
				epfd = fd;
			}
			pthread_attr_destroy(&attr);
		}
		if (epfd < 0 && fd >= 0) {
			close(fd);
		}
	}
	int fd = epfd;
	pthread_mutex_unlock(&start_lock);
	return fd;
}

/* The error of a failed EPOLL_CTL_ADD. */
static int
add_error(int err)
{
	return err == EEXIST ? SYN_EBUSY
	    : err == ENOMEM  ? SYN_ENOMEM
	                     : SYN_EINVAL;
}

/* Registers w's descriptor with epoll, and w as its owner; under
 * wait_lock. The kernel decides whether the number is taken: a previous
 * owner whose descriptor was closed lost its registration, and w takes
 * the number over. */
static int
register_fd(int ep, sni_fdwait *w)
{
	struct epoll_event ev = { .events = w->events | EPOLLONESHOT,
		.data.u64                 = w->id };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, w->fd, &ev) != 0) {
		return add_error(errno);
	}
	if (sni_ptrmap_put(&owners, fd_key(w->fd), w) != 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
		return SYN_ENOMEM;
	}
	return 0;
}

/* Removes w's registration if w still owns it; under wait_lock. */
static void
release_fd(sni_fdwait *w)
{
	if (sni_ptrmap_get(&owners, fd_key(w->fd)) == w) {
		sni_ptrmap_del(&owners, fd_key(w->fd));
		epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
	}
}

int
sni_fdwait_add(sni_fdwait *w)
{
	int ep = poller_fd();
	if (ep < 0) {
		return SYN_ENOMEM;
	}
	w->node.kind = SNI_NODE_FD;
	atomic_init(&w->state, SNI_FD_WAITING);
	pthread_mutex_lock(&wait_lock);
	w->id  = next_id++;
	int rc = sni_ptrmap_put(&waiters, id_key(w->id), w);
	if (rc == 0 && (rc = register_fd(ep, w)) != 0) {
		sni_ptrmap_del(&waiters, id_key(w->id));
	}
	pthread_mutex_unlock(&wait_lock);
	return rc;
}

bool
sni_fdwait_drop(sni_fdwait *w)
{
	pthread_mutex_lock(&wait_lock);
	bool dropped = sni_ptrmap_del(&waiters, id_key(w->id)) != NULL;
	if (dropped) {
		atomic_store(&w->state, SNI_FD_DROPPED);
	}
	release_fd(w);
	pthread_mutex_unlock(&wait_lock);
	return dropped;
}

void
sni_fdwait_done(sni_fdwait *w)
{
	pthread_mutex_lock(&wait_lock);
	release_fd(w); /* fired: one shot, unless dropping released it */
	pthread_mutex_unlock(&wait_lock);
}
