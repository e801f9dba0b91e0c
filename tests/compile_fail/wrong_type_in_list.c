/* expect: makes pointer from integer|incompatible integer to pointer
 * -- int is not a typed-layer type. */
#include <synchronicity/typed.h>

#define BAD(F0, F1, F2, F3, F4, C) F1(C, FUNC, f, int64_t, int, x)
SYN_FUNCTIONS_DECLARE(bad, BAD)
SYN_FUNCTIONS_DEFINE(bad, BAD)
