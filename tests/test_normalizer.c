//  test_normalizer - the normalizer actor, socket to socket
//
//  The suite starts one normalizer for all its tests (its inproc endpoints are fixed names,
//  and a second bind could race the first socket's close), connects a PUB to TM_BUS_RAW the
//  way a connector does and a SUB to TM_BUS_NORM the way the arbiter does, and waits until a
//  status published on raw comes out on norm, so both links have joined before any test.
//  Each test then uses its own symbols, so the sequence numbers of one do not leak into
//  another.

#include "tickmux.h"
#include "normalizer.h"
#include "tap.h"

#include <jansson.h>

static tm_config_t *s_config;       //  SIM and SIM2
static zactor_t *s_actor;           //  The normalizer under test
static zsock_t *s_raw;              //  PUB, connected to TM_BUS_RAW like a connector
static zsock_t *s_norm;             //  SUB to TM_BUS_NORM, everything
static msgpack_sbuffer s_buf;       //  Scratch for publishing

//  Ticks received but not yet taken: a message may carry a batch
static tm_tick_t s_queue [TM_BATCH_MAX];
static size_t s_queued;             //  Ticks in s_queue
static size_t s_taken;              //  Ticks taken from s_queue
static char s_queue_topic [TM_TOPIC_MAX];   //  Topic of the message they came in

static const char *s_universe [] = { "NIFTY-I", "RELIANCE", "BANKNIFTY-I", "NIFTY 50", "INFY" };
#define S_UNIVERSE 5

static void
s_fail_text (const char *what, unsigned int line)
{
    CU_assertImplementation (CU_FALSE, line, what, __FILE__, "", CU_FALSE);
}

static void
s_publish_status (const char *provider)
{
    char symbols [S_UNIVERSE][TM_SYMBOL_MAX];
    for (size_t i = 0; i < S_UNIVERSE; i++)
        snprintf (symbols [i], TM_SYMBOL_MAX, "%s", s_universe [i]);
    tm_status_t st;
    memset (&st, 0, sizeof st);
    snprintf (st.provider, sizeof st.provider, "%s", provider);
    strcpy (st.kind, "SIM");
    st.state = TM_STATE_CONNECTED;
    st.ts = tm_clock_now_ns ();
    st.symbols_total = S_UNIVERSE;
    st.symbols_count = S_UNIVERSE;
    st.symbols = symbols;
    tm_status_publish (s_raw, &st, &s_buf);
}

