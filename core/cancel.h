/*
 * core/cancel.h: how a thread waits for the call it made, so that its
 * canceller (synchronicity/cancel.h) can interrupt the wait and the
 * blocking-call hook of a synchronizer hears of it.
 */
#ifndef SNI_CANCEL_H
#define SNI_CANCEL_H

#include <stdbool.h>
#include <stdint.h>

#include <synchronicity/future.h>

/*
 * Waits for the call f, which the calling thread made, until deadline_ns
 * (UINT64_MAX: none) or the deadline of the thread's canceller, whichever
 * comes first. At a deadline, f is cancelled and waited for (its task's
 * cleanup runs) and SYN_ETIMEDOUT is returned. When the canceller is
 * cancelled, f is cancelled likewise and 0 is returned once f completes:
 * its outcome reads SYN_ECANCELED. Otherwise 0 once f completes, or
 * SYN_EFORK for a call the parent of a fork made. what names the call
 * for the hook of the synchronizer whose thread this is, if any.
 */
int sni_call_wait(syn_future *f, uint64_t deadline_ns, const char *what);

/*
 * Before a blocking call is made: 0 when the thread's canceller (if any,
 * and not shielded) lets it be made, else SYN_ECANCELED or SYN_ETIMEDOUT
 * with the detail set: the call must not be made.
 */
int sni_cancel_check(void);

/*
 * Shields the calling thread's blocking calls from its canceller (on:
 * true) or ends the shield; returns whether it was on. A context
 * manager's exit is shielded: it runs to its end after a cancel.
 */
bool sni_cancel_shield(bool on);

/*
 * Tells the on_blocking hook of the synchronizer whose thread this is, if
 * any, that it is about to block in what.
 */
void sni_blocking_report(const char *what);

#endif /* SNI_CANCEL_H */
