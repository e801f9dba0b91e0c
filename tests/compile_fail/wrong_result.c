/* expect: incompatible pointer type
 * -- a double for an int64_t result. */
#include "typed_api.h"

int use(syn_synchronizer s);

int
use(syn_synchronizer s)
{
	double r;
	return calc_square(s, 3, &r);
}
