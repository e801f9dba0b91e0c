/*
 * Timeouts and cancellation. A task holds a resource across an await
 * point; however its call ends (a caller's timeout, a cancelled future, a
 * cancelled nng_aio), the await point returns SYN_ECANCELED and the task's
 * cleanup runs before the caller hears of it.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <synchronicity.h>

#include "example.h"

static atomic_int cleanups; /* how many cancelled jobs released their buffer */

/* [cleanup] */
static int
slow_job(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t ms;
	int     rc = syn_unpack(t, args, nargs, "i", &ms);
	if (rc != 0) {
		return rc;
	}
	char *buf = malloc(4096); /* a resource held across the await */
	if (buf == NULL) {
		return SYN_ENOMEM;
	}
	rc = syn_sleep(t, (syn_duration) ms); /* SYN_ECANCELED if cancelled */
	free(buf);                            /* runs either way */
	if (rc == SYN_ECANCELED) {
		atomic_fetch_add(&cleanups, 1);
	}
	*ret = syn_int(ms);
	return rc;
}
/* [cleanup] */

static void
call_timeout(syn_synchronizer s)
{
	/* [call_timeout] */
	syn_value arg = syn_int(10000);
	int       rc  = syn_call_timeout(s, "slow_job", &arg, 1, 100, NULL);
	/* After about 100 ms: SYN_ETIMEDOUT. slow_job saw SYN_ECANCELED and
	 * freed its buffer before syn_call_timeout() returned. */
	/* [call_timeout] */
	expect(rc == SYN_ETIMEDOUT, "call_timeout gives SYN_ETIMEDOUT");
	expect(atomic_load(&cleanups) == 1, "cleanup ran before the return");
}

static void
wait_timeout(syn_synchronizer s)
{
	/* [wait_timeout] */
	syn_future *f;
	syn_value   arg = syn_int(300);
	check(syn_call_future(s, "slow_job", &arg, 1, &f), "slow_job");
	int rc = syn_future_wait_timeout(f, 50); /* SYN_ETIMEDOUT */
	/* The call goes on running: wait again, or cancel it. */
	int rc2 = syn_future_wait(f); /* 0, after about 300 ms */
	syn_future_free(f);
	/* [wait_timeout] */
	expect(rc == SYN_ETIMEDOUT, "wait_timeout gives SYN_ETIMEDOUT");
	expect(rc2 == 0, "the call then completes");
}

static void
cancel(syn_synchronizer s)
{
	/* [cancel] */
	syn_future *f;
	syn_value   arg = syn_int(10000);
	check(syn_call_future(s, "slow_job", &arg, 1, &f), "slow_job");
	syn_future_wait_timeout(f, 50); /* SYN_ETIMEDOUT: it is running */
	syn_future_cancel(f);           /* returns at once */
	int rc = syn_future_wait(f);    /* SYN_ECANCELED, after the cleanup */
	syn_future_free(f);
	/* [cancel] */
	expect(rc == SYN_ECANCELED, "cancel gives SYN_ECANCELED");
}

static void
aio_timeout(syn_synchronizer s)
{
	/* [aio_timeout] */
	nng_aio  *aio;
	syn_value arg = syn_int(10000);
	check(nng_aio_alloc(&aio, NULL, NULL), "nng_aio_alloc");
	nng_aio_set_timeout(aio, 100); /* nng's own timeout cancels the call */
	syn_call_aio(s, "slow_job", &arg, 1, aio);
	nng_aio_wait(aio);
	int rc = syn_aio_result(aio, NULL); /* SYN_ETIMEDOUT */
	nng_aio_free(aio);
	/* [aio_timeout] */
	expect(rc == SYN_ETIMEDOUT, "the aio's timeout gives SYN_ETIMEDOUT");
}

int
main(void)
{
	syn_synchronizer   s;
	const syn_func_def def = {
		.name = "slow_job", .kind = SYN_KIND_FUNCTION, .fn = slow_job
	};
	check(syn_synchronizer_new(&s, NULL), "syn_synchronizer_new");
	check(syn_register(s, &def), "syn_register");
	call_timeout(s);
	wait_timeout(s);
	cancel(s);
	aio_timeout(s);
	check(syn_synchronizer_destroy(s), "syn_synchronizer_destroy");
	expect(atomic_load(&cleanups) == 3, "three cancelled jobs cleaned up");
	printf("%d cancelled jobs released their buffer\n",
	    atomic_load(&cleanups));
	return failures == 0 ? 0 : 1;
}
