/*
 * A foreign event loop drives futures: five calls in flight, each
 * future's descriptor (syn_future_fd) registered with an epoll instance,
 * and the loop reading each result as its descriptor becomes readable.
 * The same works with libuv (uv_poll_t) or libevent (event_new).
 */
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"

/* nap(ms): sleeps ms, returns ms. */
static int
nap(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc == 0 && (rc = syn_sleep(t, (syn_duration) ms)) == 0) {
		*ret = syn_int(ms);
	}
	return rc;
}

#define N 5

int
main(void)
{
	static const int64_t naps[N] = { 250, 50, 200, 100, 150 };
	syn_synchronizer     s;
	syn_func_def         def = { "nap", SYN_KIND_FUNCTION, nap, NULL };
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(syn_register(s, &def), "syn_register");

	/* [epoll_loop] */
	int         ep = epoll_create1(EPOLL_CLOEXEC);
	syn_future *fs[N];
	expect(ep >= 0, "epoll_create1");
	double t0 = now_ms();
	for (int i = 0; i < N; i++) {
		syn_value arg = syn_int(naps[i]);
		int       fd;
		check(syn_call_future(s, "nap", &arg, 1, &fs[i]), "nap");
		check(syn_future_fd(fs[i], &fd), "syn_future_fd"); /* fs[i]'s */
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		expect(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl");
	}
	int64_t last = 0;
	for (int done = 0; done < N;) { /* the foreign loop */
		struct epoll_event ev;
		if (epoll_wait(ep, &ev, 1, -1) != 1) {
			continue;
		}
		const syn_value *v;
		syn_future      *f = fs[ev.data.u32];
		check(syn_future_value(f, &v), "nap"); /* readable: complete */
		printf("nap(%lld) done at %.0f ms\n", (long long) v->as.i,
		    now_ms() - t0);
		expect(v->as.i > last, "the naps end in the order of length");
		last = v->as.i;
		int fd;
		syn_future_fd(f, &fd);
		epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); /* before f closes it */
		syn_future_free(f);
		done++;
	}
	close(ep);
	/* [epoll_loop] */

	double took = now_ms() - t0;
	printf("five naps of 50 to 250 ms took %.0f ms together\n", took);
	expect(took >= 249 && took < 500, "the naps ran at once");
	check(syn_synchronizer_destroy(s), "syn_synchronizer_destroy");
	return failures != 0;
}
