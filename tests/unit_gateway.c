//  unit_gateway - the CUnit suites of gateway/: the JSON client protocol and the HTTP answers
//
//  One runner per layer (STYLE.md 8), so a crash here cannot hide the pipeline's results.

#include "tickmux.h"
#include "tap.h"

int tm_protocol_tests (void);
int tm_http_tests (void);
int tm_chain_tests (void);
int tm_auth_tests (void);

int
main (void)
{
    tm_suite_fn *suites [] = { tm_protocol_tests, tm_http_tests, tm_chain_tests, tm_auth_tests, NULL };
    return tm_tap_run (suites);
}
