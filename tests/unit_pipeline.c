//  unit_pipeline - the CUnit suites of pipeline/: codecs, routes, config, clock, normalizer
//
//  One runner per layer (STYLE.md 8), so a crash in an actor's suite cannot hide these.

#include "tickmux.h"
#include "tap.h"

int tm_mp_tests (void);
int tm_tick_tests (void);
int tm_route_tests (void);
int tm_failover_tests (void);
int tm_window_tests (void);
int tm_config_tests (void);
int tm_clock_tests (void);
int tm_normalizer_tests (void);

int
main (void)
{
    tm_suite_fn *suites [] = {
        tm_mp_tests, tm_tick_tests, tm_route_tests, tm_failover_tests, tm_window_tests, tm_config_tests, tm_clock_tests,
        tm_normalizer_tests, NULL
    };
    return tm_tap_run (suites);
}
