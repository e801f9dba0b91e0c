/* expect: conflicting types
 * -- the implementation must match the list. */
#include "typed_api.h"

int
calc_square_impl(syn_task *t, double x, int64_t *ret)
{
	*ret = (int64_t) x;
	return 0;
}
