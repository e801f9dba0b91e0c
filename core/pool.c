/*
 * core/pool.c: the blocking pool. Threads start on demand, up to
 * POOL_MAX, and end after POOL_IDLE_S seconds with nothing to do. Jobs
 * run in the order they came. After a fork the child starts with an empty
 * pool (the parent's threads did not follow).
 */
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "actor.h"
#include "errors.h"
#include "pool.h"

#define POOL_MAX 16 /* running, besides those waiting for calls */
#define POOL_IDLE_S 10

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  pool_cond = PTHREAD_COND_INITIALIZER;
static sni_job        *queue_head;
static sni_job        *queue_tail;
static int             nthreads;
static int             nidle;
static int             nqueued;
static int             nbusy;    /* threads running a job */
static int             nblocked; /* ... of them, whose job waits for a call */

/* The job this pool thread runs, or NULL. */
static _Thread_local sni_job *running_job;
static pthread_once_t         fork_once = PTHREAD_ONCE_INIT;

static void
fork_prepare(void)
{
	pthread_mutex_lock(&pool_lock);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&pool_lock);
}

static void
fork_child(void)
{
	pthread_mutex_unlock(&pool_lock);
	pthread_cond_init(&pool_cond, NULL);
	queue_head = queue_tail = NULL; /* the parent's jobs, not ours */
	nidle = nqueued = nblocked = 0;
	/* (a job that forked goes on in the child, on its one pool thread) */
	nthreads = nbusy = running_job != NULL ? 1 : 0;
}

static void
install_fork_handlers(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* Under the lock: a job is queued and fewer than POOL_MAX run. */
static bool
job_may_start(void)
{
	return queue_head != NULL && nbusy - nblocked < POOL_MAX;
}

/* Under the lock: the next job, once one may start; NULL after long
 * idling (the jobs still queued then wait for the running ones). */
static sni_job *
take_job(void)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += POOL_IDLE_S;
	while (!job_may_start()) {
		nidle++;
		int rc = pthread_cond_timedwait(&pool_cond, &pool_lock, &until);
		nidle--;
		if (rc != 0 && !job_may_start()) {
			return NULL;
		}
	}
	sni_job *job = queue_head;
	queue_head   = job->next;
	nqueued--;
	nbusy++;
	if (queue_head == NULL) {
		queue_tail = NULL;
	}
	return job;
}

/* Under the lock: a job ended or began to wait for a call, so that a
 * queued one may start on a waiting thread. */
static void
room_made(void)
{
	if (job_may_start() && nidle > 0) {
		pthread_cond_signal(&pool_cond);
	}
}

static void *
worker(void *unused)
{
	(void) unused;
	pthread_mutex_lock(&pool_lock);
	sni_job *job;
	while ((job = take_job()) != NULL) {
		pthread_mutex_unlock(&pool_lock);
		running_job = job;
		job->rc     = job->fn(job->arg);
		running_job = NULL;
		/* The actor waits for this job (its task cannot end
		 * before), but may end right after taking the node. */
		sni_actor_post_held(job->actor, &job->node);
		pthread_mutex_lock(&pool_lock);
		nbusy--;
	}
	nthreads--;
	pthread_mutex_unlock(&pool_lock);
	return NULL;
}

/* Under the lock: one more thread, if allowed and possible. */
static bool
start_thread(void)
{
	pthread_attr_t attr;
	pthread_t      th;
	if (nthreads - nblocked >= POOL_MAX || pthread_attr_init(&attr) != 0) {
		return false;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	bool ok = pthread_create(&th, &attr, worker, NULL) == 0;
	pthread_attr_destroy(&attr);
	if (ok) {
		nthreads++;
	}
	return ok;
}

int
sni_pool_submit(sni_job *job)
{
	pthread_once(&fork_once, install_fork_handlers);
	job->node.kind = SNI_NODE_POOL;
	job->next      = NULL;
	pthread_mutex_lock(&pool_lock);
	if (nidle <= nqueued && !start_thread() && nthreads == nblocked) {
		pthread_mutex_unlock(&pool_lock);
		return SYN_ENOMEM;
	}
	if (queue_tail != NULL) {
		queue_tail->next = job;
	} else {
		queue_head = job;
	}
	queue_tail = job;
	nqueued++;
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
	return 0;
}

void *
sni_pool_job_actor(void)
{
	return running_job != NULL ? running_job->actor : NULL;
}

void *
sni_pool_job_task(void)
{
	return running_job != NULL ? running_job->task : NULL;
}

bool
sni_pool_block_begin(void)
{
	if (running_job == NULL) {
		return false;
	}
	sni_job *unrun = NULL;
	pthread_mutex_lock(&pool_lock);
	nblocked++;
	room_made();
	/* (the queue must not wait for this job: another thread takes it,
	 * or, with none to run it, it goes back unrun) */
	if (nidle < nqueued && !start_thread() && nthreads == nblocked) {
		unrun      = queue_head;
		queue_head = queue_tail = NULL;
		nqueued                 = 0;
	}
	pthread_mutex_unlock(&pool_lock);
	while (unrun != NULL) {
		sni_job *job = unrun;
		unrun        = job->next;
		job->unrun   = true;
		sni_actor_post_held(job->actor, &job->node);
	}
	return true;
}

void
sni_pool_block_end(void)
{
	pthread_mutex_lock(&pool_lock);
	nblocked--;
	pthread_mutex_unlock(&pool_lock);
}
