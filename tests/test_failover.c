//  test_failover - the ALL stream's choice and de-duplication, on scripted sequences
//
//  Two providers A and B on the route of NIFTY-I (A preferred); time is passed in, in ms.

#include "tickmux.h"
#include "tap.h"

#define MS  1000000LL

static tm_routes_t *s_routes;
static tm_failover_t *s_fo;

static tm_failover_config_t s_config = {
    .hold_down_ns = 2000 * MS, .stale_floor_ns = 1000 * MS, .stale_factor = 5.0,
    .error_rate = 0.05
};

static void
s_setup (void)
{
    const char *names [] = { "A", "B", "C" };
    s_routes = tm_routes_new (names, 3);
    char err [128];
    int rc = tm_routes_add (s_routes, "NIFTY-I", "A, B", err, sizeof err);
    assert (rc == 0);
    rc = tm_routes_add (s_routes, "SOLO", "A", err, sizeof err);
    assert (rc == 0);
    s_fo = tm_failover_new (s_routes, &s_config);
    tm_failover_status (s_fo, 0, TM_STATE_CONNECTED, 0, 0, 0);
    tm_failover_status (s_fo, 1, TM_STATE_CONNECTED, 0, 0, 0);
}

static void
s_teardown (void)
{
    tm_failover_destroy (&s_fo);
    tm_routes_destroy (&s_routes);
}

static uint64_t s_seqs [3];         //  Per provider: the normalizer's seq

//  Feed a trade of NIFTY-I from provider (0 A, 1 B) at ms: volume and price
static void
s_trade (const char *symbol, int provider, int64_t ms, int64_t volume, double price)
{
    tm_tick_t tick;
    memset (&tick, 0, sizeof tick);
    snprintf (tick.symbol, sizeof tick.symbol, "%s", symbol);
    snprintf (tick.provider, sizeof tick.provider, "%c", 'A' + provider);
    strcpy (tick.stream, tick.provider);
    tick.seq = ++s_seqs [provider];
    tick.fields = TM_TICK_QUOTE;
    tick.volume = volume;
    tick.last_price = price;
    tick.exchange_ts = 1767584700000000000LL + volume * MS;     //  Time follows the trades
    tm_failover_tick (s_fo, &tick, ms * MS);
}

//  The volumes released since the last call, as text ("100 110")
static const char *
s_out (void)
{
    static char text [512];
    text [0] = '\0';
    size_t count;
    tm_tick_t *out = tm_failover_output (s_fo, &count);
    for (size_t i = 0; i < count; i++) {
        size_t used = strlen (text);
        snprintf (text + used, sizeof text - used, "%s%c%" PRId64, i ? " " : "",
                  out [i].provider [0], out [i].volume);
    }
    tm_failover_output_clear (s_fo);
    return text;
}

//  The events since the last call, as text ("SWITCH A>B DISCONNECTED")
static const char *
s_events (void)
{
    static char text [512];
    text [0] = '\0';
    tm_failover_event_t event;
    while (tm_failover_next_event (s_fo, &event)) {
        size_t used = strlen (text);
        if (event.kind == TM_FAILOVER_EVENT_SWITCH)
            snprintf (text + used, sizeof text - used, "%sSWITCH %s>%s %s", used ? "; " : "",
                      event.from, event.to, event.reason);
        else
            snprintf (text + used, sizeof text - used, "%sGAP %s>%s %" PRId64 "-%" PRId64,
                      used ? "; " : "", event.from, event.to,
                      (int64_t) ((event.since_ts - 1767584700000000000LL) / MS),
                      (int64_t) ((event.until_ts - 1767584700000000000LL) / MS));
    }
    return text;
}

//  Compare and, on a mismatch, say what came instead
#define CHECK_TEXT(actual, expected) s_check_text ((actual), (expected), __LINE__)
static void
s_check_text (const char *actual, const char *expected, unsigned int line)
{
    if (strcmp (actual, expected) == 0) {
        CU_PASS ("text");
        return;
    }
    char what [1200];
    snprintf (what, sizeof what, "got '%s', want '%s'", actual, expected);
    CU_assertImplementation (CU_FALSE, line, what, __FILE__, "", CU_FALSE);
}

