/* expect: too few arguments
 * -- add takes two numbers. */
#include "typed_api.h"

int use(syn_synchronizer s);

int
use(syn_synchronizer s)
{
	int64_t r;
	return calc_add(s, 1, &r);
}
