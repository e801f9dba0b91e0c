/*
 * Synchronizers composed, blocking code offloaded, calls cancelled.
 *
 * A "cache" synchronizer answers lookups from its own table; on a miss its
 * task awaits a "db" synchronizer (a client of a remote database, faked
 * with syn_sleep), with a deadline, and looks up two keys at once by
 * awaiting calls on itself. A task that makes a blocking call instead is
 * reported by the cache's on_blocking hook. The db synchronizer also
 * serves a blocking class, kvfile, whose methods are plain blocking calls
 * into a file driver (faked with usleep), run on the blocking pool: one
 * call per object at a time, several objects in parallel. Last, the main
 * thread's blocking calls are cancelled by Ctrl-C (a sigwait() thread and
 * a canceller) and by a canceller's deadline; each time, the cancelled
 * tasks clean up, innermost first, before the call returns.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <synchronicity.h>

#include "example.h"

#define ROW_MS 100     /* the db's answer to a row */
#define REPORT_MS 5000 /* the db's answer to a report: too slow */
#define BUDGET_MS 400  /* how long the cache waits for the db */
#define OPEN_MS 20     /* the file driver's open */
#define READ_MS 100    /* the file driver's read */
#define WRITE_MS 200   /* the file driver's write */

/* Who cleaned up after a cancel, in order: the example checks it. */
static _Atomic(const char *) cleaned[4];
static atomic_int            cleanups;

static void
cleaned_up(const char *who)
{
	int i = atomic_fetch_add(&cleanups, 1);
	if (i < 4) {
		atomic_store(&cleaned[i], who);
	}
}

static void
cleanups_reset(void)
{
	for (int i = 0; i < 4; i++) {
		atomic_store(&cleaned[i], NULL);
	}
	atomic_store(&cleanups, 0);
}

/* "db, cache": who cleaned up, in order, for a line of output. */
static const char *
cleanup_order(void)
{
	static char buf[64];
	buf[0] = '\0';
	for (int i = 0; i < atomic_load(&cleanups) && i < 4; i++) {
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
		    i > 0 ? ", " : "", atomic_load(&cleaned[i]));
	}
	return buf;
}

static int
cleaned_in_order(const char *first, const char *second)
{
	return atomic_load(&cleanups) == 2 &&
	    strcmp(atomic_load(&cleaned[0]), first) == 0 &&
	    strcmp(atomic_load(&cleaned[1]), second) == 0;
}

/* ---- a blocking file driver, as a C library has ---------------------- */

typedef struct drv_file {
	char path[32];
} drv_file;

static drv_file *
drv_open(const char *path)
{
	usleep(OPEN_MS * 1000); /* blocks */
	drv_file *f = calloc(1, sizeof(*f));
	if (f != NULL) {
		snprintf(f->path, sizeof(f->path), "%s", path);
	}
	return f;
}

static void
drv_read(drv_file *f, const char *key, char *buf, size_t size)
{
	usleep(READ_MS * 1000); /* blocks */
	snprintf(buf, size, "%s from %s", key, f->path);
}

static int
drv_write(const char *path, const char *text)
{
	usleep(WRITE_MS * 1000); /* blocks */
	return path != NULL && text != NULL ? 0 : SYN_EINVAL;
}

static void
drv_close(drv_file *f)
{
	free(f);
}

/* ---- the interfaces --------------------------------------------------- */

/* [apis] */
/* The db synchronizer: an asynchronous client of a remote database. */
#define DB(F0, F1, F2, F3, F4, C) F1(C, FUNC, fetch, syn_cstr, syn_cstr, key)
SYN_FUNCTIONS_DECLARE(db, DB)

/* The cache synchronizer, in front of it. */
#define CACHE(F0, F1, F2, F3, F4, C)                          \
	F1(C, FUNC, lookup, syn_cstr, syn_cstr, key)          \
	F2(C, FUNC, both, syn_cstr, syn_cstr, a, syn_cstr, b) \
	F1(C, FUNC, lookup_now, syn_cstr, syn_cstr, key)      \
	F0(C, FUNC, save, int64_t)
SYN_FUNCTIONS_DECLARE(cache, CACHE)

/* Typed implementations have no userdata: the tasks find them here. */
static syn_synchronizer db, cache;
/* [apis] */

