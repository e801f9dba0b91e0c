/*
 * synchronicity: classes, objects and proxies.
 *
 * A class is a const definition: a name, the size of an instance, a
 * constructor that runs as a task (it may await), a destructor that runs
 * once on the synchronizer's thread, and a table of methods. Registered on
 * a synchronizer, it is instantiated with syn_new(), which returns a
 * proxy: any thread calls the object's methods through it, blocking, as
 * futures, through an nng_aio, or as iterators for generator methods. The
 * object itself lives on the synchronizer's thread and is only touched
 * there.
 *
 * Proxies are reference counted. When the last reference to the last
 * proxy of an object goes, the object is dropped and its fini runs, once,
 * on its synchronizer's thread; destroying the synchronizer drops every
 * object still alive. A proxy whose object or synchronizer is gone gives
 * SYN_ECLOSED, and never touches freed memory.
 *
 * Objects cross the message boundary as handles: a proxy passed in a call
 * arrives on its object's own synchronizer as the object itself (an
 * OBJECT value: its self pointer), and anywhere else as a proxy; an object
 * returned or yielded by its methods (syn_object(self)) reaches its caller
 * as a proxy, the same proxy for the same object while that proxy lives.
 * Translation looks into lists and maps; a method flagged
 * SYN_METHOD_RAW skips it.
 */
#ifndef SYNCHRONICITY_CLASS_H
#define SYNCHRONICITY_CLASS_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include <synchronicity/export.h>
#include <synchronicity/future.h>
#include <synchronicity/synchronizer.h>
#include <synchronicity/value.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct syn_task        syn_task;
typedef struct syn_iter        syn_iter;
typedef struct syn_iter_config syn_iter_config;

/*
 * A method: as a function (synchronicity/function.h), with self, the
 * object it runs on (the class's instance memory, owned by the library,
 * never moved). Runs on the synchronizer's thread as task t.
 */
typedef int (*syn_method_fn)(syn_task *t, void *self, const syn_value *args,
    size_t nargs, syn_value *ret);

/* What a method is besides its kind. */
enum syn_method_flags {
	/* Arguments and results pass without translation: proxies in them
	 * stay handles (SYN_TYPE_HANDLE) and syn_object() values cannot be
	 * returned. Saves a walk over every value (the seed's
	 * no_io_translation). */
	SYN_METHOD_RAW = 1u << 0,
	/* A getter (the seed's property): read with syn_get(), blocking. */
	SYN_METHOD_GETTER = 1u << 1,
	/* A static method: no instance (self is NULL). It is called as a
	 * function named "Class.method" (syn_call(s, "DB.version", ...),
	 * syn_iter_open() for a generator), not through a proxy; so its
	 * name has no '.', and "Class.method" at most 255 bytes. */
	SYN_METHOD_STATIC = 1u << 2,
};

/* What a class is. */
enum syn_class_flags {
	/*
	 * A blocking class: its init and its methods are plain blocking C
	 * functions (a database driver's, a file's), not tasks. Each call
	 * runs its implementation on the blocking pool (see
	 * syn_run_blocking()), so it may block as long as it needs while
	 * the synchronizer serves other calls; the calls on one object (its
	 * init included) run one at a time, in the order they arrive, so
	 * its state needs no lock. Static methods are not serialised.
	 * Callers see no difference: blocking, future, aio.
	 *
	 * The implementation runs on a pool thread: with its t it may call
	 * syn_unpack() (but an argument that is an object of this
	 * synchronizer gives SYN_ESTATE: its own calls run meanwhile; pass
	 * what it needs instead), syn_raise(), syn_task_alloc(),
	 * syn_task_printf(), syn_task_userdata(), syn_task_synchronizer()
	 * and syn_task_cancelled(), and make blocking calls on any
	 * synchronizer (the pool starts more threads while its jobs wait
	 * for calls); a blocking call to its own object, or destroying its
	 * own synchronizer, gives SYN_EDEADLK. Await points give
	 * SYN_ESTATE; syn_object_retain() and syn_object_release() do
	 * nothing there.
	 *
	 * Cancelling a call that waits for its turn takes it out of the
	 * line; a running one finishes, then reports SYN_ECANCELED (an init
	 * that succeeded meanwhile has made the object: it is dropped, and
	 * its fini runs). fini runs on the synchronizer's thread. Generator
	 * methods are refused (SYN_EINVAL).
	 */
	SYN_CLASS_BLOCKING = 1u << 0,
};

