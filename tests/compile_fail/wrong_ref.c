/* expect: incompatible pointer type
 * -- a ref of another class. */
#include "typed_api.h"

typedef struct other_state {
	int x;
} other_state;
#define OTHER(F0, F1, F2, F3, F4, C) F0(C, INIT, init, void)
SYN_CLASS_DECLARE(other, OTHER)

int use(store_ref a, other_ref o);

int
use(store_ref a, other_ref o)
{
	int64_t r;
	return store_merge(a, o, &r);
}