SYN_FUNCTIONS_DEFINE(db, DB)
SYN_FUNCTIONS_DEFINE(cache, CACHE)

/* [db_fetch] */
/* Runs on db: a row comes back after ROW_MS, a report after REPORT_MS. */
int
db_fetch_impl(syn_task *t, syn_cstr key, syn_cstr *ret)
{
	bool report = strncmp(key, "report:", 7) == 0;
	int  rc     = syn_sleep(t, report ? REPORT_MS : ROW_MS);
	if (rc != 0) {
		cleaned_up("db"); /* a real client drops its query here */
		return rc;        /* SYN_ECANCELED */
	}
	*ret = syn_task_printf(t, "row of %s", key).as.str;
	return 0;
}
/* [db_fetch] */

/* The cache's state: only its tasks touch it, on its thread: no lock. */
static struct {
	char key[32];
	char value[64];
} table[16];
static int entries;

static const char *
table_find(const char *key)
{
	for (int i = 0; i < entries; i++) {
		if (strcmp(table[i].key, key) == 0) {
			return table[i].value;
		}
	}
	return NULL;
}

static void
table_add(const char *key, const char *value)
{
	if (entries < 16 && table_find(key) == NULL) {
		snprintf(table[entries].key, sizeof(table[0].key), "%s", key);
		snprintf(
		    table[entries].value, sizeof(table[0].value), "%s", value);
		entries++;
	}
}

/* [lookup] */
/* Runs on cache. A hit answers at once; a miss awaits the db, BUDGET_MS
 * at most, while the cache serves other calls. */
int
cache_lookup_impl(syn_task *t, syn_cstr key, syn_cstr *ret)
{
	const char *hit = table_find(key);
	if (hit != NULL) {
		*ret = hit; /* the table outlives the task */
		return 0;
	}
	db_fetch_future_t *f;
	syn_cstr           row;
	int                rc = db_fetch_future(db, key, &f);
	if (rc == 0) {
		rc = syn_await_timeout(t, SYN_FUTURE(f), BUDGET_MS);
	}
	if (rc == 0 && (rc = db_fetch_get(f, &row)) == 0) {
		table_add(key, row);
		*ret = syn_task_printf(t, "%s", row).as.str;
		syn_typed_free(row);
	}
	db_fetch_free(f);
	if (rc == SYN_ETIMEDOUT || rc == SYN_ECANCELED) {
		cleaned_up("cache"); /* after the db's cleanup */
	}
	return rc; /* SYN_ETIMEDOUT: the db was too slow, and was cancelled */
}
/* [lookup] */

/* [both] */
/* Runs on cache: looks up two keys at once. Each lookup is a call on the
 * cache itself, awaited: it runs as a task of its own. */
int
cache_both_impl(syn_task *t, syn_cstr a, syn_cstr b, syn_cstr *ret)
{
	cache_lookup_future_t *fa, *fb = NULL;
	syn_cstr               va = NULL, vb = NULL;
	int                    rc = cache_lookup_future(cache, a, &fa);
	if (rc == 0) {
		rc = cache_lookup_future(cache, b, &fb);
	}
	if (rc == 0 && (rc = syn_await(t, SYN_FUTURE(fa))) == 0 &&
	    (rc = syn_await(t, SYN_FUTURE(fb))) == 0 &&
	    (rc = cache_lookup_get(fa, &va)) == 0 &&
	    (rc = cache_lookup_get(fb, &vb)) == 0) {
		*ret = syn_task_printf(t, "%s; %s", va, vb).as.str;
	}
	syn_typed_free(va);
	syn_typed_free(vb);
	cache_lookup_free(fa);
	cache_lookup_free(fb);
	return rc;
}
/* [both] */

/* [blocking_in_task] */
/* The wrong way, for the hook to report: a task making blocking calls.
 * On its own synchronizer it is refused at once; on another one it
 * works, but the cache serves nobody until the db answers. */
int
cache_lookup_now_impl(syn_task *t, syn_cstr key, syn_cstr *ret)
{
	syn_cstr row;
	int      rc = cache_lookup(cache, key, &row); /* on the cache */
	expect(rc == SYN_EDEADLK, "a blocking call to its own synchronizer");
	rc = db_fetch(db, key, &row); /* blocks the cache's thread */
	if (rc == 0) {
		*ret = syn_task_printf(t, "%s", row).as.str;
		syn_typed_free(row);
	}
	return rc;
}
/* [blocking_in_task] */