static void
test_one_provider (void)
{
    s_setup ();
    s_trade ("SOLO", 0, 0, 100, 10);
    s_trade ("SOLO", 0, 10, 110, 11);
    s_trade ("SOLO", 0, 20, 105, 12);       //  Backward: less volume
    CHECK_TEXT (s_out (), "A100 A110");
    //  An exact repeat of the last (a snapshot after a reconnect) is not sent again
    s_seqs [0]++;
    tm_tick_t tick;
    memset (&tick, 0, sizeof tick);
    strcpy (tick.symbol, "SOLO");
    strcpy (tick.provider, "A");
    tick.seq = ++s_seqs [0];
    tick.fields = TM_TICK_QUOTE;
    tick.volume = 110;
    tick.last_price = 11;
    tick.exchange_ts = 1767584700000000000LL + 110 * MS;
    tm_failover_tick (s_fo, &tick, 30 * MS);
    CHECK_TEXT (s_out (), "");
    //  A quote at the same volume and time is news (its book moved)
    tick.seq = ++s_seqs [0];
    tick.fields |= TM_TICK_BOOK;
    tick.bid_price = 10.95;
    tm_failover_tick (s_fo, &tick, 40 * MS);
    CHECK_TEXT (s_out (), "A110");
    //  A new day: volume starts again
    tick.seq = ++s_seqs [0];
    tick.volume = 5;
    tick.exchange_ts += 20LL * 3600 * 1000000000;
    tm_failover_tick (s_fo, &tick, 50 * MS);
    CHECK_TEXT (s_out (), "A5");
    CHECK_TEXT (s_events (), "");
    CU_ASSERT (tm_failover_dropped (s_fo) == 2);
    //  A provider off the route never reaches ALL
    s_trade ("SOLO", 1, 60, 500, 10);
    CHECK_TEXT (s_out (), "");
    s_teardown ();
}

static void
test_disconnect_and_back (void)
{
    s_setup ();
    //  Both feed the same trades; A's go out, B's stand by without being kept (not ahead)
    s_trade ("NIFTY-I", 0, 0, 100, 10);
    s_trade ("NIFTY-I", 1, 5, 100, 10);
    s_trade ("NIFTY-I", 0, 250, 110, 11);
    s_trade ("NIFTY-I", 1, 255, 110, 11);
    CHECK_TEXT (s_out (), "A100 A110");
    CU_ASSERT (tm_failover_current (s_fo, "NIFTY-I") == 0);
    //  A drops: B at once, nothing sent twice, its next trade goes out
    tm_failover_status (s_fo, 0, TM_STATE_DISCONNECTED, 2, 0, 300 * MS);
    CHECK_TEXT (s_events (), "SWITCH A>B DISCONNECTED");
    CU_ASSERT (tm_failover_current (s_fo, "NIFTY-I") == 1);
    s_trade ("NIFTY-I", 1, 500, 120, 12);
    CHECK_TEXT (s_out (), "B120");
    //  A is back: B keeps the symbol through the hold-down, A's ticks wait (not ahead of B's)
    tm_failover_status (s_fo, 0, TM_STATE_CONNECTED, 2, 0, 600 * MS);
    s_trade ("NIFTY-I", 0, 700, 120, 12);
    s_trade ("NIFTY-I", 1, 750, 130, 13);
    s_trade ("NIFTY-I", 0, 760, 130, 13);
    tm_failover_check (s_fo, 2599 * MS);
    CHECK_TEXT (s_events (), "");
    CHECK_TEXT (s_out (), "B130");
    //  Hold-down over (2 s after A was last unhealthy): back to A, which must be ahead
    tm_failover_check (s_fo, 2600 * MS);
    CHECK_TEXT (s_events (), "SWITCH B>A RECOVERED");
    s_trade ("NIFTY-I", 0, 2610, 130, 13);      //  B already sent it
    s_trade ("NIFTY-I", 0, 2700, 140, 14);
    CHECK_TEXT (s_out (), "A140");
    s_teardown ();
}

//  What the standby sent ahead of the primary goes out at the switch, in order
static void
test_standby_replay_and_gap (void)
{
    s_setup ();
    s_trade ("NIFTY-I", 0, 0, 100, 10);
    s_trade ("NIFTY-I", 1, 100, 110, 11);       //  B ahead of A: kept
    s_trade ("NIFTY-I", 1, 200, 120, 12);
    CHECK_TEXT (s_out (), "A100");
    tm_failover_status (s_fo, 0, TM_STATE_STALE, 1, 0, 300 * MS);
    CHECK_TEXT (s_out (), "B110 B120");
    CHECK_TEXT (s_events (), "SWITCH A>B STALE");
    //  A back, both trade on; after the hold-down A takes over again
    tm_failover_status (s_fo, 0, TM_STATE_CONNECTED, 1, 0, 400 * MS);
    s_trade ("NIFTY-I", 0, 450, 130, 13);
    s_trade ("NIFTY-I", 1, 460, 130, 13);
    CHECK_TEXT (s_out (), "B130");
    tm_failover_check (s_fo, 2399 * MS);
    CHECK_TEXT (s_events (), "");
    tm_failover_check (s_fo, 2400 * MS);
    CHECK_TEXT (s_events (), "SWITCH B>A RECOVERED");
    CHECK_TEXT (s_out (), "");                  //  A's 130 went out from B already
    s_trade ("NIFTY-I", 0, 2500, 135, 13);
    CHECK_TEXT (s_out (), "A135");
    //  The other way, with more than the ring holds: a GAP says what was lost
    for (int i = 0; i < TM_FAILOVER_RING + 2; i++)
        s_trade ("NIFTY-I", 1, 2600 + i, 140 + 10 * i, 14);
    tm_failover_status (s_fo, 0, TM_STATE_DISCONNECTED, 2, 0, 2700 * MS);
    CHECK_TEXT (s_events (), "SWITCH A>B DISCONNECTED; GAP A>B 135-160");
    CHECK_TEXT (s_out (), "B160 B170 B180 B190 B200 B210 B220 B230");
    s_teardown ();
}

