//  unit_actors - the CUnit suites of actors/: the simulated market, the Kite decoder and
//  instrument dump; and the feed actor, whose fixed inproc names need a process of their own
//
//  One runner per layer (STYLE.md 8), so a crash here cannot hide the pipeline's results.

#include "tickmux.h"
#include "tap.h"

int tm_market_tests (void);
int tm_kite_frame_tests (void);
int tm_kite_instruments_tests (void);
int tm_kite_session_tests (void);
int tm_truedata_msg_tests (void);
int tm_feed_tests (void);

int
main (void)
{
    tm_suite_fn *suites [] = {
        tm_market_tests, tm_kite_frame_tests, tm_kite_instruments_tests, tm_kite_session_tests,
        tm_truedata_msg_tests, tm_feed_tests, NULL
    };
    return tm_tap_run (suites);
}
