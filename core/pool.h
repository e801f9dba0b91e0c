/*
 * core/pool.h: the blocking pool, a few threads shared by the process
 * that run the blocking functions tasks hand to syn_run_blocking(), so
 * that only the task waits, not its synchronizer.
 */
#ifndef SNI_POOL_H
#define SNI_POOL_H

#include <stdbool.h>

#include "mpsc.h"

typedef struct sni_job sni_job;
struct sni_job {
	sni_node node; /* posted to the actor when fn returned */
	int (*fn)(void *arg);
	void    *arg;
	int      rc;
	bool     unrun; /* posted without running: no thread was left */
	void    *task;  /* the task that waits (a sni_task) */
	void    *actor; /* its actor (a sni_actor) */
	sni_job *next;  /* in the pool's queue */
};

/*
 * Queues job; a pool thread runs job->fn(job->arg), stores its result in
 * job->rc and posts job->node to job->actor. 0 or SYN_ENOMEM (no thread
 * could be started and none is left to run it: every one waits, in a
 * job, for a call). Any thread. A job queued when the last thread that
 * could run it starts waiting, with no other to be started, is posted
 * unrun (job->unrun): nothing else would ever take it.
 */
int sni_pool_submit(sni_job *job);

/*
 * The actor whose job the calling pool thread runs, or NULL when this is
 * no pool thread running a job.
 */
void *sni_pool_job_actor(void);

/* The task whose job the calling pool thread runs (a sni_task, waiting
 * for the job), or NULL. */
void *sni_pool_job_task(void);

/*
 * Around a wait of a pool thread's job for a call (or any future): the
 * waiting thread stops counting towards the pool's limit, and another
 * starts if jobs are queued, so that jobs waiting for jobs cannot starve
 * the pool. begin returns false (and end must not be called) on other
 * threads.
 */
bool sni_pool_block_begin(void);
void sni_pool_block_end(void);

#endif /* SNI_POOL_H */
