/* expect: (compiles)
 * -- the glue of entries with no arguments, and a class declared in this
 * file, give no warning (-Wall -Wextra -Werror) in the user's code. */
#include <synchronicity/typed.h>

#define QUIET(F0, F1, F2, F3, F4, C) \
	F0(C, FUNC, now, int64_t)    \
	F0(C, PROC, tick, void)      \
	F1(C, FUNC, twice, int64_t, int64_t, x)

SYN_FUNCTIONS_DECLARE(quiet, QUIET)
SYN_FUNCTIONS_DEFINE(quiet, QUIET)

typedef struct box_state {
	int64_t n;
} box_state;

#define BOX(F0, F1, F2, F3, F4, C)          \
	F1(C, INIT, init, void, int64_t, n) \
	F0(C, FUNC, get, int64_t)

SYN_CLASS_DECLARE(box, BOX)
SYN_CLASS_DEFINE(box, BOX)

int
quiet_now_impl(syn_task *t, int64_t *ret)
{
	(void) t;
	*ret = 1;
	return 0;
}

int
quiet_tick_impl(syn_task *t)
{
	(void) t;
	return 0;
}

int
quiet_twice_impl(syn_task *t, int64_t x, int64_t *ret)
{
	(void) t;
	*ret = 2 * x;
	return 0;
}

int
box_init_impl(syn_task *t, box_state *self, int64_t n)
{
	(void) t;
	self->n = n;
	return 0;
}

int
box_get_impl(syn_task *t, box_state *self, int64_t *ret)
{
	(void) t;
	*ret = self->n;
	return 0;
}
