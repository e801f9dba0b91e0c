/*
 * actors/blocking.c: the calls of a blocking class (SYN_CLASS_BLOCKING).
 * Their implementations are plain blocking functions: the task that
 * serves the call waits for its object's turn, then lends itself to a
 * pool thread that runs the implementation, and waits for it there.
 */
#include "core/errors.h"
#include "core/shared.h"
#include "sync.h"

/* One implementation to run on the pool, with t lent to its thread. */
typedef struct blocking_job {
	syn_task     *t;
	syn_method_fn method;
	int (*init)(syn_task *, void *, const syn_value *, size_t);
	void            *self;
	const syn_value *args;
	size_t           nargs;
	syn_value        ret; /* the method's result, copied back after */
	int              rc;  /* what the implementation returned */
} blocking_job;

/*
 * Where the job goes: the pool thread writes to it while t waits, so on
 * t's frames only when t has a stack of its own (a shared one is copied
 * away meanwhile: config.shared_stack), else in t's memory. NULL: none.
 */
static blocking_job *
job_place(syn_task *t, blocking_job *local)
{
	return t->shared ? syn_task_alloc(t, sizeof(*local)) : local;
}

static int
run_lent(void *arg)
{
	blocking_job *j = arg;
	sni_task_lend(j->t);
	j->rc = j->method != NULL
	    ? j->method(j->t, j->self, j->args, j->nargs, &j->ret)
	    : j->init(j->t, j->self, j->args, j->nargs);
	sni_task_unlend();
	return j->rc;
}

int
sni_blocking_method(syn_task *t, void *self, const syn_value *args,
    size_t nargs, syn_value *ret)
{
	const sni_method *m = syn_task_userdata(t);
	t->call.userdata    = NULL; /* the implementation sees none */
	sni_sync   *s       = sni_actor_self()->ops_arg;
	sni_object *o       = self != NULL ? sni_object_of(s, self) : NULL;
	int         rc      = o != NULL ? sni_object_take_turn(t, o) : 0;
	if (rc != 0) {
		return rc;
	}
	blocking_job  local;
	blocking_job *j = job_place(t, &local);
	if (j == NULL) {
		rc = SYN_ENOMEM;
	} else {
		*j   = (blocking_job) { .t = t,
			  .method          = m->fn,
			  .self            = self,
			  .args            = args,
			  .nargs           = nargs,
			  .ret             = *ret,
			  .rc              = SYN_ECANCELED };
		rc   = syn_run_blocking(t, run_lent, j);
		*ret = j->ret;
		/* Cancelled (by the destroy, say) while the method ran to
		 * success: its result is delivered, as a task's that returns
		 * 0 despite a cancel. */
		rc = rc == SYN_ECANCELED && j->rc == 0 ? 0 : rc;
	}
	if (o != NULL) {
		sni_object_give_turn(o);
	}
	return rc;
}

/* sni_translate_each's visitor: -1 for a pointer value into the frames
 * of task t on the shared stack. */
static int
lends_frame(syn_value *v, void *t)
{
	return sni_shared_lends_frame(t, v->as.ptr) ? -1 : 0;
}

/*
 * The arguments a task passes to syn_object_new() may lie in its frames,
 * and what they point to too; on a shared stack those are copied away
 * while the init runs on the pool, so the init gets a copy (in *copy,
 * to be finished by the caller), and a pointer value into those frames
 * is refused (the copy cannot follow it). Elsewhere args itself.
 */
static const syn_value *
init_args(
    syn_task *t, const syn_value *args, size_t nargs, syn_result *copy, int *rc)
{
	*rc = 0;
	if (!t->shared || nargs == 0) {
		return args;
	}
	syn_value all = syn_list(args, nargs);
	if ((*rc = syn_value_copy(&all, copy)) != 0) {
		*rc = syn_raise(t, *rc,
		    "the arguments of a blocking init could not be copied "
		    "off the shared stack");
		return NULL;
	}
	if (sni_translate_each(&copy->value, SYN_TYPE_PTR, lends_frame, t) ==
	    -1) {
		syn_result_fini(copy);
		*rc = syn_raise(t, SYN_EINVAL,
		    "an argument of a blocking init is a pointer into the "
		    "task's stack, which is shared (config.shared_stack) and "
		    "copied away while the init runs");
		return NULL;
	}
	return copy->value.as.list;
}

int
sni_blocking_init(syn_task *t, const sni_class *c, void *self,
    const syn_value *args, size_t nargs)
{
	syn_result copy = SYN_RESULT_INIT;
	int        rc;
	if ((args = init_args(t, args, nargs, &copy, &rc)) == NULL && rc != 0) {
		return rc;
	}
	blocking_job  local;
	blocking_job *j = job_place(t, &local);
	if (j == NULL) {
		syn_result_fini(&copy);
		return SYN_ENOMEM;
	}
	*j = (blocking_job) { .t = t,
		.init            = c->init,
		.self            = self,
		.args            = args,
		.nargs           = nargs,
		.rc              = SYN_ECANCELED };
	rc = syn_run_blocking(t, run_lent, j);
	syn_result_fini(&copy); /* (the job has returned) */
	/* Cancelled while init ran to success: the object is made (its fini
	 * is owed); the cancelled caller's reply gives it back. */
	return rc == SYN_ECANCELED && j->rc == 0 ? 0 : rc;
}