//  A symbol silent on its provider while the other one trades it: stale; both quiet: not
static void
test_symbol_stale (void)
{
    s_setup ();
    //  A and B trade every 100 ms (mean interval 100 ms: threshold is the 1 s floor)
    for (int i = 0; i < 10; i++) {
        s_trade ("NIFTY-I", 0, i * 100, 100 + i, 10);
        s_trade ("NIFTY-I", 1, i * 100 + 5, 100 + i, 10);
    }
    s_out ();
    //  Both quiet for 10 s: a quiet market, no switch
    tm_failover_check (s_fo, 10000 * MS);
    CHECK_TEXT (s_events (), "");
    CU_ASSERT (tm_failover_current (s_fo, "NIFTY-I") == 0);
    //  B trades again, A stays silent: stale once A has lagged B's news past the threshold
    //  (its own mean interval is 100 ms, x5 is under the 1 s floor)
    s_trade ("NIFTY-I", 1, 10100, 110, 11);
    s_trade ("NIFTY-I", 1, 10200, 111, 11);
    tm_failover_check (s_fo, 11100 * MS);
    CHECK_TEXT (s_events (), "");
    tm_failover_check (s_fo, 11101 * MS);
    CHECK_TEXT (s_events (), "SWITCH A>B SYMBOL_STALE");
    CHECK_TEXT (s_out (), "B110 B111");
    //  A lagging by less than its threshold is no reason to leave it: A catches up, and the
    //  hold-down brings it back
    s_trade ("NIFTY-I", 0, 11200, 111, 11);
    tm_failover_check (s_fo, 13101 * MS);
    CHECK_TEXT (s_events (), "");
    tm_failover_check (s_fo, 13200 * MS);
    CHECK_TEXT (s_events (), "SWITCH B>A RECOVERED");
    s_teardown ();
}

static void
test_error_rate (void)
{
    s_setup ();
    s_trade ("NIFTY-I", 0, 0, 100, 10);
    s_out ();
    //  2 errors in 100 messages: under the bar (at least 3, and more than 5 %)
    tm_failover_status (s_fo, 0, TM_STATE_CONNECTED, 100, 2, 1000 * MS);
    CHECK_TEXT (s_events (), "");
    tm_failover_status (s_fo, 0, TM_STATE_CONNECTED, 200, 12, 2000 * MS);
    CHECK_TEXT (s_events (), "SWITCH A>B ERRORS");
    //  Clean again: healthy, and back after the hold-down
    tm_failover_status (s_fo, 0, TM_STATE_CONNECTED, 300, 12, 3000 * MS);
    tm_failover_check (s_fo, 4999 * MS);
    CHECK_TEXT (s_events (), "");
    tm_failover_check (s_fo, 5000 * MS);
    CHECK_TEXT (s_events (), "SWITCH B>A RECOVERED");
    s_teardown ();
}

