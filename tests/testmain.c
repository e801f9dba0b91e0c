/*
 * The main() of every check suite. It must not touch nng or create a
 * synchronizer: check forks each test, and nng aborts in a forked child
 * once the parent has used it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <check.h>

Suite *suite(void);

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	if (srunner_ntests_run(sr) == 0) {
		fprintf(stderr, "no test ran: is CK_RUN_CASE=%s a case?\n",
		    getenv("CK_RUN_CASE"));
		failed = 1;
	}
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