/* [hook] */
/* Called on the cache's thread when one of its tasks is about to block
 * (the seed's blocking_in_async_callback). It must not block itself. */
static void
report_blocking(syn_synchronizer s, const char *what, void *arg)
{
	atomic_fetch_add((atomic_int *) arg, 1);
	fprintf(stderr, "warning: a task of the cache blocks in %s\n", what);
}
/* [hook] */

/* [run_blocking] */
/* What the pool thread gets: a copy of the table, since the cache's
 * tasks go on changing the table while it writes. */
typedef struct snapshot {
	char text[16 * 100];
} snapshot;

/* Runs on a pool thread: plain blocking code, no task functions. */
static int
write_snapshot(void *arg)
{
	snapshot *s = arg;
	return drv_write("cache.snapshot", s->text); /* blocks */
}

/* Runs on cache: writes the table out; the cache serves others meanwhile. */
int
cache_save_impl(syn_task *t, int64_t *ret)
{
	snapshot *s   = syn_task_alloc(t, sizeof(*s)); /* lives while t waits */
	size_t    len = 0;
	if (s == NULL) {
		return SYN_ENOMEM;
	}
	s->text[0] = '\0';
	for (int i = 0; i < entries && len < sizeof(s->text); i++) {
		len += (size_t) snprintf(s->text + len, sizeof(s->text) - len,
		    "%s=%s\n", table[i].key, table[i].value);
	}
	*ret = entries;
	return syn_run_blocking(t, write_snapshot, s);
}
/* [run_blocking] */

/* [blocking_class] */
/* A blocking class around the driver: its instance holds a handle. */
typedef struct kvfile_state {
	drv_file *file;
} kvfile_state;

#define KVFILE(F0, F1, F2, F3, F4, C)           \
	F1(C, INIT, init, void, syn_cstr, path) \
	F1(C, FUNC, read, syn_cstr, syn_cstr, key)
SYN_CLASS_DECLARE(kvfile, KVFILE)
SYN_CLASS_DEFINE_FLAGS(kvfile, KVFILE, SYN_CLASS_BLOCKING)

/* Plain blocking code, run on the blocking pool, one call of an object
 * at a time: self needs no lock. */
int
kvfile_init_impl(syn_task *t, kvfile_state *self, syn_cstr path)
{
	self->file = drv_open(path); /* blocks */
	return self->file != NULL ? 0 : syn_raise(t, SYN_ENOMEM, "%s", path);
}

int
kvfile_read_impl(syn_task *t, kvfile_state *self, syn_cstr key, syn_cstr *ret)
{
	char buf[64];
	drv_read(self->file, key, buf, sizeof(buf)); /* blocks */
	*ret = syn_task_printf(t, "%s", buf).as.str;
	return 0;
}

/* On the synchronizer's thread, as in any class: it must not block. */
void
kvfile_fini_impl(kvfile_state *self)
{
	drv_close(self->file);
}
/* [blocking_class] */

/* [ctrl_c] */
/* Ctrl-C: this thread waits for SIGINT (which every thread blocks, see
 * main) and cancels the blocking call of the thread that bound c. A
 * signal handler must not call the library; this thread may. */
static void *
ctrl_c(void *arg)
{
	syn_canceller *c = arg;
	sigset_t       sigint;
	int            sig;
	sigemptyset(&sigint);
	sigaddset(&sigint, SIGINT);
	if (sigwait(&sigint, &sig) == 0) {
		syn_canceller_cancel(c); /* returns at once */
	}
	return NULL;
}
/* [ctrl_c] */

/* The example's user presses Ctrl-C 100 ms after this thread starts. */
static void *
press_ctrl_c(void *arg)
{
	usleep(100 * 1000);
	kill(getpid(), SIGINT);
	return NULL;
}

/* ---- the steps -------------------------------------------------------- */