/* A method of a class. */
typedef struct syn_method_def {
	const char   *name; /* 1 to 255 bytes of UTF-8 */
	int           kind; /* SYN_KIND_FUNCTION or SYN_KIND_GENERATOR */
	syn_method_fn fn;
	unsigned      flags; /* syn_method_flags */
} syn_method_def;

/*
 * A class. The library copies the names and the method table. A class
 * whose methods include "enter" and "exit" is a context manager (see
 * syn_enter()).
 */
typedef struct syn_class_def {
	const char *name; /* 1 to 255 bytes of UTF-8 */
	size_t      size; /* bytes of an instance (self), 1 to 1 MiB */
	/* The constructor: runs as a task of the synchronizer with the
	 * arguments of syn_new() and self zeroed; may await. On failure it
	 * releases what it took (fini does not run) and returns the code,
	 * which syn_new() returns. NULL: nothing to do. */
	int (*init)(
	    syn_task *t, void *self, const syn_value *args, size_t nargs);
	/* The destructor: runs once, on the synchronizer's thread, outside
	 * any task (it cannot await), when the object is dropped. NULL:
	 * nothing to do. */
	void (*fini)(void *self);
	const syn_method_def *methods;
	size_t                nmethods;
	unsigned              flags; /* syn_class_flags */
} syn_class_def;

/*
 * Registers def on s. Any thread (s's own tasks too); blocks until s's
 * thread has added it. Errors: SYN_EINVAL (a bad name, size, method or
 * kind), SYN_EEXIST (the class name is taken, or a method name repeats),
 * SYN_ECLOSED, SYN_EFORK, SYN_ENOMEM, SYN_EDEADLK (as syn_register()).
 */
SYN_API int syn_register_class(syn_synchronizer s, const syn_class_def *def);

/*
 * Makes an object of the class cls on s: runs its constructor with
 * args[0..nargs-1] as a task and blocks until it ends. On success *pp is a
 * proxy of the new object, holding one reference, which the caller drops
 * with syn_proxy_release(). Any thread but s's own (SYN_EDEADLK: await
 * syn_new_future() there). Errors: those of the constructor, SYN_ENOENT
 * (no such class), SYN_EINVAL, SYN_ECLOSED, SYN_EMSGSIZE, SYN_EFORK,
 * SYN_ENOMEM.
 */
SYN_API int syn_new(syn_synchronizer s, const char *cls, const syn_value *args,
    size_t nargs, syn_proxy **pp);

/*
 * As syn_new(), returning at once with a future: its value is the proxy
 * (SYN_TYPE_PROXY), held by the future; take a reference of your own with
 * syn_proxy_ref() to keep it after freeing the future.
 */
SYN_API int syn_new_future(syn_synchronizer s, const char *cls,
    const syn_value *args, size_t nargs, syn_future **fp);

/* Takes one more reference to p and returns p. Any thread. */
SYN_API syn_proxy *syn_proxy_ref(syn_proxy *p);

/*
 * Drops one reference to p; the last one tells the object's synchronizer,
 * which drops the object (running its fini) once no proxy of it is left
 * anywhere. NULL is allowed. Any thread; never blocks.
 */
SYN_API void syn_proxy_release(syn_proxy *p);

/*
 * Inside task t (on its synchronizer's thread, or the pool thread that
 * runs a blocking class's method): hands one reference to p that the
 * caller owns to t, which releases it when it ends, after its result is
 * sent. This is how a task returns a proxy it made or took a reference
 * to (the value of syn_new_future(), a typed constructor's ref) without
 * keeping it for ever: call this, then return syn_proxy_value(p). (The
 * reply holds a reference of its own until its caller reads it. An item
 * is encoded when syn_yield() takes it: a generator may release its
 * proxy after that.) Errors, the reference staying the caller's:
 * SYN_ESTATE (t is not the running task), SYN_EINVAL (p NULL),
 * SYN_ENOMEM.
 */
SYN_API int syn_proxy_release_later(syn_task *t, syn_proxy *p);

/* The synchronizer p's object lives on. */
SYN_API syn_synchronizer syn_proxy_synchronizer(const syn_proxy *p);

/*
 * Calls method on p's object with args[0..nargs-1] and blocks until it
 * returns, as syn_call() does for functions (same result, errors and
 * threads). SYN_ECLOSED when the object or its synchronizer is gone,
 * SYN_ENOENT when its class has no such method, SYN_EINVAL for a
 * generator method (iterate it with syn_invoke_iter()) or a NULL p.
 */
SYN_API int syn_invoke(syn_proxy *p, const char *method, const syn_value *args,
    size_t nargs, syn_result *res);

/* As syn_invoke(), returning at once with a future (see syn_call_future). */
SYN_API int syn_invoke_future(syn_proxy *p, const char *method,
    const syn_value *args, size_t nargs, syn_future **fp);

