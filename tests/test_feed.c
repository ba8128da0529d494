//  test_feed - the feed actor's snapshot of provider status, socket to socket
//
//  Runs in unit_actors, a process of its own, because the feed joins the bus on fixed inproc
//  names that the normalizer's suite binds too. A PUB bound to TM_BUS_NORM stands for the
//  normalizer; a DEALER asks the snapshot ROUTER on a loopback port.

#include "tickmux.h"
#include "feed.h"
#include "tap.h"

#define S_PART      TM_STATUS_SYMBOLS_MAX

static char (*s_symbols) [TM_SYMBOL_MAX];   //  Decode buffer

typedef struct {
    tm_status_t st [8];             //  Statuses answered, in order
    char (*symbols [8]) [TM_SYMBOL_MAX];    //  Their symbols (owned)
    size_t count;
} s_answer_t;

static void
s_answer_free (s_answer_t *answer)
{
    for (size_t i = 0; i < answer->count; i++)
        free (answer->symbols [i]);
    answer->count = 0;
}

//  [SNAPSHOT][prefix] and its answer, up to END. Returns false if it did not come.
static bool
s_snapshot (zsock_t *dealer, const char *prefix, s_answer_t *answer)
{
    s_answer_free (answer);
    zstr_sendx (dealer, "SNAPSHOT", prefix, NULL);
    while (true) {
        zmsg_t *msg = zmsg_recv (dealer);
        if (!msg)
            return false;
        char *topic = zmsg_popstr (msg);
        zframe_t *body = zmsg_first (msg);
        bool end = topic && streq (topic, "END");
        if (!end && body && answer->count < 8) {
            tm_status_t *st = &answer->st [answer->count];
            char (*symbols) [TM_SYMBOL_MAX] = calloc (S_PART, TM_SYMBOL_MAX);
            assert (symbols);
            CU_ASSERT (tm_status_decode (zframe_data (body), zframe_size (body), st,
                                         symbols) == 0);
            CU_ASSERT (strlen (topic) > strlen (TM_TOPIC_STATUS)
                       && streq (topic + strlen (TM_TOPIC_STATUS), st->provider));
            answer->symbols [answer->count++] = symbols;
        }
        free (topic);
        zmsg_destroy (&msg);
        if (end)
            return true;
    }
}

//  A status of P1: state, and the part [offset, offset + count) of a universe of total
static void
s_publish (zsock_t *pub, tm_state_t state, uint32_t total, uint32_t offset, uint32_t count)
{
    tm_status_t st;
    memset (&st, 0, sizeof st);
    strcpy (st.provider, "P1");
    strcpy (st.kind, "SIM");
    st.state = state;
    st.ts = tm_clock_now_ns ();
    st.symbols_total = total;
    st.symbols_offset = offset;
    st.symbols_count = count;
    for (uint32_t i = 0; i < count; i++)
        snprintf (s_symbols [i], TM_SYMBOL_MAX, "S%u-%u", total, offset + i);
    st.symbols = s_symbols;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    tm_status_publish (pub, &st, &buf);
    msgpack_sbuffer_destroy (&buf);
}

//  Publish until the snapshot shows P1 in state with parts parts (PUB drops what it sends
//  before the feed's subscription has arrived), against a deadline
static bool
s_until (zsock_t *pub, zsock_t *dealer, s_answer_t *answer, tm_state_t state, size_t parts,
         void (*publish) (zsock_t *pub))
{
    int64_t deadline = zclock_mono () + 5000;
    while (zclock_mono () < deadline) {
        publish (pub);
        if (!s_snapshot (dealer, "status.P1", answer))
            return false;
        if (answer->count == parts + 1 && answer->st [parts].state == state)
            return true;
        zclock_sleep (20);
    }
    return false;
}

static void
s_publish_big (zsock_t *pub)
{
    s_publish (pub, TM_STATE_CONNECTING, 1500, 0, S_PART);
    s_publish (pub, TM_STATE_CONNECTING, 1500, S_PART, 1500 - S_PART);
    s_publish (pub, TM_STATE_CONNECTED, 1500, 0, 0);
}