//  Wait, against a deadline, for a status of provider on norm; publishes it again every
//  20 ms because PUB drops whatever it sends before a subscription has arrived.
static bool
s_wait_status (const char *provider, tm_status_t *got, char (*symbols) [TM_SYMBOL_MAX])
{
    char want [TM_TOPIC_MAX];
    snprintf (want, sizeof want, "%s%s", TM_TOPIC_STATUS, provider);
    zpoller_t *poller = zpoller_new (s_norm, NULL);
    int64_t deadline = tm_tap_deadline (5000);
    int64_t next_publish = 0;
    bool seen = false;
    while (!seen && zclock_mono () < deadline) {
        if (zclock_mono () >= next_publish) {
            s_publish_status (provider);
            next_publish = zclock_mono () + 20;
        }
        if (zpoller_wait (poller, 20) != s_norm)
            continue;
        zmsg_t *msg = zmsg_recv (s_norm);
        char *topic = msg ? zmsg_popstr (msg) : NULL;
        zframe_t *body = msg ? zmsg_pop (msg) : NULL;
        if (topic && body && strcmp (topic, want) == 0)
            seen = tm_status_decode (zframe_data (body), zframe_size (body), got, symbols) == 0;
        free (topic);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    return seen;
}

static int s_suite_cleanup (void);

//  CUnit does not run the cleanup of a suite whose init failed, so a failing init cleans up
//  itself, and says why as a TAP diagnostic.
static int
s_suite_failed (const char *why)
{
    printf ("# normalizer suite: %s\n", why);
    s_suite_cleanup ();
    return -1;
}

static int
s_suite_init (void)
{
    char err [512];
    s_config = tm_config_load_text (
        "provider\n    name = SIM\n    kind = SIM\n"
        "provider\n    name = SIM2\n    kind = SIM\n", err, sizeof err);
    if (!s_config)
        return s_suite_failed (err);
    msgpack_sbuffer_init (&s_buf);
    s_actor = zactor_new (tm_normalizer_actor, s_config);
    if (!s_actor)
        return s_suite_failed ("zactor_new failed");
    //  The actor binds on START (bus.h), and says whether it could
    if (tm_actor_start (s_actor) != 0)
        return s_suite_failed ("START answered with a failure (bind)");
    s_norm = zsock_new_sub (">" TM_BUS_NORM, "");
    s_raw = zsock_new_pub (">" TM_BUS_RAW);          //  CZMQ binds a PUB unless told ">"
    if (!s_norm || !s_raw)
        return s_suite_failed ("cannot connect to the bus");
    char symbols [TM_STATUS_SYMBOLS_MAX][TM_SYMBOL_MAX];
    tm_status_t st;
    if (!s_wait_status ("SIM", &st, symbols))
        return s_suite_failed ("a status published on raw never came out on norm in 5 s");
    return 0;
}

static int
s_suite_cleanup (void)
{
    zsock_destroy (&s_raw);
    zsock_destroy (&s_norm);
    zactor_destroy (&s_actor);
    msgpack_sbuffer_destroy (&s_buf);
    tm_config_destroy (&s_config);
    return 0;
}

//  The next tick on norm (status messages are skipped), with the topic it came under, or
//  false after timeout_ms.
static bool
s_next_tick (tm_tick_t *tick, char *topic, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (s_norm, NULL);
    int64_t deadline = tm_tap_deadline (timeout_ms);
    while (s_taken == s_queued && zclock_mono () < deadline) {
        if (zpoller_wait (poller, (int) (deadline - zclock_mono ())) != s_norm)
            continue;
        zmsg_t *msg = zmsg_recv (s_norm);
        char *t = msg ? zmsg_popstr (msg) : NULL;
        zframe_t *body = msg ? zmsg_pop (msg) : NULL;
        if (t && body && strncmp (t, TM_TOPIC_MD, strlen (TM_TOPIC_MD)) == 0) {
            size_t count = 0;
            if (tm_tick_decode (zframe_data (body), zframe_size (body), s_queue, TM_BATCH_MAX,
                                &count) == 0) {
                s_queued = count;
                s_taken = 0;
                snprintf (s_queue_topic, sizeof s_queue_topic, "%s", t);
            }
            else
                s_fail_text ("the normalizer published a body that does not decode", __LINE__);
        }
        else
        if (t && strncmp (t, TM_TOPIC_STATUS, strlen (TM_TOPIC_STATUS)) != 0) {
            char what [128];
            snprintf (what, sizeof what, "unexpected topic '%s' on norm", t);
            s_fail_text (what, __LINE__);
        }
        free (t);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    if (s_taken == s_queued)
        return false;
    *tick = s_queue [s_taken++];
    if (topic)
        strcpy (topic, s_queue_topic);
    return true;
}

static void
s_raw_tick (tm_tick_t *t, const char *provider, const char *symbol, double price,
            uint64_t src_seq)
{
    memset (t, 0, sizeof *t);
    snprintf (t->stream, sizeof t->stream, "%s", provider);
    snprintf (t->provider, sizeof t->provider, "%s", provider);
    snprintf (t->symbol, sizeof t->symbol, "%s", symbol);
    snprintf (t->token, sizeof t->token, "SIM-%s", symbol);
    t->src_seq = src_seq;
    t->fields = TM_TICK_QUOTE | TM_TICK_BOOK;
    t->last_price = price;
    t->last_quantity = 50;
    t->volume = 1000 + (int64_t) src_seq;
    t->open = t->high = t->low = t->close = price;
    t->bid_price = price - 0.05;
    t->ask_price = price + 0.05;
    t->bid_quantity = t->ask_quantity = 75;
    t->exchange_ts = tm_clock_now_ns ();
    t->recv_ts = tm_clock_now_ns ();
}

static void
s_send (const tm_tick_t *ticks, size_t count)
{
    CU_ASSERT (tm_tick_publish (s_raw, TM_TOPIC_RAW, ticks, count, &s_buf) == 0);
}

//  ------------------------------------------------------------------------------------------

static void
test_status_passes (void)
{
    char symbols [TM_STATUS_SYMBOLS_MAX][TM_SYMBOL_MAX];
    tm_status_t st;
    CU_ASSERT_FATAL (s_wait_status ("SIM2", &st, symbols));
    CU_ASSERT_STRING_EQUAL (st.provider, "SIM2");
    CU_ASSERT (st.state == TM_STATE_CONNECTED);
    CU_ASSERT (st.symbols_count == S_UNIVERSE);
    //  The simulator's symbols are canonical already, so the mapping keeps them
    for (size_t i = 0; i < st.symbols_count && i < S_UNIVERSE; i++)
        CU_ASSERT_STRING_EQUAL (symbols [i], s_universe [i]);
}

//  seq counts 1, 2, 3 per (provider, symbol), each pair on its own.
static void
test_sequences (void)
{
    static const struct {
        const char *provider;
        const char *symbol;
        uint64_t want_seq;
    } plan [] = {
        { "SIM", "NIFTY-I", 1 }, { "SIM", "RELIANCE", 1 }, { "SIM2", "NIFTY-I", 1 },
        { "SIM", "NIFTY-I", 2 }, { "SIM2", "NIFTY-I", 2 }, { "SIM", "NIFTY-I", 3 },
        { "SIM", "RELIANCE", 2 }, { "SIM2", "RELIANCE", 1 }, { "SIM2", "NIFTY-I", 3 },
    };
    size_t n = sizeof plan / sizeof plan [0];
    tm_tick_t sent [16];
    int64_t before = tm_clock_now_ns ();
    for (size_t i = 0; i < n; i++) {
        s_raw_tick (&sent [i], plan [i].provider, plan [i].symbol, 100.0 + (double) i,
                    1000 + i);
        s_send (&sent [i], 1);
    }
    for (size_t i = 0; i < n; i++) {
        tm_tick_t got;
        char topic [TM_TOPIC_MAX];
        if (!s_next_tick (&got, topic, 2000)) {
            s_fail_text ("a raw tick did not come out on norm within 2 s", __LINE__);
            break;
        }
        char what [200];
        if (strcmp (got.provider, plan [i].provider) || strcmp (got.symbol, plan [i].symbol)
        ||  got.seq != plan [i].want_seq) {
            snprintf (what, sizeof what, "tick %zu: %s/%s seq %" PRIu64 ", want %s/%s seq %"
                      PRIu64, i, got.provider, got.symbol, got.seq, plan [i].provider,
                      plan [i].symbol, plan [i].want_seq);
            s_fail_text (what, __LINE__);
        }
        //  The stream is the provider's own, and the topic names it and the symbol
        CU_ASSERT_STRING_EQUAL (got.stream, plan [i].provider);
        char want_topic [TM_TOPIC_MAX], stream_topic [TM_TOPIC_MAX];
        tm_bus_topic (want_topic, sizeof want_topic, TM_TOPIC_MD, got.provider, got.symbol);
        tm_bus_topic (stream_topic, sizeof stream_topic, TM_TOPIC_MD, got.provider, NULL);
        if (strcmp (topic, want_topic) && strcmp (topic, stream_topic)) {
            snprintf (what, sizeof what, "topic '%s', want '%s'", topic, want_topic);
            s_fail_text (what, __LINE__);
        }
        //  Stamped by the normalizer, in order, after the connector received it
        CU_ASSERT (got.norm_ts >= sent [i].recv_ts);
        CU_ASSERT (got.pub_ts >= got.norm_ts);
        CU_ASSERT (got.norm_ts >= before && got.pub_ts < tm_clock_now_ns () + 1);
        //  What the provider sent is kept
        CU_ASSERT (got.src_seq == sent [i].src_seq);
        CU_ASSERT (got.last_price == sent [i].last_price);
        CU_ASSERT (got.volume == sent [i].volume);
        CU_ASSERT (got.bid_price == sent [i].bid_price);
        CU_ASSERT (got.fields == sent [i].fields);
        CU_ASSERT (got.recv_ts == sent [i].recv_ts);
        CU_ASSERT (got.exchange_ts == sent [i].exchange_ts);
        CU_ASSERT_STRING_EQUAL (got.token, sent [i].token);
    }
}

//  A raw batch is taken apart: each tick gets its own seq.
static void
test_batch (void)
{
    tm_tick_t batch [4];
    s_raw_tick (&batch [0], "SIM", "INFY", 1500.0, 1);
    s_raw_tick (&batch [1], "SIM", "NIFTY 50", 24000.0, 2);
    s_raw_tick (&batch [2], "SIM", "INFY", 1500.05, 3);
    s_raw_tick (&batch [3], "SIM", "INFY", 1500.1, 4);
    s_send (batch, 4);
    const uint64_t want [] = { 1, 1, 2, 3 };
    for (size_t i = 0; i < 4; i++) {
        tm_tick_t got;
        if (!s_next_tick (&got, NULL, 2000)) {
            s_fail_text ("a tick of a raw batch did not come out within 2 s", __LINE__);
            break;
        }
        CU_ASSERT_STRING_EQUAL (got.symbol, batch [i].symbol);
        CU_ASSERT (got.seq == want [i]);
        CU_ASSERT (got.last_price == batch [i].last_price);
    }

    //  A raw batch that mixes providers: each tick must still reach a subscriber of its own
    //  provider's stream, so the topic may not be the first tick's stream prefix
    s_raw_tick (&batch [0], "SIM", "TCS", 4100.0, 1);
    s_raw_tick (&batch [1], "SIM2", "TCS", 4100.05, 1);
    s_send (batch, 2);
    for (size_t i = 0; i < 2; i++) {
        tm_tick_t got;
        char topic [TM_TOPIC_MAX], stream_topic [TM_TOPIC_MAX];
        if (!s_next_tick (&got, topic, 2000)) {
            s_fail_text ("a tick of a mixed raw batch did not come out within 2 s", __LINE__);
            break;
        }
        tm_bus_topic (stream_topic, sizeof stream_topic, TM_TOPIC_MD, got.provider, NULL);
        if (strncmp (topic, stream_topic, strlen (stream_topic)) != 0) {
            char what [256];
            snprintf (what, sizeof what, "%s tick published under '%s': a SUB to '%s' misses it",
                      got.provider, topic, stream_topic);
            s_fail_text (what, __LINE__);
        }
        CU_ASSERT (got.seq == 1);
    }
}

//  Bad ticks are not published and take no sequence number: the next good tick after them
//  is the one that comes out, with the next seq.
static void
test_drops (void)
{
    tm_tick_t t;
    tm_tick_t got;
    s_raw_tick (&t, "SIM", "BANKNIFTY-I", 51000.0, 1);
    s_send (&t, 1);
    CU_ASSERT_FATAL (s_next_tick (&got, NULL, 2000));
    CU_ASSERT (got.seq == 1 && strcmp (got.symbol, "BANKNIFTY-I") == 0);

    const double bad_prices [] = { NAN, -51000.0, 0.0, INFINITY, -0.0 };
    for (size_t i = 0; i < sizeof bad_prices / sizeof bad_prices [0]; i++) {
        s_raw_tick (&t, "SIM", "BANKNIFTY-I", bad_prices [i], 10 + i);
        s_send (&t, 1);
    }
    //  A provider that is not configured
    s_raw_tick (&t, "NOPE", "BANKNIFTY-I", 51000.0, 20);
    s_send (&t, 1);
    //  A batch with a bad tick in the middle loses only that tick
    tm_tick_t batch [3];
    s_raw_tick (&batch [0], "SIM", "BANKNIFTY-I", 51000.05, 30);
    s_raw_tick (&batch [1], "SIM", "BANKNIFTY-I", -1.0, 31);
    s_raw_tick (&batch [2], "SIM", "BANKNIFTY-I", 51000.1, 32);
    s_send (batch, 3);
    //  The marker
    s_raw_tick (&t, "SIM", "BANKNIFTY-I", 51000.15, 40);
    s_send (&t, 1);

    const struct {
        uint64_t src_seq;
        uint64_t seq;
    } want [] = { { 30, 2 }, { 32, 3 }, { 40, 4 } };
    for (size_t i = 0; i < 3; i++) {
        if (!s_next_tick (&got, NULL, 2000)) {
            s_fail_text ("a good tick after bad ones did not come out within 2 s", __LINE__);
            break;
        }
        char what [200];
        if (got.src_seq != want [i].src_seq || got.seq != want [i].seq
        ||  !(got.last_price > 0) || strcmp (got.provider, "SIM") != 0) {
            snprintf (what, sizeof what, "got %s/%s src_seq %" PRIu64 " seq %" PRIu64
                      " price %g, want src_seq %" PRIu64 " seq %" PRIu64, got.provider,
                      got.symbol, got.src_seq, got.seq, got.last_price, want [i].src_seq,
                      want [i].seq);
            s_fail_text (what, __LINE__);
        }
    }
}

//  Bytes that are not a body, and messages of the wrong shape, are dropped; the actor
//  keeps going.
static void
test_garbage (void)
{
    zstr_sendx (s_raw, "raw.SIM.INFY|", "\xc1", NULL);
    zstr_sendx (s_raw, "raw.SIM.INFY|", NULL);
    zstr_sendx (s_raw, "raw.SIM.INFY|", "a", "b", NULL);
    static const uint8_t huge [] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    const size_t sizes [] = { 0, sizeof huge };     //  An empty body, an array of 4G
    for (size_t i = 0; i < 2; i++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, "raw.SIM.INFY|");
        zmsg_addmem (msg, huge, sizes [i]);
        if (zmsg_send (&msg, s_raw))
            zmsg_destroy (&msg);
    }
    zstr_sendx (s_raw, "status.SIM", "\x81\xa1v\x01", NULL);
    zstr_sendx (s_raw, "junk", "junk", NULL);

    tm_tick_t t, got;
    s_raw_tick (&t, "SIM2", "INFY", 1500.0, 99);
    s_send (&t, 1);
    CU_ASSERT_FATAL (s_next_tick (&got, NULL, 2000));
    CU_ASSERT_STRING_EQUAL (got.provider, "SIM2");
    CU_ASSERT_STRING_EQUAL (got.symbol, "INFY");
    CU_ASSERT (got.seq == 1);
    CU_ASSERT (got.src_seq == 99);
}

//  The STATS pipe command answers, and counts what was dropped.
static void
test_stats (void)
{
    CU_ASSERT_FATAL (zstr_send (s_actor, "STATS") == 0);
    zpoller_t *poller = zpoller_new (s_actor, NULL);
    void *which = zpoller_wait (poller, 2000);
    zpoller_destroy (&poller);
    CU_ASSERT_FATAL (which == s_actor);
    zmsg_t *msg = zmsg_recv (s_actor);
    CU_ASSERT_FATAL (msg != NULL);
    char *verb = zmsg_popstr (msg);
    char *text = zmsg_popstr (msg);
    CU_ASSERT (verb && strcmp (verb, "STATS") == 0);
    CU_ASSERT_PTR_NOT_NULL (text);
    if (text) {
        json_error_t error;
        json_t *root = json_loads (text, 0, &error);
        CU_ASSERT (json_is_object (root));
        json_decref (root);
    }
    free (verb);
    free (text);
    zmsg_destroy (&msg);
}

int
tm_normalizer_tests (void)
{
    CU_pSuite suite = CU_add_suite ("normalizer", s_suite_init, s_suite_cleanup);
    if (!suite
    ||  !CU_add_test (suite, "status passes through", test_status_passes)
    ||  !CU_add_test (suite, "seq 1, 2, 3 per (provider, symbol)", test_sequences)
    ||  !CU_add_test (suite, "raw batch taken apart", test_batch)
    ||  !CU_add_test (suite, "bad price and unknown provider dropped", test_drops)
    ||  !CU_add_test (suite, "garbage dropped, actor keeps going", test_garbage)
    ||  !CU_add_test (suite, "STATS answers", test_stats))
        return -1;
    return 0;
}
