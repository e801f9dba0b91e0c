/* expect: makes integer from pointer|incompatible pointer to integer
 * -- a string for an int64_t. */
#include "typed_api.h"

int use(syn_synchronizer s);

int
use(syn_synchronizer s)
{
	int64_t r;
	return calc_square(s, "3", &r);
}