static void
lookups(void)
{
	syn_cstr v;
	double   t0 = now_ms();
	check(cache_lookup(cache, "user:1", &v), "lookup(user:1)");
	double miss = now_ms() - t0;
	printf("lookup(user:1) = %s: %.0f ms, from the db\n", v, miss);
	expect(strcmp(v, "row of user:1") == 0, "user:1's row");
	syn_typed_free(v);
	t0 = now_ms();
	check(cache_lookup(cache, "user:1", &v), "lookup(user:1) again");
	double hit = now_ms() - t0;
	printf("lookup(user:1) = %s: %.0f ms, cached\n", v, hit);
	syn_typed_free(v);
	expect(miss >= ROW_MS && hit < ROW_MS, "a miss waits, a hit not");

	/* [both_call] */
	t0 = now_ms();
	check(cache_both(cache, "user:2", "user:3", &v), "both");
	printf("both(user:2, user:3) = %s: %.0f ms\n", v, now_ms() - t0);
	/* two misses side by side: about ROW_MS, not twice */
	/* [both_call] */
	expect(now_ms() - t0 < 1.8 * ROW_MS, "both lookups ran at once");
	syn_typed_free(v);
}

static void
await_timeout(void)
{
	cleanups_reset();
	double t0 = now_ms();
	/* [await_timeout_call] */
	syn_cstr row;
	int      rc = cache_lookup(cache, "report:q3", &row);
	/* After BUDGET_MS: SYN_ETIMEDOUT. db_fetch saw SYN_ECANCELED and
	 * cleaned up, then cache_lookup did, then this call returned. */
	/* [await_timeout_call] */
	double took = now_ms() - t0;
	printf("lookup(report:q3): %s after %.0f ms; cleaned up: %s\n",
	    syn_errname(rc), took, cleanup_order());
	expect(rc == SYN_ETIMEDOUT, "the cache's deadline passed");
	expect(took >= BUDGET_MS && took < REPORT_MS, "at the deadline");
	expect(cleaned_in_order("db", "cache"), "innermost first");
}

static void
blocking_in_task(atomic_int *blocked)
{
	syn_cstr v;
	expect(atomic_load(blocked) == 0, "awaits are not reported");
	check(cache_lookup_now(cache, "user:4", &v), "lookup_now(user:4)");
	printf("lookup_now(user:4) = %s; the hook fired %d time(s)\n", v,
	    atomic_load(blocked));
	expect(atomic_load(blocked) == 1, "the hook reports the one call");
	syn_typed_free(v);
}

static void
save(void)
{
	cache_save_future_t *f;
	int64_t              n;
	check(cache_save_future(cache, &f), "save");
	usleep(20 * 1000); /* the write is under way on the pool */
	syn_cstr v;
	double   t0 = now_ms();
	check(cache_lookup(cache, "user:1", &v), "lookup during save");
	double hit = now_ms() - t0;
	syn_typed_free(v);
	check(cache_save_get(f, &n), "save");
	cache_save_free(f);
	printf("save() wrote %lld entries on the pool; a lookup meanwhile "
	       "took %.0f ms\n",
	    (long long) n, hit);
	expect(n == 3, "three entries saved");
	expect(hit < WRITE_MS / 2, "the cache served during the write");
}

static void
blocking_class_calls(void)
{
	static const char *paths[4] = { "a.kv", "b.kv", "c.kv", "d.kv" };
	/* [files] */
	kvfile_ref files[4];
	syn_cstr   v;
	for (int i = 0; i < 4; i++) {
		check(kvfile_new(db, paths[i], &files[i]), "open"); /* blocks */
	}
	check(kvfile_read(files[0], "user:1", &v), "read"); /* blocks */
	printf("read: %s\n", v);
	syn_typed_free(v);

	kvfile_read_future_t *fs[4];
	double                t0 = now_ms();
	for (int i = 0; i < 4; i++) { /* four objects: in parallel */
		check(kvfile_read_future(files[i], "user:2", &fs[i]), "read");
	}
	for (int i = 0; i < 4; i++) {
		check(kvfile_read_get(fs[i], &v), "read");
		syn_typed_free(v);
		kvfile_read_free(fs[i]);
	}
	double parallel = now_ms() - t0; /* about READ_MS */
	/* [files] */
	printf("four reads on four files: %.0f ms\n", parallel);
	expect(parallel < 3 * READ_MS, "four objects work at once");

	/* [in_line] */
	t0 = now_ms();
	for (int i = 0; i < 3; i++) { /* one object: one call at a time */
		check(kvfile_read_future(files[0], "user:3", &fs[i]), "read");
	}
	for (int i = 0; i < 3; i++) { /* they end in the order they came */
		check(kvfile_read_get(fs[i], NULL), "read");
		kvfile_read_free(fs[i]);
	}
	double in_line = now_ms() - t0; /* about 3 * READ_MS */
	/* [in_line] */
	printf("three reads on one file: %.0f ms\n", in_line);
	expect(in_line >= 3 * READ_MS - 1, "one object's calls take turns");
	for (int i = 0; i < 4; i++) {
		kvfile_release(files[i]); /* kvfile_fini_impl closes each */
	}
}

