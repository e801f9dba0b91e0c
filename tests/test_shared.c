/*
 * Tasks on a shared stack (config.shared_stack): every task's frames come
 * back as they were, whichever tasks ran on the stack meanwhile; what
 * would point into the stack while a task waits is refused, or copied
 * (a blocking init's arguments); a parked task
 * costs its frames, not a page. (The other suites run again on shared
 * stacks too: tests/CMakeLists.txt.)
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

static syn_synchronizer
new_shared(size_t stack_size)
{
	syn_config cfg = { .shared_stack = true, .stack_size = stack_size };
	return th_new_cfg(&cfg);
}

/* A frame that fills its locals from seed, and checks them, and that a
 * pointer to them still points at them, after the levels below return. */
static int64_t
level(syn_task *t, uint64_t seed, int depth, int ms, int rounds)
{
	uint64_t  mine[24];
	uint64_t *self = mine; /* (a pointer into the frame, saved in it) */
	for (int i = 0; i < 24; i++) {
		mine[i] =
		    seed * 2654435761u + (uint64_t) i * 97 + (uint64_t) depth;
	}
	int64_t below = 0;
	if (depth > 0) {
		below = level(t, seed, depth - 1, ms, rounds);
	} else {
		for (int r = 0; r < rounds && below == 0; r++) {
			below = syn_sleep(t, ms) == 0 ? 0 : -1000000;
		}
	}
	for (int i = 0; i < 24; i++) {
		uint64_t want =
		    seed * 2654435761u + (uint64_t) i * 97 + (uint64_t) depth;
		if (self[i] != want) {
			return -1;
		}
	}
	return below < 0 ? below
	                 : below + (int64_t) (self[depth % 24] & 0xffff);
}

/* frames(seed, depth, ms, rounds): level's checksum, or < 0 when a frame
 * came back wrong. */
static int
frames(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t seed, depth, ms, rounds;
	int     rc =
	    syn_unpack(t, args, nargs, "iiii", &seed, &depth, &ms, &rounds);
	if (rc == 0) {
		*ret = syn_int(level(
		    t, (uint64_t) seed, (int) depth, (int) ms, (int) rounds));
	}
	return rc;
}

/* What frames() returns for these arguments, computed without a task. */
static int64_t
expected(uint64_t seed, int depth)
{
	int64_t sum = 0;
	for (int d = 0; d <= depth; d++) {
		int      i = d % 24;
		uint64_t v =
		    seed * 2654435761u + (uint64_t) i * 97 + (uint64_t) d;
		sum += (int64_t) (v & 0xffff);
	}
	return sum;
}

static void
run_frames(syn_synchronizer s, int n, int max_depth, int rounds)
{
	syn_future **fs = malloc((size_t) n * sizeof(*fs));
	for (int i = 0; i < n; i++) {
		syn_value a[4] = { syn_int(i + 1), syn_int(i % (max_depth + 1)),
			syn_int(i % 5), syn_int(rounds) };
		ck_assert_syn_ok(syn_call_future(s, "frames", a, 4, &fs[i]));
	}
	for (int i = 0; i < n; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(
		    v->as.i, expected((uint64_t) i + 1, i % (max_depth + 1)));
		syn_future_free(fs[i]);
	}
	free(fs);
}

/* 500 tasks of frames 0 to 40 levels deep wake in another order than
 * they slept, each time on a stack the others used meanwhile. */