static void
s_publish_small (zsock_t *pub)
{
    s_publish (pub, TM_STATE_STALE, 10, 0, 10);
}

static void
test_status_snapshot (void)
{
    s_symbols = calloc (S_PART, TM_SYMBOL_MAX);
    char err [256];
    tm_config_t *config = tm_config_load_text (
        "feed\n    bind = \"tcp://127.0.0.1:*\"\n    snapshot = \"tcp://127.0.0.1:*\"\n"
        "provider\n    name = P1\n    kind = SIM\nprovider\n    name = P2\n    kind = SIM\n",
        err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (config);
    zactor_t *feed = zactor_new (tm_feed_actor, config);
    CU_ASSERT_FATAL (tm_actor_start (feed) == 0);
    char *reply = NULL, *endpoint = NULL, *snapshot = NULL;
    zsock_send (feed, "s", "ENDPOINTS");
    zsock_recv (feed, "sss", &reply, &endpoint, &snapshot);
    zsock_t *pub = tm_bus_pub_new ();
    CU_ASSERT_FATAL (zsock_bind (pub, "%s", TM_BUS_NORM) == 0);
    zsock_t *dealer = zsock_new_dealer (snapshot);
    zsock_set_rcvtimeo (dealer, 5000);
    s_answer_t answer = { .count = 0 };

    //  Before any provider reports, the snapshot names every configured one, CONNECTING
    CU_ASSERT_FATAL (s_snapshot (dealer, "status.", &answer));
    CU_ASSERT (answer.count == 2);
    for (size_t i = 0; i < answer.count; i++)
        CU_ASSERT (answer.st [i].state == TM_STATE_CONNECTING && answer.st [i].symbols_count == 0);

    //  A universe in two parts, then a status without symbols: each part comes with the
    //  state of the last status, then the last status itself
    CU_ASSERT_FATAL (s_until (pub, dealer, &answer, TM_STATE_CONNECTED, 2, s_publish_big));
    uint32_t seen = 0;
    for (size_t i = 0; i < 2; i++) {
        tm_status_t *st = &answer.st [i];
        CU_ASSERT (st->state == TM_STATE_CONNECTED && st->symbols_total == 1500);
        CU_ASSERT (st->symbols_offset == 0 || st->symbols_offset == S_PART);
        CU_ASSERT (st->symbols_count == (st->symbols_offset ? 1500 - S_PART : S_PART));
        char first [TM_SYMBOL_MAX];
        snprintf (first, sizeof first, "S1500-%u", st->symbols_offset);
        CU_ASSERT (streq (answer.symbols [i][0], first));
        seen += st->symbols_count;
    }
    CU_ASSERT (seen == 1500);
    CU_ASSERT (answer.st [2].symbols_count == 0);
    //  P2 never reported: still CONNECTING, beside P1
    CU_ASSERT (s_snapshot (dealer, "status.P2", &answer) && answer.count == 1
               && answer.st [0].state == TM_STATE_CONNECTING);

    //  A universe of another size replaces the parts of the one before
    CU_ASSERT (s_until (pub, dealer, &answer, TM_STATE_STALE, 1, s_publish_small));
    CU_ASSERT (answer.st [0].symbols_total == 10 && answer.st [0].symbols_count == 10
               && answer.st [0].state == TM_STATE_STALE);

    //  A tick prefix matches no status
    CU_ASSERT (s_snapshot (dealer, "md.ALL.", &answer) && answer.count == 0);
    s_answer_free (&answer);
    zsock_destroy (&dealer);
    zsock_destroy (&pub);
    zactor_destroy (&feed);
    free (reply);
    free (endpoint);
    free (snapshot);
    tm_config_destroy (&config);
    free (s_symbols);
}

int
tm_feed_tests (void)
{
    CU_pSuite suite = CU_add_suite ("feed", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "status snapshot: every provider, universe parts, current state",
                      test_status_snapshot))
        return -1;
    return 0;
}
