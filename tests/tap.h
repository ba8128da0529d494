//  tap - run CUnit suites and report each test as a TAP line for automake's tap-driver
//
//  A runner registers its suites with the functions below (each test_X.c exposes
//  int tm_X_tests (void), which adds one CUnit suite and returns 0, or -1 on failure),
//  then calls tm_tap_run, which prints "ok N - suite: test" / "not ok N - ..." per test and
//  returns the number of failed tests (read before CU_cleanup_registry, STYLE.md 8).

#ifndef TM_TAP_H_INCLUDED
#define TM_TAP_H_INCLUDED

#include <CUnit/CUnit.h>

typedef int (tm_suite_fn) (void);

//  Register every suite in the NULL-terminated list and run them all. Returns the failed
//  count (an exit status of 0 means every test passed).
int
    tm_tap_run (tm_suite_fn **suites);

//  Deadline helper for socket tests: the current monotonic ms plus timeout.
int64_t
    tm_tap_deadline (int timeout_ms);

#endif