static void
cancel_on_ctrl_c(void)
{
	pthread_t user;
	cleanups_reset();
	pthread_create(&user, NULL, press_ctrl_c, NULL);
	double t0 = now_ms();
	/* [canceller] */
	syn_canceller *c;
	pthread_t      waiter;
	syn_cstr       row;
	check(syn_canceller_new(&c), "syn_canceller_new");
	check(syn_canceller_bind(c, SYN_DURATION_INFINITE), "bind"); /* here */
	pthread_create(&waiter, NULL, ctrl_c, c);
	int rc = cache_lookup(cache, "report:q4", &row); /* SYN_ECANCELED */
	check(syn_canceller_unbind(c), "unbind");
	pthread_join(waiter, NULL);
	syn_canceller_free(c);
	/* [canceller] */
	double took = now_ms() - t0;
	pthread_join(user, NULL);
	printf("Ctrl-C: lookup(report:q4) gave %s after %.0f ms; cleaned up: "
	       "%s\n",
	    syn_errname(rc), took, cleanup_order());
	expect(rc == SYN_ECANCELED, "Ctrl-C cancels the blocking call");
	expect(took < BUDGET_MS, "before the cache's own deadline");
	expect(cleaned_in_order("db", "cache"), "innermost first, Ctrl-C");
}

static void
canceller_deadline(void)
{
	cleanups_reset();
	double t0 = now_ms();
	/* [deadline] */
	syn_canceller *c;
	syn_cstr       row;
	check(syn_canceller_new(&c), "syn_canceller_new");
	check(syn_canceller_bind(c, 250), "bind"); /* 250 ms for all of it */
	int rc1 = db_fetch(db, "user:5", &row);    /* 0, after ROW_MS */
	if (rc1 == 0) {
		syn_typed_free(row);
	}
	int rc2 = db_fetch(db, "report:q5", &row); /* SYN_ETIMEDOUT */
	int rc3 = db_fetch(db, "user:6", &row);    /* SYN_ETIMEDOUT, at once */
	check(syn_canceller_unbind(c), "unbind");
	syn_canceller_free(c);
	/* [deadline] */
	double took = now_ms() - t0;
	printf("a 250 ms deadline: %s, %s, %s, after %.0f ms\n",
	    syn_errname(rc1), syn_errname(rc2), syn_errname(rc3), took);
	expect(rc1 == 0 && rc2 == SYN_ETIMEDOUT && rc3 == SYN_ETIMEDOUT,
	    "in time, then the deadline, then sticky");
	expect(took >= 250 && took < REPORT_MS, "the deadline cut report:q5");
	expect(atomic_load(&cleanups) >= 1, "report:q5 cleaned up");
}

int
main(void)
{
	/* [sigmask] */
	/* First, before any thread starts: every thread inherits the mask,
	 * so SIGINT waits for ctrl_c()'s sigwait() and stops nobody. */
	sigset_t sigint;
	sigemptyset(&sigint);
	sigaddset(&sigint, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigint, NULL);
	/* [sigmask] */

	static atomic_int blocked; /* what the hook counts */
	/* [hook_config] */
	syn_config db_cfg    = { .name = "db" };
	syn_config cache_cfg = { .name = "cache",
		.on_blocking           = report_blocking,
		.on_blocking_arg       = &blocked };
	check(syn_synchronizer_new(&db, &db_cfg), "db");
	check(syn_synchronizer_new(&cache, &cache_cfg), "cache");
	/* [hook_config] */
	check(db_register(db), "db_register");
	check(kvfile_register(db), "kvfile_register");
	check(cache_register(cache), "cache_register");

	lookups();
	await_timeout();
	blocking_in_task(&blocked);
	save();
	blocking_class_calls();
	cancel_on_ctrl_c();
	canceller_deadline();

	check(syn_synchronizer_destroy(cache), "destroy cache");
	check(syn_synchronizer_destroy(db), "destroy db");
	return failures == 0 ? 0 : 1;
}
