/*
 * A synchronizer's life: a configured synchronizer and its address, close
 * (no new calls; calls in flight finish), destroy (calls in flight are
 * cancelled and fail; the handle stays safe to use), and fork (the child
 * gets clear errors and makes its own synchronizers).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"

static int
work(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc == 0 && (rc = syn_sleep(t, (syn_duration) ms)) == 0) {
		*ret = syn_int(ms);
	}
	return rc;
}

static const syn_func_def work_def = {
	.name = "work", .kind = SYN_KIND_FUNCTION, .fn = work
};

static syn_synchronizer
configured(void)
{
	/* [config] */
	syn_synchronizer s;
	syn_config       cfg = { 0 }; /* zero: every default */
	/* The name names the thread and appears in error paths; the url is
	 * where callers by address come. */
	cfg.name = "db";
	cfg.url  = "inproc://example/db";
	check(syn_synchronizer_new(&s, &cfg), "syn_synchronizer_new");
	char url[128];
	check(syn_synchronizer_url(s, url, sizeof(url)), "url");
	printf("db listens on %s\n", url); /* inproc://example/db */
	/* [config] */
	check(syn_register(s, &work_def), "syn_register");
	expect(strcmp(url, "inproc://example/db") == 0, "the url");
	return s;
}

static void
close_then_destroy(syn_synchronizer s)
{
	/* [close] */
	syn_future *f;
	syn_value   arg = syn_int(100);
	check(syn_call_future(s, "work", &arg, 1, &f), "work");
	check(syn_synchronizer_close(s), "close"); /* returns at once */
	int rc        = syn_call(s, "work", &arg, 1, NULL); /* SYN_ECLOSED */
	int in_flight = syn_future_wait(f);                 /* 0: it finished */
	syn_future_free(f);
	check(syn_synchronizer_destroy(s), "destroy"); /* still needed */
	/* [close] */
	expect(rc == SYN_ECLOSED, "a call after close is SYN_ECLOSED");
	expect(in_flight == 0, "the call in flight finished");
}

static void
destroy_in_flight(void)
{
	syn_synchronizer s;
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(syn_register(s, &work_def), "syn_register");
	/* [destroy] */
	syn_future *f;
	syn_value   arg = syn_int(10000);
	check(syn_call_future(s, "work", &arg, 1, &f), "work");
	check(syn_synchronizer_destroy(s), "destroy"); /* cancels, joins */
	int in_flight = syn_future_wait(f);            /* SYN_ECLOSED */
	syn_future_free(f);
	int after = syn_call(s, "work", &arg, 1, NULL); /* SYN_ECLOSED */
	/* [destroy] */
	expect(in_flight == SYN_ECLOSED, "a call in flight is SYN_ECLOSED");
	expect(after == SYN_ECLOSED, "a call after destroy is SYN_ECLOSED");
}

/* [fork_child] */
/* In a forked child: the parent's synchronizer is out of reach, and nng
 * opens no sockets, so a new synchronizer goes without a door. */
static int
child(syn_synchronizer parents)
{
	syn_value arg = syn_int(1);
	if (syn_call(parents, "work", &arg, 1, NULL) != SYN_EFORK) {
		return 1;
	}
	syn_synchronizer mine;
	syn_config       cfg = { .no_door = true };
	if (syn_synchronizer_new(&mine, &cfg) != 0 ||
	    syn_register(mine, &work_def) != 0 ||
	    syn_call(mine, "work", &arg, 1, NULL) != 0) {
		return 2;
	}
	return syn_synchronizer_destroy(mine) == 0 ? 0 : 3;
}
/* [fork_child] */

static void
forked(syn_synchronizer s)
{
	/* Let the actor settle first: some allocators (AddressSanitizer's)
	 * deadlock in a child forked while another thread holds their lock. */
	usleep(50 * 1000);
	pid_t pid = fork();
	if (pid == 0) {
		_exit(child(s));
	}
	int status = 0;
	expect(pid > 0 && waitpid(pid, &status, 0) == pid, "fork");
	expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child");
}

int
main(void)
{
	syn_synchronizer s = configured();
	forked(s);
	close_then_destroy(s);
	destroy_in_flight();
	return failures == 0 ? 0 : 1;
}
