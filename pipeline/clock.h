//  clock - the daemon's one injectable wall clock
//
//  Everything that needs the date (exchange timestamps of the simulator, instrument expiries,
//  token expiry, market hours) asks this clock, never time () or the real date, so tests set
//  the date with TICKMUX_FAKE_TIME or the config key tickmux/fake_time. Once set, the fake clock
//  advances at the real rate from the fake start. Monotonic timing (deadlines) uses
//  zclock_mono () and is not affected.
//
//  Process-wide state, set once in main before any actor starts, read-only afterwards.

#ifndef TM_CLOCK_H_INCLUDED
#define TM_CLOCK_H_INCLUDED

//  Set the fake start from text: an integer of seconds since the epoch ("1767583800"), or
//  ISO 8601 UTC / with an offset ("2026-01-05T09:15:00Z", "2026-01-05T09:15:00+05:30").
//  Either may end in "@REAL", the real epoch seconds (decimals allowed) the fake start stands
//  for, so processes started at different times share one fake clock (a test's daemon and
//  simulators, a simulator restarted); without it the fake start is "now".
//  NULL or "" restores the real clock. Returns 0, or -1 and writes why into err.
int
    tm_clock_set_fake (const char *text, char *err, size_t err_size);

//  Nanoseconds since the Unix epoch, UTC, on the injectable clock.
int64_t
    tm_clock_now_ns (void);

//  Monotonic nanoseconds (CLOCK_MONOTONIC), for deadlines and latency; not the date.
int64_t
    tm_clock_mono_ns (void);

//  True when a fake start is in force.
bool
    tm_clock_is_fake (void);

//  Parse the same forms as tm_clock_set_fake into ns since the epoch. Returns 0 or -1.
int
    tm_clock_parse (const char *text, int64_t *ns);

#endif