//  The event record: round trip, and every truncation refused
static void
test_event_codec (void)
{
    tm_failover_event_t event = { TM_FAILOVER_EVENT_GAP, "NIFTY-I", "TRUEDATA", "ZERODHA",
                                  "STANDBY_OVERFLOW", 11, 22, 0 };
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    CU_ASSERT (tm_event_encode (&event, 33, &buf) == 0);
    tm_failover_event_t back;
    int64_t ts;
    CU_ASSERT_FATAL (tm_event_decode (buf.data, buf.size, &back, &ts) == 0);
    CU_ASSERT (back.kind == TM_FAILOVER_EVENT_GAP && ts == 33);
    CU_ASSERT_STRING_EQUAL (back.symbol, "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (back.from, "TRUEDATA");
    CU_ASSERT_STRING_EQUAL (back.to, "ZERODHA");
    CU_ASSERT_STRING_EQUAL (back.reason, "STANDBY_OVERFLOW");
    CU_ASSERT (back.since_ts == 11 && back.until_ts == 22);
    for (size_t cut = 0; cut < buf.size; cut++)
        CU_ASSERT (tm_event_decode (buf.data, cut, &back, &ts) == TM_MALFORMED);
    //  A tick body is not an event
    tm_tick_t tick;
    memset (&tick, 0, sizeof tick);
    strcpy (tick.stream, "ALL");
    strcpy (tick.provider, "A");
    strcpy (tick.symbol, "X");
    msgpack_sbuffer_clear (&buf);
    CU_ASSERT (tm_tick_encode (&tick, 1, &buf) == 0);
    CU_ASSERT (tm_event_decode (buf.data, buf.size, &back, &ts) == TM_MALFORMED);
    msgpack_sbuffer_destroy (&buf);
}

//  The stats record: round trip; truncations and wrong lengths refused
static void
test_stats_codec (void)
{
    tm_stats_t st;
    memset (&st, 0, sizeof st);
    strcpy (st.provider, "TRUEDATA");
    st.ts = 5;
    st.latency [TM_STAGE_RECEIVE_TO_PUBLISH][2] = (tm_quantiles_t) { 7, 100, 200, 300 };
    st.message_rate [0] = 12.5;
    st.error_rate [1] = 0.25;
    st.ticks = 9;
    st.messages = 10;
    st.errors = 2;
    st.disconnects = 1;
    st.hist [1][3] = 4;
    st.hist_count [1] = 4;
    st.hist_sum [1] = 0.5;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    CU_ASSERT (tm_stats_encode (&st, &buf) == 0);
    tm_stats_t back;
    CU_ASSERT_FATAL (tm_stats_decode (buf.data, buf.size, &back) == 0);
    CU_ASSERT (memcmp (&st, &back, sizeof st) == 0);
    for (size_t cut = 0; cut < buf.size; cut++)
        CU_ASSERT (tm_stats_decode (buf.data, cut, &back) == TM_MALFORMED);
    //  The feed's heartbeat, the same way
    tm_heartbeat_t hb = { 5, 6, 7, 8 }, hb_back;
    msgpack_sbuffer_clear (&buf);
    CU_ASSERT (tm_heartbeat_encode (&hb, &buf) == 0);
    CU_ASSERT (tm_heartbeat_decode (buf.data, buf.size, &hb_back) == 0
               && memcmp (&hb, &hb_back, sizeof hb) == 0);
    for (size_t cut = 0; cut < buf.size; cut++)
        CU_ASSERT (tm_heartbeat_decode (buf.data, cut, &hb_back) == TM_MALFORMED);
    CU_ASSERT (tm_stats_decode (buf.data, buf.size, &back) == TM_MALFORMED);
    //  An edge's upstream figures, every state
    for (int state = 0; state < TM_UPSTREAM_STATES; state++) {
        tm_upstream_t up, up_back;
        memset (&up, 0, sizeof up);         //  Padding too, for memcmp
        up.ts = 9;
        up.state = (tm_upstream_state_t) state;
        up.subscriptions = 1;
        up.messages = 2;
        up.snapshots = 3;
        up.restarts = 4;
        up.stale = 5;
        up.malformed = 6;
        msgpack_sbuffer_clear (&buf);
        CU_ASSERT (tm_upstream_encode (&up, &buf) == 0);
        CU_ASSERT (tm_upstream_decode (buf.data, buf.size, &up_back) == 0
                   && memcmp (&up, &up_back, sizeof up) == 0);
        for (size_t cut = 0; cut < buf.size; cut++)
            CU_ASSERT (tm_upstream_decode (buf.data, cut, &up_back) == TM_MALFORMED);
        CU_ASSERT (tm_heartbeat_decode (buf.data, buf.size, &hb_back) == TM_MALFORMED);
    }
    CU_ASSERT_STRING_EQUAL (tm_upstream_state_name (TM_UPSTREAM_SILENT), "silent");
    CU_ASSERT_STRING_EQUAL (tm_upstream_state_name (TM_UPSTREAM_STATES), "unknown");
    msgpack_sbuffer_destroy (&buf);
}

int
tm_failover_tests (void)
{
    CU_pSuite suite = CU_add_suite ("failover", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "one provider: repeats and backward ticks dropped", test_one_provider)
    ||  !CU_add_test (suite, "disconnect, hold-down, back", test_disconnect_and_back)
    ||  !CU_add_test (suite, "standby ticks replayed; GAP past the ring", test_standby_replay_and_gap)
    ||  !CU_add_test (suite, "stale against the other provider, never for quiet", test_symbol_stale)
    ||  !CU_add_test (suite, "error rate", test_error_rate)
    ||  !CU_add_test (suite, "event record codec", test_event_codec)
    ||  !CU_add_test (suite, "stats, heartbeat and upstream record codecs", test_stats_codec))
        return -1;
    return 0;
}
