/*
 * The main() of every check suite. It must not touch nng or create a
 * synchronizer: check forks each test, and nng aborts in a forked child
 * once the parent has used it.
 */
#include <stdlib.h>

#include <check.h>

Suite *suite(void);

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
