//  tap - CUnit to TAP (see tap.h)

#include "tickmux.h"
#include "tap.h"

static int s_index;                 //  Number of the TAP line being reported
static int s_failed;                //  Tests that failed so far

static void
s_test_complete (const CU_pTest test, const CU_pSuite suite, const CU_pFailureRecord failure)
{
    s_index++;
    if (failure) {
        s_failed++;
        printf ("not ok %d - %s: %s\n", s_index, suite->pName, test->pName);
        for (CU_pFailureRecord f = failure; f; f = f->pNext)
            printf ("# %s:%u: %s\n", f->strFileName ? f->strFileName : "?",
                    f->uiLineNumber, f->strCondition ? f->strCondition : "?");
    }
    else
        printf ("ok %d - %s: %s\n", s_index, suite->pName, test->pName);
    fflush (stdout);
}

int
tm_tap_run (tm_suite_fn **suites)
{
    if (CU_initialize_registry () != CUE_SUCCESS) {
        printf ("Bail out! CUnit registry: %s\n", CU_get_error_msg ());
        return 1;
    }
    for (tm_suite_fn **fn = suites; *fn; fn++)
        if ((*fn) () != 0) {
            printf ("Bail out! cannot register a suite: %s\n", CU_get_error_msg ());
            CU_cleanup_registry ();
            return 1;
        }
    unsigned int total = 0;
    for (CU_pSuite s = CU_get_registry ()->pSuite; s; s = s->pNext)
        total += s->uiNumberOfTests;
    printf ("1..%u\n", total);
    CU_set_test_complete_handler (s_test_complete);
    CU_run_all_tests ();
    unsigned int failed = CU_get_number_of_tests_failed ();
    unsigned int suites_failed = CU_get_number_of_suites_failed ();
    CU_cleanup_registry ();
    if (suites_failed)
        printf ("# %u suite(s) failed to initialise\n", suites_failed);
    zsys_shutdown ();
    return (int) (failed + suites_failed) ? 1 : 0;
}

int64_t
tm_tap_deadline (int timeout_ms)
{
    return zclock_mono () + timeout_ms;
}
