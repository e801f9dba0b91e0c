/*
 * core/fdwait.h: tasks awaiting file descriptors. One poller thread per
 * process watches the descriptors tasks await (epoll, one shot each) and
 * posts their readiness to the owning actor's mailbox.
 */
#ifndef SNI_FDWAIT_H
#define SNI_FDWAIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mpsc.h"

/* A task's wait on a descriptor; it lives on the task's stack. */
typedef struct sni_fdwait {
	sni_node         node; /* posted when the descriptor is ready */
	int              fd;
	uint32_t         events;  /* EPOLLIN / EPOLLOUT wanted */
	uint32_t         revents; /* what came */
	_Atomic uint32_t state;   /* SNI_FD_WAITING, _FIRED, _DROPPED */
	void            *task;
	void            *actor;
	uint64_t         id;         /* its key with the poller */
	int              give_up_rc; /* what the task gets if it fired late */
} sni_fdwait;

enum {
	SNI_FD_WAITING = 0, /* registered, nothing yet */
	SNI_FD_FIRED,       /* the poller posts (or posted) the node */
	SNI_FD_DROPPED,     /* the task gave up: the poller must not post */
};

/*
 * Registers w with the poller (starting it on first use); w owns the
 * registration of its fd until it is dropped or done. Runs on w's actor
 * thread. 0, SYN_EBUSY (another waiter owns the registration of fd: it
 * awaits fd, or fired and its task has not resumed yet), SYN_EINVAL (fd
 * cannot be polled), SYN_ENOMEM. When the previous owner's descriptor
 * was closed (epoll forgot it silently), w takes the number over; that
 * owner is not woken, and it ends by its timeout or cancel.
 */
int sni_fdwait_add(sni_fdwait *w);

/*
 * Unregisters w, removing its fd's registration if w still owns it (so
 * the fd is free for the next wait at once); runs on w's actor thread.
 * True when it was dropped before firing (no node will come), false when
 * the poller fired it (its node is on the way).
 */
bool sni_fdwait_drop(sni_fdwait *w);

/*
 * After w fired and its task resumed: removes its fd's registration if
 * w still owns it (it does not when it was dropped meanwhile, or its
 * descriptor was closed and the number awaited again). Runs on w's actor
 * thread.
 */
void sni_fdwait_done(sni_fdwait *w);

#endif /* SNI_FDWAIT_H */