/* As syn_invoke(), completing the caller's aio (see syn_call_aio). */
SYN_API void syn_invoke_aio(syn_proxy *p, const char *method,
    const syn_value *args, size_t nargs, nng_aio *aio);

/* Opens an iterator over a generator method (see syn_iter_open). */
SYN_API int syn_invoke_iter(syn_proxy *p, const char *method,
    const syn_value *args, size_t nargs, const syn_iter_config *cfg,
    syn_iter **itp);

/*
 * Reads the getter name of p's object (a method flagged
 * SYN_METHOD_GETTER, called with no arguments), blocking; as syn_invoke().
 * A getter stays a method: the future and aio forms of syn_invoke() read
 * it too (the seed's properties had none).
 */
SYN_API int syn_get(syn_proxy *p, const char *name, syn_result *res);

/*
 * Inside a task: makes an object of class cls of the task's own
 * synchronizer, running its constructor inline (it may await), and stores
 * its self in *selfp. The object lives while t runs and, after that, as
 * long as a proxy of it exists: return or yield syn_object(self) to hand
 * one out, or keep it with syn_object_retain(). The constructor sees args
 * as from syn_new(): a copy, this synchronizer's proxies (and handles) as
 * its objects, other handles as proxies. Errors: those of the
 * constructor, SYN_ENOENT, SYN_EINVAL (cls or selfp NULL, args NULL with
 * nargs > 0, an invalid argument), SYN_ECLOSED (an argument names a
 * released object), SYN_ESTATE (t is not the running task), SYN_ENOMEM.
 */
SYN_API int syn_object_new(syn_task *t, const char *cls, const syn_value *args,
    size_t nargs, void **selfp);

/*
 * On the object's synchronizer (in a task or fini): keeps self alive
 * without a proxy (for objects that hold other objects), and lets it go.
 * Each retain needs one release; the last one may drop it (running its
 * fini at once).
 */
SYN_API void syn_object_retain(void *self);
SYN_API void syn_object_release(void *self);

/* ---- context managers ---------------------------------------------------
 *
 * A class with methods "enter" and "exit" is a context manager. enter
 * takes no arguments and returns the value of the with-block (the seed's
 * "as z"); exit takes the block's outcome: 0, or an error code and its
 * message, and its own failure is what the caller sees.
 */

/* Calls enter on p, blocking; as syn_invoke(). */
SYN_API int syn_enter(syn_proxy *p, syn_result *res);

/*
 * Calls exit on p with the block's outcome (rc 0 for none; message may be
 * NULL; a message that is not UTF-8 all through goes up to its first
 * byte that is not, and one too long for the target's messages is cut
 * until the call fits), blocking. Returns exit's own failure if it
 * failed, else 0.
 */
SYN_API int syn_exit(syn_proxy *p, int rc, const char *message);

/* A with-block in progress (see SYN_WITH). */
typedef struct syn_scope {
	syn_proxy *proxy;
	int       *outcome; /* where the block's outcome goes */
	int        rc;      /* set by the block when it fails */
	int        state_;  /* private */
	syn_result value;   /* what enter returned */
} syn_scope;

/* SYN_WITH's halves: enter (on failure *outcome is set and the block is
 * skipped), and exit, which stores the block's outcome in *outcome:
 * exit's own error, else the block's rc, else 0. syn_scope_end(NULL)
 * does nothing. */
SYN_API syn_scope syn_scope_begin(syn_proxy *p, int *outcome);
SYN_API void      syn_scope_end(syn_scope *s);

/*
 * A scoped with-block (GCC and Clang): exit runs on every path out of the
 * block, break, return and goto included. It is a for statement, so break
 * and continue both leave the block only: a continue does not reach a
 * loop around it.
 *
 *     int rc;
 *     SYN_WITH(w, mgr, &rc) {
 *         ... w.value.value is what enter returned ...
 *         if (failed) { w.rc = SYN_EUSER(1); break; }
 *     }
 *     // rc: exit's error, else the block's, else 0
 *
 * Other compilers: call syn_enter() and syn_exit() on every path.
 */
#if defined(__GNUC__) || defined(__clang__)
#define SYN_WITH(scope, proxy, outcome)                                \
	for (syn_scope scope __attribute__((cleanup(syn_scope_end))) = \
	         syn_scope_begin((proxy), (outcome));                  \
	     scope.state_ == 1; scope.state_ = 2)
#endif

#ifdef __cplusplus
}
#endif

#endif /* SYNCHRONICITY_CLASS_H */
