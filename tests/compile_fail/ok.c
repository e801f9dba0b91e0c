/* expect: (compiles)
 * -- the control: the same calls, typed right. */
#include "typed_api.h"

int use(syn_synchronizer s, store_ref a, store_ref b);

int
use(syn_synchronizer s, store_ref a, store_ref b)
{
	int64_t r;
	double  d;
	int     rc = calc_square(s, 3, &r);
	rc |= calc_half(s, 1.0, &d);
	rc |= calc_add(s, 1, 2, &r);
	rc |= store_merge(a, b, &r);
	return rc;
}
