/*
 * proto/stackroom.c: how the recursive decoder and encoder know that the
 * stack they run on has room for more levels of a nested value. The
 * runtime above (core) tells the room; proto only compares.
 */
#include <stdint.h>

#include "proto.h"

size_t (*sni_stack_left_fn)(void);

bool
sni_stack_short(void)
{
	size_t (*left)(void) = sni_stack_left_fn;
	if (left == NULL || left() >= SNI_STACK_RESERVE) {
		return false;
	}
	/* (no formatting: printf's frames would not fit either) */
	sni_detail_put("a value nested this deep needs more stack than this "
	               "task has left (config.stack_size)");
	return true;
}
