/*
 * Awaiting file descriptors from tasks (syn_await_fd): readiness, time
 * limits, cancellation, and the synchronizer serving meanwhile.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

/* await(fd, events, timeout): the events fd became ready for. */
static int
await_fd(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t  fd, events, timeout;
	unsigned got = 0;
	int      rc = syn_unpack(t, args, nargs, "iii", &fd, &events, &timeout);
	if (rc == 0 &&
	    (rc = syn_await_fd(t, (int) fd, (unsigned) events,
	         (syn_duration) timeout, &got)) == 0) {
		*ret = syn_int(got);
	}
	return rc;
}

static syn_synchronizer
fd_sync(void)
{
	syn_synchronizer s = th_new();
	th_register(s, "await", await_fd, NULL);
	return s;
}

static syn_future *
start_await(syn_synchronizer s, int fd, unsigned events, int timeout)
{
	syn_value args[3] = { syn_int(fd), syn_int(events), syn_int(timeout) };
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "await", args, 3, &f));
	return f;
}

/* A pipe becomes readable; the synchronizer serves calls meanwhile. */
START_TEST(readable_while_serving)
{
	syn_synchronizer s = fd_sync();
	int              p[2];
	ck_assert_int_eq(pipe(p), 0);
	syn_future *f = start_await(s, p[0], SYN_FD_READ, -1);
	usleep(20000);
	double t0 = th_now_ms();
	ck_assert_int_eq(th_call_int(s, "square_now", 5), 25);
	ck_assert_msg(th_now_ms() - t0 < 100, "the actor was blocked");
	ck_assert_int_eq(syn_future_poll(f), SYN_EAGAIN);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_syn_ok(syn_future_wait(f));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert(v->as.i & SYN_FD_READ);
	syn_future_free(f);
	/* Again on the same fd (it is registered anew). */
	f = start_await(s, p[0], SYN_FD_READ, 1000);
	ck_assert_syn_ok(syn_future_wait(f));
	syn_future_free(f);
	/* Writable at once; the peer's close reads as readable. */
	f = start_await(s, p[1], SYN_FD_WRITE, 1000);
	ck_assert_syn_ok(syn_future_wait(f));
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert(v->as.i & SYN_FD_WRITE);
	syn_future_free(f);
	close(p[1]);
	char c;
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	f = start_await(s, p[0], SYN_FD_READ, 1000);
	ck_assert_syn_ok(syn_future_wait(f));
	syn_future_free(f);
	close(p[0]);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A time limit, a cancel, and destroy end the wait. */
START_TEST(timeout_cancel_destroy)
{
	syn_synchronizer s = fd_sync();
	int              p[2];
	ck_assert_int_eq(pipe(p), 0);
	double      t0 = th_now_ms();
	syn_future *f  = start_await(s, p[0], SYN_FD_READ, 50);
	ck_assert_syn_rc(syn_future_wait(f), SYN_ETIMEDOUT);
	double took = th_now_ms() - t0;
	ck_assert_msg(took >= 49 && took < 1000, "took %.1f ms", took);
	syn_future_free(f);
	f = start_await(s, p[0], SYN_FD_READ, -1);
	usleep(20000);
	ck_assert_syn_ok(syn_future_cancel(f));
	ck_assert_syn_rc(syn_future_wait(f), SYN_ECANCELED);
	syn_future_free(f);
	f = start_await(s, p[0], SYN_FD_READ, -1);
	usleep(20000);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	int rc = syn_future_wait(f);
	ck_assert_msg(rc == SYN_ECLOSED || rc == SYN_ECANCELED, "got %s",
	    syn_errname(rc));
	syn_future_free(f);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* Misuse gets clear errors. */
START_TEST(fd_misuse)
{
	syn_synchronizer s = fd_sync();
	int              p[2];
	ck_assert_int_eq(pipe(p), 0);
	syn_value args[3] = { syn_int(-1), syn_int(SYN_FD_READ), syn_int(10) };
	ck_assert_syn_rc(syn_call(s, "await", args, 3, NULL), SYN_EINVAL);
	args[0] = syn_int(p[0]);
	args[1] = syn_int(0);
	ck_assert_syn_rc(syn_call(s, "await", args, 3, NULL), SYN_EINVAL);
	args[1] = syn_int(SYN_FD_READ);
	args[2] = syn_int(-5);
	ck_assert_syn_rc(syn_call(s, "await", args, 3, NULL), SYN_EINVAL);
	/* A regular file cannot be awaited. */
	char path[] = "/tmp/syn_fd_XXXXXX";
	int  file   = mkstemp(path);
	ck_assert_int_ge(file, 0);
	unlink(path);
	args[0] = syn_int(file);
	args[2] = syn_int(10);
	ck_assert_syn_rc(syn_call(s, "await", args, 3, NULL), SYN_EINVAL);
	close(file);
	/* One task at a time per fd. */
	syn_future *f = start_await(s, p[0], SYN_FD_READ, -1);
	usleep(20000);
	args[0] = syn_int(p[0]);
	ck_assert_syn_rc(syn_call(s, "await", args, 3, NULL), SYN_EBUSY);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	ck_assert_syn_ok(syn_future_wait(f));
	syn_future_free(f);
	ck_assert_int_eq(
	    syn_await_fd(NULL, p[0], SYN_FD_READ, 0, NULL), SYN_ESTATE);
	close(p[0]);
	close(p[1]);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Many tasks awaiting many pipes at once, written from another thread. */
#define NPIPES 50
static int pipes[NPIPES][2];

static void *
writer(void *arg)
{
	(void) arg;
	for (int i = NPIPES - 1; i >= 0; i--) {
		if (write(pipes[i][1], "x", 1) != 1) {
			return "write";
		}
		usleep(500);
	}
	return NULL;
}

START_TEST(many_descriptors)
{
	syn_synchronizer s = fd_sync();
	syn_future      *fs[NPIPES];
	for (int i = 0; i < NPIPES; i++) {
		ck_assert_int_eq(pipe(pipes[i]), 0);
		fs[i] = start_await(s, pipes[i][0], SYN_FD_READ, 10000);
	}
	pthread_t th;
	pthread_create(&th, NULL, writer, NULL);
	ck_assert_syn_ok(
	    syn_future_wait_all(fs, NPIPES, SYN_DURATION_INFINITE));
	void *res;
	pthread_join(th, &res);
	ck_assert_ptr_null(res);
	for (int i = 0; i < NPIPES; i++) {
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		syn_future_free(fs[i]);
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * A wait that timed out just as its fd fired must not remove, when its
 * task resumes, the registration of the next task awaiting that fd.
 * "stale_del" runs on the actor: it queues that next wait, makes the fd
 * readable, and blocks until the poller fired the first wait and its
 * time limit passed, so that both come in one turn of the loop.
 */
static int         stale_fd[2];
static syn_future *stale_next;

/* Queues the next wait on the fd, for one second at most. */
static int
queue_next_wait(syn_task *t)
{
	syn_synchronizer s       = syn_task_synchronizer(t);
	syn_value        args[3] = { syn_int(stale_fd[0]), syn_int(SYN_FD_READ),
		       syn_int(1000) };
	return syn_call_future(s, "await", args, 3, &stale_next);
}

static int
stale_del(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) args;
	(void) nargs;
	(void) ret;
	int rc = queue_next_wait(t);
	if (rc != 0) {
		return rc;
	}
	if (write(stale_fd[1], "x", 1) != 1) {
		return SYN_EINVAL;
	}
	usleep(100000); /* the poller fires; the 30 ms limit passes */
	char c;
	return read(stale_fd[0], &c, 1) == 1 ? 0 : SYN_EINVAL;
}

START_TEST(fired_and_timed_out)
{
	syn_synchronizer s = fd_sync();
	th_register(s, "stale_del", stale_del, NULL);
	ck_assert_int_eq(pipe(stale_fd), 0);
	syn_future *first = start_await(s, stale_fd[0], SYN_FD_READ, 30);
	usleep(5000);
	ck_assert_syn_ok(syn_call(s, "stale_del", NULL, 0, NULL));
	ck_assert_syn_ok(syn_future_wait(first));
	usleep(100000);
	double t0 = th_now_ms();
	ck_assert_int_eq(write(stale_fd[1], "y", 1), 1);
	ck_assert_syn_ok(syn_future_wait(stale_next));
	double took = th_now_ms() - t0;
	ck_assert_msg(took < 500, "the next wait woke after %.0f ms", took);
	syn_future_free(first);
	syn_future_free(stale_next);
	close(stale_fd[0]);
	close(stale_fd[1]);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/*
 * An fd closed while a task awaits it: epoll forgets it, its number is
 * reused, and another task awaits the new descriptor. The first task
 * ends by its time limit and must leave the second one's wait alone.
 */
START_TEST(closed_and_reused)
{
	syn_synchronizer s = fd_sync();
	int              p[2], q[2];
	ck_assert_int_eq(pipe(p), 0);
	syn_future *first = start_await(s, p[0], SYN_FD_READ, 200);
	/* A call after it: the first wait registered before we close. */
	ck_assert_int_eq(th_call_int(s, "square_now", 3), 9);
	close(p[0]);
	ck_assert_int_eq(pipe(q), 0);
	ck_assert_int_eq(q[0], p[0]); /* the lowest free number */
	syn_future *next = start_await(s, q[0], SYN_FD_READ, 1000);
	ck_assert_syn_rc(syn_future_wait(first), SYN_ETIMEDOUT);
	usleep(50000);
	ck_assert_int_eq(syn_future_poll(next), SYN_EAGAIN);
	double t0 = th_now_ms();
	ck_assert_int_eq(write(q[1], "x", 1), 1);
	ck_assert_syn_ok(syn_future_wait(next));
	double took = th_now_ms() - t0;
	ck_assert_msg(took < 500, "the next wait woke after %.0f ms", took);
	const syn_value *v;
	ck_assert_syn_ok(syn_future_value(next, &v));
	ck_assert(v->as.i & SYN_FD_READ);
	syn_future_free(first);
	syn_future_free(next);
	close(p[1]);
	close(q[0]);
	close(q[1]);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("readable", readable_while_serving),
		TH_CASE("timeout_cancel_destroy", timeout_cancel_destroy),
		TH_CASE("misuse", fd_misuse),
		TH_CASE("many", many_descriptors),
		TH_CASE("fired_and_timed_out", fired_and_timed_out),
		TH_CASE("closed_and_reused", closed_and_reused),
	};
	return TH_SUITE("fd", cases);
}
