/*
 * What the examples share and is not part of the library: stopping with
 * the library's error detail when a step fails, counting unexpected
 * results, and a clock.
 */
#ifndef SYN_EXAMPLE_H
#define SYN_EXAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <synchronicity.h>

/* How many expect() calls failed; main returns non-zero when any did. */
static int failures;

/* Stops the program when rc is an error, printing its detail. */
static inline void
check(int rc, const char *what)
{
	if (rc != 0) {
		const syn_error *e = syn_last_error();
		fprintf(stderr, "%s: %s: %s [%s]\n", what, syn_errname(rc),
		    e->message, e->where);
		exit(1);
	}
}

/* Counts (and prints) a result that is not what the example expects. */
static inline void
expect(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "unexpected: %s\n", what);
		failures++;
	}
}

/* Monotonic milliseconds. */
static inline double
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

#endif /* SYN_EXAMPLE_H */