START_TEST(frames_come_back)
{
	syn_synchronizer s = new_shared(0);
	th_register(s, "frames", frames, NULL);
	run_frames(s, 500, 40, 3);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Tasks that take turns at every step (sleep 0: each one's frames are
 * copied out and in at every switch), and deep ones: 2,000 levels, over
 * 400 KiB of frames copied, on a stack of 1 MiB. */
START_TEST(turns_and_deep_frames)
{
	syn_synchronizer s = new_shared(1024 * 1024);
	th_register(s, "frames", frames, NULL);
	syn_future *fs[20];
	for (int i = 0; i < 20; i++) {
		syn_value a[4] = { syn_int(i), syn_int(i < 4 ? 2000 : i),
			syn_int(0), syn_int(50) };
		ck_assert_syn_ok(syn_call_future(s, "frames", a, 4, &fs[i]));
	}
	for (int i = 0; i < 20; i++) {
		const syn_value *v;
		ck_assert_syn_ok(syn_future_wait(fs[i]));
		ck_assert_syn_ok(syn_future_value(fs[i], &v));
		ck_assert_int_eq(
		    v->as.i, expected((uint64_t) i, i < 4 ? 2000 : i));
		syn_future_free(fs[i]);
	}
	/* and the smallest stack there is */
	syn_synchronizer small = new_shared(16 * 1024);
	th_register(small, "frames", frames, NULL);
	run_frames(small, 100, 10, 2);
	ck_assert_syn_ok(syn_synchronizer_destroy(small));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* AddressSanitizer's detect_stack_use_after_return (make sanitize) puts
 * locals in fake frames on its heap, out of the stack: nothing to refuse. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
static bool
in_fake_frame(void *p)
{
	void *fake = __asan_get_current_fake_stack();
	return fake != NULL &&
	    __asan_addr_is_in_fake_stack(fake, p, NULL, NULL) != NULL;
}
#else
static bool
in_fake_frame(void *p)
{
	(void) p;
	return false;
}
#endif

/*
 * The functions below take on_stack: whether what they lend goes in local,
 * a local variable of the task, or in task memory of its size. Sets
 * *where; when local sits in a fake frame (see in_fake_frame), answers -1
 * in *ret and sets *where NULL instead. 0 or an error code.
 */
static int
where_to_put(syn_task *t, const syn_value *args, size_t nargs, void *local,
    size_t size, void **where, syn_value *ret)
{
	bool on_stack;
	int  rc = syn_unpack(t, args, nargs, "b", &on_stack);
	*where  = NULL;
	if (rc != 0) {
		return rc;
	}
	if (on_stack && in_fake_frame(local)) {
		*ret = syn_int(-1);
		return 0;
	}
	*where = on_stack ? local : syn_task_alloc(t, size);
	return *where != NULL ? 0 : SYN_ENOMEM;
}

/* Raises rc with the message of the last error (which syn_raise and
 * syn_await overwrite: copied first). */
static int
raise_last(syn_task *t, int rc)
{
	char why[256];
	snprintf(why, sizeof(why), "%s", syn_last_error()->message);
	return syn_raise(t, rc, "%s", why);
}

static int
store_seven(void *arg)
{
	*(int *) arg = 7;
	return 0;
}

/* blocking_arg(on_stack): syn_run_blocking with an arg in the task's
 * frames (refused on a shared stack) or in its memory. */
static int
blocking_arg(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int local = 0, *where;
	int rc    = where_to_put(
	       t, args, nargs, &local, sizeof(local), (void **) &where, ret);
	if (rc != 0 || where == NULL) {
		return rc;
	}
	*where = 0;
	if ((rc = syn_run_blocking(t, store_seven, where)) == 0) {
		*ret = syn_int(*where);
	}
	return rc;
}

static void
count_done(syn_future *f, void *arg)
{
	(void) f;
	atomic_fetch_add((atomic_int *) arg, 1);
}

/* callback_arg(on_stack): syn_future_callback on a call of square_now
 * with an arg in the task's frames or in its memory, awaited. */
static int
callback_arg(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	atomic_int local, *count;
	int        rc = where_to_put(
	           t, args, nargs, &local, sizeof(local), (void **) &count, ret);
	if (rc != 0 || count == NULL) {
		return rc;
	}
	atomic_init(count, 0);
	syn_future *f;
	syn_value   x = syn_int(3);
	if ((rc = syn_call_future(
	         syn_task_synchronizer(t), "square_now", &x, 1, &f)) != 0) {
		return rc;
	}
	if ((rc = syn_future_callback(f, count_done, count)) == 0) {
		rc = syn_await(t, f);
	} else {
		char why[256]; /* (the await below replaces the detail) */
		snprintf(why, sizeof(why), "%s", syn_last_error()->message);
		syn_future_cancel(f);
		syn_await(t, f);
		rc = syn_raise(t, rc, "%s", why);
	}
	syn_future_free(f);
	*ret = syn_int(atomic_load(count));
	return rc;
}

/* is_ptr(p): whether p came as a pointer. */
static int
is_ptr(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t;
	*ret = syn_bool(nargs == 1 && args[0].type == SYN_TYPE_PTR);
	return 0;
}

/* ptr_arg(on_stack): calls is_ptr with a syn_ptr to a local of the task
 * or to its memory. */
static int
ptr_arg(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int local = 0, *where;
	int rc    = where_to_put(
	       t, args, nargs, &local, sizeof(local), (void **) &where, ret);
	if (rc != 0 || where == NULL) {
		return rc;
	}
	syn_value   p = syn_ptr(where);
	syn_future *f;
	if ((rc = syn_call_future(
	         syn_task_synchronizer(t), "is_ptr", &p, 1, &f)) != 0) {
		return raise_last(t, rc);
	}
	if ((rc = syn_await(t, f)) == 0) {
		const syn_value *v;
		syn_future_value(f, &v);
		*ret = syn_int(v->as.b ? 1 : 0);
	}
	syn_future_free(f);
	return rc;
}

/* Calls fn(true) on s: refused with SYN_EINVAL and a message that names
 * the way out, unless the local sat in a fake frame; then fn(false) must
 * return want. */
static void
check_refusal(syn_synchronizer s, const char *fn, const char *says, int want)
{
	syn_value  yes = syn_bool(true), no = syn_bool(false);
	syn_result res = SYN_RESULT_INIT;
	int        rc  = syn_call(s, fn, &yes, 1, &res);
	if (rc == 0) { /* a fake frame: see in_fake_frame */
		ck_assert_int_eq(res.value.as.i, -1);
		syn_result_fini(&res);
	} else {
		ck_assert_syn_rc(rc, SYN_EINVAL);
		ck_assert_msg(strstr(syn_last_error()->message, says) != NULL,
		    "%s: %s", fn, syn_last_error()->message);
	}
	ck_assert_syn_ok(syn_call(s, fn, &no, 1, &res));
	ck_assert_int_eq(res.value.as.i, want);
	syn_result_fini(&res);
}

START_TEST(stack_args_refused)
{
	syn_synchronizer s = new_shared(0);
	th_register(s, "blocking_arg", blocking_arg, NULL);
	th_register(s, "callback_arg", callback_arg, NULL);
	th_register(s, "ptr_arg", ptr_arg, NULL);
	th_register(s, "is_ptr", is_ptr, NULL);
	check_refusal(s, "blocking_arg", "syn_task_alloc", 7);
	check_refusal(s, "callback_arg", "syn_task_alloc", 1);
	check_refusal(s, "ptr_arg", "shared", 1);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	/* A stack of its own takes either. */
	syn_config own = { 0 };
	s              = th_new_cfg(&own);
	th_register(s, "blocking_arg", blocking_arg, NULL);
	if (getenv("SYN_TEST_SHARED_STACK") == NULL) {
		syn_value  yes = syn_bool(true);
		syn_result res = SYN_RESULT_INIT;
		ck_assert_syn_ok(syn_call(s, "blocking_arg", &yes, 1, &res));
		ck_assert_msg(res.value.as.i == 7 || res.value.as.i == -1,
		    "%lld", (long long) res.value.as.i);
		syn_result_fini(&res);
	}
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A blocking class whose init, on a pool thread, keeps what it was given
 * once the task that made the object has surely been copied off the
 * stack and another task has written over where its frames were. */
typedef struct kept {
	int64_t n;
	char    text[32];
} kept;

static atomic_int init_running, scribbled;

static int
kept_init(syn_task *t, void *self, const syn_value *args, size_t nargs)
{
	kept *k = self;
	atomic_store(&init_running, 1);
	for (int i = 0; i < 5000 && atomic_load(&scribbled) == 0; i++) {
		usleep(1000);
	}
	k->n = nargs == 2 && args[0].type == SYN_TYPE_INT ? args[0].as.i : -1;
	if (nargs == 2 && args[1].type == SYN_TYPE_STR &&
	    args[1].len < sizeof(k->text)) {
		memcpy(k->text, args[1].as.str, args[1].len);
		k->text[args[1].len] = '\0';
	}
	return 0;
}

/* make(): a kept object from arguments in its own frames; its n. */
static int
make_kept(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	char      text[32] = "forty-two";
	syn_value a[2]     = { syn_int(42), syn_str(text) };
	void     *self;
	int       rc = syn_object_new(t, "Kept", a, 2, &self);
	if (rc == 0) {
		kept *k = self;
		*ret = syn_int(strcmp(k->text, "forty-two") == 0 ? k->n : -2);
	}
	return rc;
}

/* scribble(): fills the stack where make's frames were, and returns. */
static int
scribble(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	volatile char big[8192];
	memset((char *) big, 0x5a, sizeof(big));
	atomic_store(&scribbled, 1);
	*ret = syn_int(big[100]);
	return 0;
}

/* A synchronizer on a shared stack with the blocking class Kept. */
static syn_synchronizer
kept_sync(void)
{
	syn_synchronizer s   = new_shared(0);
	syn_class_def    def = { .name = "Kept",
		   .size               = sizeof(kept),
		   .init               = kept_init,
		   .flags              = SYN_CLASS_BLOCKING };
	ck_assert_syn_ok(syn_register_class(s, &def));
	return s;
}

START_TEST(blocking_init_keeps_its_args)
{
	syn_synchronizer s = kept_sync();
	th_register(s, "make", make_kept, NULL);
	th_register(s, "scribble", scribble, NULL);
	atomic_store(&init_running, 0);
	atomic_store(&scribbled, 0);
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "make", NULL, 0, &f));
	while (atomic_load(&init_running) == 0) {
		usleep(1000);
	}
	ck_assert_syn_ok(syn_call(s, "scribble", NULL, 0, NULL));
	const syn_value *v;
	ck_assert_syn_ok(syn_future_wait(f));
	ck_assert_syn_ok(syn_future_value(f, &v));
	ck_assert_int_eq(v->as.i, 42);
	syn_future_free(f);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* make_ptr(): a kept object given a pointer into make_ptr's frames
 * (refused), then one given a pointer elsewhere; the second's code. */
static int
make_ptr_kept(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t        local  = 5;
	static int64_t global = 6;
	syn_value      inner  = syn_ptr(&local);
	syn_value      a[2]   = { syn_int(1), syn_list(&inner, 1) };
	void          *self;
	int            rc = syn_object_new(t, "Kept", a, 2, &self);
	if (rc != (in_fake_frame(&local) ? 0 : SYN_EINVAL)) {
		return syn_raise(t, SYN_EINTERNAL,
		    "a pointer into the frames went to the init: %d", rc);
	}
	inner = syn_ptr(&global);
	*ret  = syn_int(syn_object_new(t, "Kept", a, 2, &self));
	return 0;
}

/* A blocking init runs on the pool while its task's frames are copied
 * away: a pointer into them among the arguments is refused (the init
 * wrote through it into whatever lay on the stack then: found by
 * review); one elsewhere is not. */
START_TEST(blocking_init_refuses_frame_ptrs)
{
	syn_synchronizer s = kept_sync();
	th_register(s, "make_ptr", make_ptr_kept, NULL);
	atomic_store(&scribbled, 1); /* (the init waits for nothing) */
	syn_result r = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "make_ptr", NULL, 0, &r));
	ck_assert_int_eq(r.value.as.i, 0);
	syn_result_fini(&r);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Makes n calls of sleep_ms(ms) on s, futures in fs; returns once every
 * one of them waits (failing after a minute: ms must be longer). */
static void
park_calls(syn_synchronizer s, int n, int ms, syn_future **fs)
{
	for (int i = 0; i < n; i++) {
		syn_value a = syn_int(ms);
		ck_assert_syn_ok(syn_call_future(s, "sleep_ms", &a, 1, &fs[i]));
	}
	syn_stats st;
	double    t0 = th_now_ms();
	for (;;) {
		ck_assert_syn_ok(syn_synchronizer_stats(s, &st));
		if (st.tasks_suspended >= (uint64_t) n) {
			return;
		}
		ck_assert_msg(th_now_ms() - t0 < 60000,
		    "%llu of %d calls parked",
		    (unsigned long long) st.tasks_suspended, n);
		usleep(1000);
	}
}

/* Cancels the n calls of park_calls, and waits for each. */
static void
unpark_calls(int n, syn_future **fs)
{
	for (int i = 0; i < n; i++) {
		syn_future_cancel(fs[i]);
	}
	for (int i = 0; i < n; i++) {
		ck_assert_syn_rc(syn_future_wait(fs[i]), SYN_ECANCELED);
		syn_future_free(fs[i]);
	}
}

/* Destroying a synchronizer whose tasks wait with their frames copied
 * out: each is resumed, cancelled, and cleans up. */
START_TEST(destroy_with_frames_out)
{
	enum { N = 300 };
	syn_synchronizer s = new_shared(0);
	syn_future      *fs[N];
	atomic_store(&th_cleanups, 0);
	park_calls(s, N, 60000, fs);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
	ck_assert_int_eq(atomic_load(&th_cleanups), N);
	for (int i = 0; i < N; i++) {
		int rc = syn_future_wait(fs[i]);
		ck_assert_msg(rc == SYN_ECANCELED || rc == SYN_ECLOSED, "%s",
		    syn_errname(rc));
		syn_future_free(fs[i]);
	}
}
END_TEST

/* deep_then_park's gate: tasks at the bottom, tasks parked after it,
 * and whether they may come up. */
static atomic_int at_bottom, parked_shallow, come_up;

/* depth levels of frames; the last waits for come_up, napping. */
static int
dive(syn_task *t, int depth)
{
	volatile char pad[128];
	pad[depth % 128] = (char) depth;
	int rc           = 0;
	if (depth > 0) {
		rc = dive(t, depth - 1);
	} else {
		atomic_fetch_add(&at_bottom, 1);
		while (rc == 0 && !atomic_load(&come_up)) {
			rc = syn_sleep(t, 2);
		}
	}
	return rc == 0 && pad[depth % 128] != (char) depth ? SYN_EUSER(1) : rc;
}

/* deep_then_park(depth): waits depth levels deep until come_up, then
 * parks in one frame until cancelled. */
static int
deep_then_park(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	int64_t depth;
	int     rc = syn_unpack(t, args, nargs, "i", &depth);
	if (rc == 0) {
		rc = dive(t, (int) depth);
	}
	if (rc == 0) {
		atomic_fetch_add(&parked_shallow, 1);
		rc   = syn_sleep(t, 600000);
		*ret = syn_nil();
	}
	return rc;
}

/* Waits (a minute at most) for *n to reach want. */
static void
wait_count(atomic_int *n, int want)
{
	double t0 = th_now_ms();
	while (atomic_load(n) < want) {
		ck_assert_msg(
		    th_now_ms() - t0 < 60000, "%d of %d", atomic_load(n), want);
		usleep(1000);
	}
}

/* What s's waiting tasks' copied frames take, in bytes. */
static uint64_t
frames_bytes(syn_synchronizer s)
{
	syn_stats st;
	ck_assert_syn_ok(syn_synchronizer_stats(s, &st));
	return st.shared_frames_bytes;
}

/* A task's buffer for its frames follows them down again: two tasks wait
 * 2,000 levels deep (each copied out whole while the other runs), then
 * park one level deep, and what their copies take falls with them. */
START_TEST(frames_buffer_shrinks)
{
	syn_synchronizer s = new_shared(1024 * 1024);
	th_register(s, "deep", deep_then_park, NULL);
	th_register(s, "frames", frames, NULL);
	syn_future *fs[2];
	syn_value   a = syn_int(2000);
	atomic_store(&at_bottom, 0);
	atomic_store(&parked_shallow, 0);
	atomic_store(&come_up, 0);
	ck_assert_uint_eq(frames_bytes(s), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_syn_ok(syn_call_future(s, "deep", &a, 1, &fs[i]));
	}
	wait_count(&at_bottom, 2); /* (the first was copied out) */
	uint64_t deep = frames_bytes(s);
	/* (2,000 frames: each a return address and saved registers at
	 * least, its locals too unless AddressSanitizer took them away) */
	ck_assert_msg(
	    deep >= 2000 * 32, "%llu bytes", (unsigned long long) deep);
	atomic_store(&come_up, 1);
	wait_count(&parked_shallow, 2);
	/* a call that runs to its end claims the stack: the last task to
	 * park is copied out too */
	syn_value   z[4] = { syn_int(1), syn_int(0), syn_int(0), syn_int(0) };
	syn_future *f;
	ck_assert_syn_ok(syn_call_future(s, "frames", z, 4, &f));
	ck_assert_syn_ok(syn_future_wait(f));
	syn_future_free(f);
	uint64_t shallow = frames_bytes(s);
	ck_assert_msg(shallow > 0 && shallow * 4 < deep && shallow < 16384,
	    "%llu bytes after %llu", (unsigned long long) shallow,
	    (unsigned long long) deep);
	unpark_calls(2, fs);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

static long
rss_kib(void)
{
	long  pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &pages, &rss), 2);
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* 10,000 parked calls cost their frames, not a page each. */
START_TEST(parked_calls_cost_their_frames)
{
	enum { N = 10000 };
	syn_synchronizer s  = new_shared(0);
	syn_future     **fs = calloc(N, sizeof(*fs));
	syn_value        a  = syn_int(1);
	ck_assert_syn_ok(syn_call(s, "sleep_ms", &a, 1, NULL)); /* warm */
	long before = rss_kib();
	park_calls(s, N, 600000, fs); /* (parked until cancelled) */
	double per_call = (double) (rss_kib() - before) / N;
	unpark_calls(N, fs);
	free(fs);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	/* (the sanitizers add their own bytes to every allocation) */
	ck_assert_msg(per_call < 3.0, "%.2f KiB per parked call", per_call);
#endif
	ck_assert_msg(per_call > 0.0, "%.2f KiB per parked call", per_call);
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("frames_come_back", frames_come_back),
		TH_CASE("turns_and_deep_frames", turns_and_deep_frames),
		TH_CASE("stack_args_refused", stack_args_refused),
		TH_CASE("destroy_with_frames_out", destroy_with_frames_out),
		TH_CASE("parked_memory", parked_calls_cost_their_frames),
		TH_CASE("blocking_init_args", blocking_init_keeps_its_args),
		TH_CASE("blocking_init_ptrs", blocking_init_refuses_frame_ptrs),
		TH_CASE("frames_buffer_shrinks", frames_buffer_shrinks),
	};
	return TH_SUITE("shared", cases);
}
