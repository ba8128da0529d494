//  test_tick - the tick and status codecs, the MARKET_DATA JSON and the bus topics
//
//  Valid bodies come from tm_tick_encode; hostile ones are those bodies truncated, flipped,
//  or rewritten one key at a time (the body is unpacked with msgpack-c, which is safe here
//  because the test made the bytes, a key is replaced, and the map is packed again), so each
//  case differs from a valid body in exactly one way. JSON is checked with jansson's parser.

#include "tickmux.h"
#include "tap.h"

#include <jansson.h>

static void
s_fail_at (const char *what, size_t offset, unsigned int line)
{
    char text [200];
    snprintf (text, sizeof text, "%s (at %zu)", what, offset);
    CU_assertImplementation (CU_FALSE, line, text, __FILE__, "", CU_FALSE);
}

//  A tick with every group, depth 5 a side; n varies the values so ticks of a batch differ.
static void
s_full_tick (tm_tick_t *t, size_t n)
{
    memset (t, 0, sizeof *t);
    strcpy (t->stream, "SIM");
    strcpy (t->provider, "SIM");
    strcpy (t->symbol, n % 2 ? "NIFTY-I" : "NIFTY 50");
    strcpy (t->token, "SIM-1");
    t->seq = 1042 + n;
    t->src_seq = 77 + n;
    t->fields = TM_TICK_QUOTE | TM_TICK_BOOK | TM_TICK_OI | TM_TICK_DEPTH | TM_TICK_GREEKS;
    t->greeks = (tm_greeks_t) { 0.1432 + (double) n * 1e-4, 0.5123, 0.00012, -9.8741, 11.2045,
                                2.3187 };
    t->last_price = round ((24312.45 + (double) n * 0.05) * 100) / 100;
    t->last_quantity = 75;
    t->volume = 1830450 + (int64_t) n;
    t->open = 24290.0;
    t->high = 24330.1;
    t->low = 24270.55;
    t->close = 24280.0;
    t->oi = 12003450;
    t->bid_price = 24312.4;
    t->bid_quantity = 150;
    t->ask_price = 24312.5;
    t->ask_quantity = 225;
    t->bid_levels = TM_DEPTH_MAX;
    t->ask_levels = TM_DEPTH_MAX;
    for (int i = 0; i < TM_DEPTH_MAX; i++) {
        //  Rounded to the paisa, as a provider sends them (24312.4 - 0.05 is 24312.350000000002)
        t->bids [i] = (tm_level_t) { round ((24312.4 - 0.05 * i) * 100) / 100, 150 + 10 * i, 3 + i };
        t->asks [i] = (tm_level_t) { round ((24312.5 + 0.05 * i) * 100) / 100, 225 + 10 * i, 4 + i };
    }
    t->exchange_ts = 1767584700000000000LL + (int64_t) n;
    t->recv_ts = 1767584700000100000LL;
    t->norm_ts = 1767584700000200000LL;
    t->pub_ts = 1767584700000300000LL;
}

//  Compare two ticks field by field (not memcmp: string tails and padding are not data).
//  Groups that are absent are not compared. Returns the name of the first field that
//  differs, or NULL.
static const char *
s_tick_diff (const tm_tick_t *a, const tm_tick_t *b)
{
    if (strcmp (a->stream, b->stream))          return "stream";
    if (strcmp (a->provider, b->provider))      return "provider";
    if (strcmp (a->symbol, b->symbol))          return "symbol";
    if (strcmp (a->token, b->token))            return "token";
    if (a->seq != b->seq)                       return "seq";
    if (a->src_seq != b->src_seq)               return "src_seq";
    if (a->fields != b->fields)                 return "fields";
    if (a->last_price != b->last_price)         return "last_price";
    if (a->fields & TM_TICK_QUOTE) {
        if (a->last_quantity != b->last_quantity)   return "last_quantity";
        if (a->volume != b->volume)             return "volume";
        if (a->open != b->open)                 return "open";
        if (a->high != b->high)                 return "high";
        if (a->low != b->low)                   return "low";
        if (a->close != b->close)               return "close";
    }
    if (a->fields & TM_TICK_BOOK) {
        if (a->bid_price != b->bid_price)       return "bid_price";
        if (a->bid_quantity != b->bid_quantity) return "bid_quantity";
        if (a->ask_price != b->ask_price)       return "ask_price";
        if (a->ask_quantity != b->ask_quantity) return "ask_quantity";
    }
    if ((a->fields & TM_TICK_OI) && a->oi != b->oi)
        return "oi";
    if (a->fields & TM_TICK_DEPTH) {
        if (a->bid_levels != b->bid_levels)     return "bid_levels";
        if (a->ask_levels != b->ask_levels)     return "ask_levels";
        for (int i = 0; i < a->bid_levels; i++)
            if (a->bids [i].price != b->bids [i].price
            ||  a->bids [i].quantity != b->bids [i].quantity
            ||  a->bids [i].orders != b->bids [i].orders)
                return "bids";
        for (int i = 0; i < a->ask_levels; i++)
            if (a->asks [i].price != b->asks [i].price
            ||  a->asks [i].quantity != b->asks [i].quantity
            ||  a->asks [i].orders != b->asks [i].orders)
                return "asks";
    }
    if ((a->fields & TM_TICK_GREEKS)
    &&  memcmp (&a->greeks, &b->greeks, sizeof a->greeks))
        return "greeks";
    if (a->exchange_ts != b->exchange_ts)       return "exchange_ts";
    if (a->recv_ts != b->recv_ts)               return "recv_ts";
    if (a->norm_ts != b->norm_ts)               return "norm_ts";
    if (a->pub_ts != b->pub_ts)                 return "pub_ts";
    return NULL;
}

static void
s_assert_same (const tm_tick_t *want, const tm_tick_t *got, size_t index, unsigned int line)
{
    const char *field = s_tick_diff (want, got);
    if (field) {
        char what [80];
        snprintf (what, sizeof what, "decoded tick differs in %s", field);
        s_fail_at (what, index, line);
    }
}

//  ------------------------------------------------------------------------------------------
//  Rewriting one key of a valid body

static msgpack_object
s_obj_str (const char *s)
{
    msgpack_object o;
    o.type = MSGPACK_OBJECT_STR;
    o.via.str.size = (uint32_t) strlen (s);
    o.via.str.ptr = s;
    return o;
}

static msgpack_object
s_obj_uint (uint64_t v)
{
    msgpack_object o;
    o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o.via.u64 = v;
    return o;
}

static msgpack_object
s_obj_int (int64_t v)
{
    msgpack_object o;
    o.type = v < 0 ? MSGPACK_OBJECT_NEGATIVE_INTEGER : MSGPACK_OBJECT_POSITIVE_INTEGER;
    o.via.i64 = v;
    return o;
}

static msgpack_object
s_obj_double (double v)
{
    msgpack_object o;
    o.type = MSGPACK_OBJECT_FLOAT64;
    o.via.f64 = v;
    return o;
}

//  Find key in a map object, or NULL.
static msgpack_object *
s_map_get (msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t len = strlen (key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        msgpack_object *k = &map->via.map.ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == len
        &&  memcmp (k->via.str.ptr, key, len) == 0)
            return &map->via.map.ptr [i].val;
    }
    return NULL;
}

//  Pack body with key set to *value (added if absent), or removed when value is NULL.
//  Writes the new body into out (cleared first).
static void
s_rewrite (const msgpack_sbuffer *body, const char *key, const msgpack_object *value,
           msgpack_sbuffer *out)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    int rc = msgpack_unpack_next (&unpacked, body->data, body->size, &offset);
    assert (rc == MSGPACK_UNPACK_SUCCESS);
    msgpack_object *map = &unpacked.data;
    assert (map->type == MSGPACK_OBJECT_MAP);

    uint32_t size = map->via.map.size;
    msgpack_object_kv *kv = calloc (size + 1, sizeof *kv);
    assert (kv);
    uint32_t n = 0;
    bool found = false;
    for (uint32_t i = 0; i < size; i++) {
        msgpack_object *k = &map->via.map.ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen (key)
        &&  memcmp (k->via.str.ptr, key, k->via.str.size) == 0) {
            found = true;
            if (!value)
                continue;
            kv [n] = map->via.map.ptr [i];
            kv [n++].val = *value;
        }
        else
            kv [n++] = map->via.map.ptr [i];
    }
    if (!found && value) {
        kv [n].key = s_obj_str (key);
        kv [n++].val = *value;
    }
    msgpack_object copy = *map;
    copy.via.map.size = n;
    copy.via.map.ptr = kv;
    msgpack_sbuffer_clear (out);
    msgpack_packer pk;
    msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, copy);
    free (kv);
    msgpack_unpacked_destroy (&unpacked);
}

//  The body of one full tick.
static void
s_encode_full (msgpack_sbuffer *body)
{
    tm_tick_t t;
    s_full_tick (&t, 1);
    msgpack_sbuffer_clear (body);
    int rc = tm_tick_encode (&t, 1, body);
    assert (rc == 0);
}

static int
s_decode_one (const msgpack_sbuffer *body, tm_tick_t *t)
{
    size_t count = 99;
    int rc = tm_tick_decode (body->data, body->size, t, 1, &count);
    if (rc != 0 && count != 0)
        return 99;                  //  The contract says *count is 0 on failure
    return rc;
}

//  ------------------------------------------------------------------------------------------

static void
test_round_trip_one (void)
{
    tm_tick_t t, got;
    s_full_tick (&t, 1);
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    CU_ASSERT_FATAL (tm_tick_encode (&t, 1, &body) == 0);
    //  One tick is a map, not an array of one
    CU_ASSERT ((((uint8_t) body.data [0]) & 0xf0) == 0x80 || (uint8_t) body.data [0] == 0xde);
    size_t count = 0;
    memset (&got, 0x5a, sizeof got);
    CU_ASSERT (tm_tick_decode (body.data, body.size, &got, 1, &count) == 0);
    CU_ASSERT (count == 1);
    s_assert_same (&t, &got, 0, __LINE__);
    CU_ASSERT (tm_tick_body_is_tick (body.data, body.size));

    //  A real quantity in the int64 range and a huge volume survive too
    t.volume = INT64_MAX;
    t.last_quantity = -1;
    t.seq = UINT64_MAX;
    t.bids [0].orders = INT32_MAX;
    msgpack_sbuffer_clear (&body);
    CU_ASSERT (tm_tick_encode (&t, 1, &body) == 0);
    CU_ASSERT (tm_tick_decode (body.data, body.size, &got, 1, &count) == 0 && count == 1);
    s_assert_same (&t, &got, 0, __LINE__);
    msgpack_sbuffer_destroy (&body);
}

static void
test_round_trip_batch (void)
{
    tm_tick_t *ticks = calloc (TM_BATCH_MAX, sizeof *ticks);
    tm_tick_t *got = calloc (TM_BATCH_MAX, sizeof *got);
    assert (ticks && got);
    for (size_t i = 0; i < TM_BATCH_MAX; i++) {
        s_full_tick (&ticks [i], i);
        //  Every combination of groups and every depth, so absence is tested in a batch too
        ticks [i].fields = (uint32_t) (i % 16);
        ticks [i].bid_levels = (uint8_t) (i % (TM_DEPTH_MAX + 1));
        ticks [i].ask_levels = (uint8_t) ((i / 6) % (TM_DEPTH_MAX + 1));
        snprintf (ticks [i].symbol, sizeof ticks [i].symbol, "SYM%zu", i);
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    CU_ASSERT_FATAL (tm_tick_encode (ticks, TM_BATCH_MAX, &body) == 0);
    size_t count = 0;
    CU_ASSERT (tm_tick_decode (body.data, body.size, got, TM_BATCH_MAX, &count) == 0);
    CU_ASSERT_FATAL (count == TM_BATCH_MAX);
    for (size_t i = 0; i < TM_BATCH_MAX; i++)
        s_assert_same (&ticks [i], &got [i], i, __LINE__);
    CU_ASSERT (tm_tick_body_is_tick (body.data, body.size));

    //  One more than the caller has room for
    count = 99;
    CU_ASSERT (tm_tick_decode (body.data, body.size, got, TM_BATCH_MAX - 1, &count)
               == TM_MALFORMED);
    CU_ASSERT (count == 0);

    //  A batch of two
    msgpack_sbuffer_clear (&body);
    CU_ASSERT (tm_tick_encode (ticks, 2, &body) == 0);
    CU_ASSERT (tm_tick_decode (body.data, body.size, got, 2, &count) == 0 && count == 2);
    CU_ASSERT (tm_tick_decode (body.data, body.size, got, 1, &count) == TM_MALFORMED);
    CU_ASSERT (count == 0);
    msgpack_sbuffer_destroy (&body);
    free (ticks);
    free (got);
}

//  A group the tick does not carry is not in the body and decodes as absent.
static void
test_absent_groups (void)
{
    static const struct {
        uint32_t fields;
        const char *absent [8];     //  Keys the body must not hold
    } cases [] = {
        { 0, { "volume", "open", "bid_price", "ask_quantity", "oi", "depth", "last_quantity" } },
        { TM_TICK_QUOTE, { "bid_price", "oi", "depth" } },
        { TM_TICK_BOOK, { "volume", "high", "oi", "depth" } },
        { TM_TICK_OI, { "volume", "bid_price", "depth" } },
        { TM_TICK_DEPTH, { "volume", "bid_quantity", "oi" } },
    };
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    for (size_t c = 0; c < sizeof cases / sizeof cases [0]; c++) {
        tm_tick_t t, got;
        s_full_tick (&t, 3);
        t.fields = cases [c].fields;
        msgpack_sbuffer_clear (&body);
        CU_ASSERT_FATAL (tm_tick_encode (&t, 1, &body) == 0);
        memset (&got, 0, sizeof got);
        if (s_decode_one (&body, &got) != 0) {
            s_fail_at ("decode of a tick with some groups absent", c, __LINE__);
            continue;
        }
        if (got.fields != cases [c].fields)
            s_fail_at ("decoded fields differ", c, __LINE__);
        s_assert_same (&t, &got, c, __LINE__);

        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        size_t offset = 0;
        CU_ASSERT_FATAL (msgpack_unpack_next (&unpacked, body.data, body.size, &offset)
                         == MSGPACK_UNPACK_SUCCESS);
        for (size_t k = 0; cases [c].absent [k]; k++)
            if (s_map_get (&unpacked.data, cases [c].absent [k]))
                s_fail_at (cases [c].absent [k], c, __LINE__);
        //  The always-present keys are there
        CU_ASSERT (s_map_get (&unpacked.data, "last_price") != NULL);
        CU_ASSERT (s_map_get (&unpacked.data, "symbol") != NULL);
        msgpack_unpacked_destroy (&unpacked);
    }

    //  A depth group of empty sides is still a depth group
    tm_tick_t t, got;
    s_full_tick (&t, 3);
    t.fields = TM_TICK_DEPTH;
    t.bid_levels = 0;
    t.ask_levels = 2;
    msgpack_sbuffer_clear (&body);
    CU_ASSERT (tm_tick_encode (&t, 1, &body) == 0);
    CU_ASSERT (s_decode_one (&body, &got) == 0);
    CU_ASSERT (got.fields == TM_TICK_DEPTH && got.bid_levels == 0 && got.ask_levels == 2);
    s_assert_same (&t, &got, 0, __LINE__);
    msgpack_sbuffer_destroy (&body);
}

//  Every prefix of a valid body is malformed; a copy of exactly that size is decoded, so a
//  read past the end shows under valgrind and ASan.
static void
s_check_truncations (const msgpack_sbuffer *body, size_t max, unsigned int line)
{
    tm_tick_t *got = calloc (max, sizeof *got);
    assert (got);
    for (size_t size = 0; size < body->size; size++) {
        uint8_t *copy = malloc (size ? size : 1);
        assert (copy);
        memcpy (copy, body->data, size);
        size_t count = 99;
        int rc = tm_tick_decode (copy, size, got, max, &count);
        if (rc != TM_MALFORMED || count != 0)
            s_fail_at ("truncated body not TM_MALFORMED with count 0", size, line);
        free (copy);
    }
    free (got);
}

static void
test_truncated (void)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    s_encode_full (&body);
    s_check_truncations (&body, 1, __LINE__);

    tm_tick_t ticks [3];
    for (size_t i = 0; i < 3; i++)
        s_full_tick (&ticks [i], i);
    ticks [1].fields = 0;
    msgpack_sbuffer_clear (&body);
    CU_ASSERT (tm_tick_encode (ticks, 3, &body) == 0);
    s_check_truncations (&body, 3, __LINE__);

    //  A NULL body or an empty one
    tm_tick_t t;
    size_t count = 99;
    CU_ASSERT (tm_tick_decode (NULL, 0, &t, 1, &count) == TM_MALFORMED && count == 0);
    CU_ASSERT (tm_tick_decode (body.data, 0, &t, 1, &count) == TM_MALFORMED && count == 0);
    CU_ASSERT (!tm_tick_body_is_tick (body.data, 0));
    msgpack_sbuffer_destroy (&body);
}

//  Garbage never crashes, and what it returns is either a body or TM_MALFORMED with count 0.
static void
test_garbage (void)
{
    static const struct {
        const char *bytes;
        size_t size;
    } fixed [] = {
        { "hello", 5 }, { "\xc1", 1 }, { "\xc0", 1 }, { "\x80", 1 }, { "\x90", 1 },
        { "\x91\x80", 2 }, { "\x81\x01\x02", 3 }, { "\x81\xa1v\x01", 4 },
        { "\xdd\xff\xff\xff\xff", 5 }, { "\xdf\xff\xff\xff\xff", 5 },
        { "\x81\xa6symbol\xdb\xff\xff\xff\xff", 13 }, { "{\"v\":1}", 7 },
    };
    tm_tick_t *got = calloc (TM_BATCH_MAX, sizeof *got);
    assert (got);
    size_t count;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed [0]; i++) {
        count = 99;
        if (tm_tick_decode (fixed [i].bytes, fixed [i].size, got, TM_BATCH_MAX, &count)
            != TM_MALFORMED || count != 0)
            s_fail_at ("garbage decoded", i, __LINE__);
        tm_tick_body_is_tick (fixed [i].bytes, fixed [i].size);
    }

    //  Random bytes from a fixed seed (the run is the same every time)
    uint32_t seed = 12345;
    uint8_t bytes [256];
    for (int round = 0; round < 20000; round++) {
        size_t size = 1 + (seed = seed * 1103515245 + 12345) % sizeof bytes;
        for (size_t i = 0; i < size; i++)
            bytes [i] = (uint8_t) ((seed = seed * 1103515245 + 12345) >> 16);
        //  Start most of them with a map or array header so they reach the key loop
        if (round % 3 == 0)
            bytes [0] = 0x80 | (bytes [0] & 0x0f);
        else
        if (round % 3 == 1)
            bytes [0] = 0x90 | (bytes [0] & 0x0f);
        count = 99;
        int rc = tm_tick_decode (bytes, size, got, TM_BATCH_MAX, &count);
        if (!((rc == 0 && count >= 1) || (rc == TM_MALFORMED && count == 0))) {
            s_fail_at ("random bytes: bad return", (size_t) round, __LINE__);
            break;
        }
        tm_tick_body_is_tick (bytes, size);
    }

    //  A valid body with each byte in turn replaced by a few values: no crash, sane result
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    s_encode_full (&body);
    uint8_t *copy = malloc (body.size);
    assert (copy);
    static const uint8_t values [] = { 0x00, 0x7f, 0xc1, 0xcb, 0xdb, 0xdd, 0xdf, 0xff };
    for (size_t at = 0; at < body.size; at++)
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy (copy, body.data, body.size);
            copy [at] = values [v];
            count = 99;
            int rc = tm_tick_decode (copy, body.size, got, TM_BATCH_MAX, &count);
            if (!((rc == 0 && count == 1) || (rc == TM_MALFORMED && count == 0)))
                s_fail_at ("flipped byte: bad return", at, __LINE__);
        }
    free (copy);
    msgpack_sbuffer_destroy (&body);
    free (got);
}

//  Each case is a valid body with one key rewritten; baseline first, so a failing case is
//  the key's fault and not the rewriting's.
static void
test_rejects (void)
{
    msgpack_sbuffer body, bad;
    msgpack_sbuffer_init (&body);
    msgpack_sbuffer_init (&bad);
    s_encode_full (&body);
    tm_tick_t t;
    msgpack_object same = s_obj_str ("NIFTY-I");
    s_rewrite (&body, "symbol", &same, &bad);
    CU_ASSERT_FATAL (s_decode_one (&bad, &t) == 0);
    CU_ASSERT_STRING_EQUAL (t.symbol, "NIFTY-I");

    char s40 [41], s32 [33], s31 [32], s16 [17], s15 [16], s24 [25], s23 [24];
    memset (s40, 'A', 40); s40 [40] = 0;
    memset (s32, 'B', 32); s32 [32] = 0;
    memset (s31, 'C', 31); s31 [31] = 0;
    memset (s16, 'D', 16); s16 [16] = 0;
    memset (s15, 'E', 15); s15 [15] = 0;
    memset (s24, 'F', 24); s24 [24] = 0;
    memset (s23, 'G', 23); s23 [23] = 0;

    //  Strings up to their field's size - 1 fit
    const struct {
        const char *key;
        const char *value;
    } fits [] = { { "symbol", s31 }, { "stream", s15 }, { "provider", s15 }, { "token", s23 } };
    for (size_t i = 0; i < sizeof fits / sizeof fits [0]; i++) {
        msgpack_object o = s_obj_str (fits [i].value);
        s_rewrite (&body, fits [i].key, &o, &bad);
        if (s_decode_one (&bad, &t) != 0)
            s_fail_at (fits [i].key, i, __LINE__);
    }
    CU_ASSERT_STRING_EQUAL (t.token, s23);

    //  ... and one byte more is refused
    msgpack_object nan_obj = s_obj_double (NAN);
    msgpack_object inf_obj = s_obj_double (INFINITY);
    msgpack_object ninf_obj = s_obj_double (-INFINITY);
    msgpack_object str40 = s_obj_str (s40);
    msgpack_object str32 = s_obj_str (s32);
    msgpack_object str16 = s_obj_str (s16);
    msgpack_object str24 = s_obj_str (s24);
    msgpack_object v2 = s_obj_uint (2);
    msgpack_object v0 = s_obj_uint (0);
    msgpack_object v_str = s_obj_str ("1");
    msgpack_object kind_status = s_obj_str ("status");
    msgpack_object neg = s_obj_int (-1);
    msgpack_object number = s_obj_uint (5);
    msgpack_object empty = s_obj_str ("");

    //  Depth with six bids, and a level whose price is NaN
    msgpack_object levels6 [TM_DEPTH_MAX + 1], parts [TM_DEPTH_MAX + 1][3];
    for (int i = 0; i <= TM_DEPTH_MAX; i++) {
        parts [i][0] = s_obj_double (100.0 + i);
        parts [i][1] = s_obj_uint (10);
        parts [i][2] = s_obj_uint (1);
        levels6 [i].type = MSGPACK_OBJECT_ARRAY;
        levels6 [i].via.array.size = 3;
        levels6 [i].via.array.ptr = parts [i];
    }
    msgpack_object_kv depth_kv [2];
    depth_kv [0].key = s_obj_str ("bids");
    depth_kv [0].val.type = MSGPACK_OBJECT_ARRAY;
    depth_kv [0].val.via.array.size = TM_DEPTH_MAX + 1;
    depth_kv [0].val.via.array.ptr = levels6;
    depth_kv [1].key = s_obj_str ("asks");
    depth_kv [1].val.type = MSGPACK_OBJECT_ARRAY;
    depth_kv [1].val.via.array.size = 1;
    depth_kv [1].val.via.array.ptr = levels6;
    msgpack_object depth6;
    depth6.type = MSGPACK_OBJECT_MAP;
    depth6.via.map.size = 2;
    depth6.via.map.ptr = depth_kv;

    msgpack_object nan_parts [3] = { s_obj_double (NAN), s_obj_uint (1), s_obj_uint (1) };
    msgpack_object nan_level;
    nan_level.type = MSGPACK_OBJECT_ARRAY;
    nan_level.via.array.size = 3;
    nan_level.via.array.ptr = nan_parts;
    msgpack_object_kv nan_kv [2];
    nan_kv [0].key = s_obj_str ("bids");
    nan_kv [0].val.type = MSGPACK_OBJECT_ARRAY;
    nan_kv [0].val.via.array.size = 1;
    nan_kv [0].val.via.array.ptr = &nan_level;
    nan_kv [1].key = s_obj_str ("asks");
    nan_kv [1].val = nan_kv [0].val;
    nan_kv [1].val.via.array.ptr = levels6;
    msgpack_object depth_nan;
    depth_nan.type = MSGPACK_OBJECT_MAP;
    depth_nan.via.map.size = 2;
    depth_nan.via.map.ptr = nan_kv;

    //  Greeks: all six finite numbers, no other key, none twice
    static const char *greek_names [6] = { "iv", "delta", "gamma", "theta", "vega", "rho" };
    msgpack_object_kv greek_kv [6];
    for (int i = 0; i < 6; i++) {
        greek_kv [i].key = s_obj_str (greek_names [i]);
        greek_kv [i].val = s_obj_double (0.5);
    }
    msgpack_object greeks5;
    greeks5.type = MSGPACK_OBJECT_MAP;
    greeks5.via.map.size = 5;
    greeks5.via.map.ptr = greek_kv;
    msgpack_object_kv greek_nan_kv [6], greek_dup_kv [6], greek_odd_kv [6];
    memcpy (greek_nan_kv, greek_kv, sizeof greek_kv);
    memcpy (greek_dup_kv, greek_kv, sizeof greek_kv);
    memcpy (greek_odd_kv, greek_kv, sizeof greek_kv);
    greek_nan_kv [3].val = s_obj_double (NAN);
    greek_dup_kv [5].key = s_obj_str ("iv");
    greek_odd_kv [2].key = s_obj_str ("omega");
    msgpack_object greeks_nan = greeks5, greeks_dup = greeks5, greeks_odd = greeks5;
    greeks_nan.via.map.size = greeks_dup.via.map.size = greeks_odd.via.map.size = 6;
    greeks_nan.via.map.ptr = greek_nan_kv;
    greeks_dup.via.map.ptr = greek_dup_kv;
    greeks_odd.via.map.ptr = greek_odd_kv;

    const struct {
        const char *what;
        const char *key;
        const msgpack_object *value;        //  NULL: key removed
    } cases [] = {
        { "greeks of five keys", "greeks", &greeks5 },
        { "greeks theta NaN", "greeks", &greeks_nan },
        { "greeks iv twice", "greeks", &greeks_dup },
        { "greeks with an unknown key", "greeks", &greeks_odd },
        { "greeks not a map", "greeks", &number },
        { "symbol of 40 characters", "symbol", &str40 },
        { "symbol of 32 characters", "symbol", &str32 },
        { "stream of 16 characters", "stream", &str16 },
        { "provider of 16 characters", "provider", &str16 },
        { "token of 24 characters", "token", &str24 },
        { "version 2", "v", &v2 },
        { "version 0", "v", &v0 },
        { "version as a string", "v", &v_str },
        { "no version", "v", NULL },
        { "kind status", "kind", &kind_status },
        { "no symbol", "symbol", NULL },
        { "no stream", "stream", NULL },
        { "no provider", "provider", NULL },
        { "empty symbol", "symbol", &empty },
        { "symbol as a number", "symbol", &number },
        { "last_price NaN", "last_price", &nan_obj },
        { "last_price inf", "last_price", &inf_obj },
        { "open -inf", "open", &ninf_obj },
        { "bid_price NaN", "bid_price", &nan_obj },
        { "high NaN", "high", &nan_obj },
        { "seq negative", "seq", &neg },
        { "six depth levels", "depth", &depth6 },
        { "depth level price NaN", "depth", &depth_nan },
        { "depth not a map", "depth", &number },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        s_rewrite (&body, cases [i].key, cases [i].value, &bad);
        if (s_decode_one (&bad, &t) != TM_MALFORMED)
            s_fail_at (cases [i].what, i, __LINE__);
    }

    //  Unknown keys, even nested ones, are skipped (a newer minor version)
    msgpack_object nested_items [2] = { s_obj_uint (1), depth6 };
    msgpack_object future;
    future.type = MSGPACK_OBJECT_ARRAY;
    future.via.array.size = 2;
    future.via.array.ptr = nested_items;
    s_rewrite (&body, "future_field", &future, &bad);
    CU_ASSERT (s_decode_one (&bad, &t) == 0);
    CU_ASSERT (t.last_price == 24312.5);

    //  A trailing byte after a valid body
    msgpack_sbuffer_clear (&bad);
    msgpack_sbuffer_write (&bad, body.data, body.size);
    msgpack_sbuffer_write (&bad, "\xc0", 1);
    CU_ASSERT (s_decode_one (&bad, &t) == TM_MALFORMED);
    msgpack_sbuffer_destroy (&body);
    msgpack_sbuffer_destroy (&bad);
}

//  A bad depth level must fail the whole body, not only the depth: a decoder that stopped
//  reading the depth and went on would read what is left of it as keys of the tick, and a
//  body whose map count is padded by one then decodes. Hand-packed, since the encoder
//  cannot write these.
static void
s_pack_cstr (msgpack_packer *pk, const char *s)
{
    msgpack_pack_str (pk, strlen (s));
    msgpack_pack_str_body (pk, s, strlen (s));
}

static void
s_pack_bad_depth (msgpack_sbuffer *buf, int variant)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    msgpack_sbuffer_clear (buf);
    //  Seven real pairs, and in the padded variants as many more as a misaligned reader
    //  finds inside the depth ("asks", and the two of a four-part level)
    msgpack_pack_map (&pk, variant == 0 ? 7 : variant == 1 ? 8 : 10);
    s_pack_cstr (&pk, "v");         msgpack_pack_uint8 (&pk, TM_TICK_VERSION);
    s_pack_cstr (&pk, "kind");      s_pack_cstr (&pk, "tick");
    s_pack_cstr (&pk, "stream");    s_pack_cstr (&pk, "SIM");
    s_pack_cstr (&pk, "provider");  s_pack_cstr (&pk, "SIM");
    s_pack_cstr (&pk, "symbol");    s_pack_cstr (&pk, "INFY");
    s_pack_cstr (&pk, "last_price"); msgpack_pack_double (&pk, 1856.7);
    s_pack_cstr (&pk, "depth");
    msgpack_pack_map (&pk, 2);
    s_pack_cstr (&pk, "bids");
    msgpack_pack_array (&pk, 1);
    if (variant == 2) {
        //  A level of four parts, whose parts read as two key/value pairs
        msgpack_pack_array (&pk, 4);
        s_pack_cstr (&pk, "a");
        msgpack_pack_int64 (&pk, 1);
        s_pack_cstr (&pk, "b");
        msgpack_pack_int64 (&pk, 2);
    }
    else {
        //  A level with negative orders
        msgpack_pack_array (&pk, 3);
        msgpack_pack_double (&pk, 1856.65);
        msgpack_pack_int64 (&pk, 10);
        msgpack_pack_int64 (&pk, -1);
    }
    s_pack_cstr (&pk, "asks");
    msgpack_pack_array (&pk, 0);
}

static void
test_bad_depth (void)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    tm_tick_t t;
    static const char *what [] = {
        "level with negative orders",
        "level with negative orders, map count padded by one",
        "level of four parts, map count padded by three"
    };
    for (int variant = 0; variant < 3; variant++) {
        s_pack_bad_depth (&buf, variant);
        if (s_decode_one (&buf, &t) != TM_MALFORMED)
            s_fail_at (what [variant], (size_t) variant, __LINE__);
    }
    msgpack_sbuffer_destroy (&buf);
}

//  An array of TM_BATCH_MAX + 1 ticks is refused even when the caller has more room.
static void
test_too_many (void)
{
    msgpack_sbuffer one, many;
    msgpack_sbuffer_init (&one);
    msgpack_sbuffer_init (&many);
    s_encode_full (&one);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &many, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, TM_BATCH_MAX + 1);
    for (int i = 0; i < TM_BATCH_MAX + 1; i++)
        msgpack_sbuffer_write (&many, one.data, one.size);
    tm_tick_t *got = calloc (TM_BATCH_MAX + 1, sizeof *got);
    assert (got);
    size_t count = 99;
    CU_ASSERT (tm_tick_decode (many.data, many.size, got, TM_BATCH_MAX + 1, &count)
               == TM_MALFORMED);
    CU_ASSERT (count == 0);

    //  The same array of exactly TM_BATCH_MAX passes
    msgpack_sbuffer_clear (&many);
    msgpack_pack_array (&pk, TM_BATCH_MAX);
    for (int i = 0; i < TM_BATCH_MAX; i++)
        msgpack_sbuffer_write (&many, one.data, one.size);
    CU_ASSERT (tm_tick_decode (many.data, many.size, got, TM_BATCH_MAX, &count) == 0);
    CU_ASSERT (count == TM_BATCH_MAX);

    //  An empty batch is not a body
    static const uint8_t empty_array [] = { 0x90 };
    CU_ASSERT (tm_tick_decode (empty_array, 1, got, TM_BATCH_MAX, &count) == TM_MALFORMED);
    free (got);
    msgpack_sbuffer_destroy (&one);
    msgpack_sbuffer_destroy (&many);
}

//  ------------------------------------------------------------------------------------------
//  MARKET_DATA JSON

static json_t *
s_json_of (const tm_tick_t *t, char *buf, size_t size, int *len)
{
    *len = tm_tick_to_json (t, buf, size);
    if (*len < 0)
        return NULL;
    //  The output is counted, not terminated; terminate it for strstr
    if ((size_t) *len < size)
        buf [*len] = '\0';
    json_error_t error;
    json_t *root = json_loadb (buf, (size_t) *len, 0, &error);
    if (!root)
        CU_assertImplementation (CU_FALSE, __LINE__, error.text, __FILE__, "", CU_FALSE);
    return root;
}

//  True if text holds the number exactly as written, not as a longer expansion of it.
static bool
s_has_number (const char *text, const char *key, const char *number)
{
    char want [96];
    snprintf (want, sizeof want, "\"%s\":%s", key, number);
    const char *at = strstr (text, want);
    if (!at)
        return false;
    char next = at [strlen (want)];
    return next == ',' || next == '}' || next == ']';
}

static bool
s_levels_equal (json_t *array, const tm_level_t *levels, size_t count)
{
    if (!json_is_array (array) || json_array_size (array) != count)
        return false;
    for (size_t i = 0; i < count; i++) {
        json_t *level = json_array_get (array, i);
        if (!json_is_array (level) || json_array_size (level) != 3
        ||  json_number_value (json_array_get (level, 0)) != levels [i].price
        ||  !json_is_integer (json_array_get (level, 1))
        ||  json_integer_value (json_array_get (level, 1)) != levels [i].quantity
        ||  json_integer_value (json_array_get (level, 2)) != levels [i].orders)
            return false;
    }
    return true;
}

static void
test_json (void)
{
    tm_tick_t t;
    s_full_tick (&t, 0);
    t.last_price = 24312.45;
    t.bids [0].price = 0.0025;
    t.close = -12.5;
    char buf [TM_TICK_JSON_MAX];
    int len;
    json_t *root = s_json_of (&t, buf, sizeof buf, &len);
    CU_ASSERT_FATAL (root != NULL);
    CU_ASSERT (len > 0 && len < TM_TICK_JSON_MAX);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "type")), "MARKET_DATA");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "stream")), "SIM");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "provider")), "SIM");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "symbol")), "NIFTY 50");
    CU_ASSERT (json_integer_value (json_object_get (root, "seq")) == 1042);
    json_t *data = json_object_get (root, "data");
    CU_ASSERT_FATAL (json_is_object (data));
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (data, "token")), "SIM-1");
    CU_ASSERT (json_integer_value (json_object_get (data, "src_seq")) == 77);
    CU_ASSERT (json_number_value (json_object_get (data, "last_price")) == 24312.45);
    CU_ASSERT (json_integer_value (json_object_get (data, "last_quantity")) == 75);
    CU_ASSERT (json_integer_value (json_object_get (data, "volume")) == 1830450);
    CU_ASSERT (json_number_value (json_object_get (data, "open")) == 24290.0);
    CU_ASSERT (json_number_value (json_object_get (data, "high")) == 24330.1);
    CU_ASSERT (json_number_value (json_object_get (data, "low")) == 24270.55);
    CU_ASSERT (json_number_value (json_object_get (data, "close")) == -12.5);
    CU_ASSERT (json_integer_value (json_object_get (data, "oi")) == 12003450);
    CU_ASSERT (json_number_value (json_object_get (data, "bid_price")) == 24312.4);
    CU_ASSERT (json_integer_value (json_object_get (data, "bid_quantity")) == 150);
    CU_ASSERT (json_number_value (json_object_get (data, "ask_price")) == 24312.5);
    CU_ASSERT (json_integer_value (json_object_get (data, "ask_quantity")) == 225);
    json_t *depth = json_object_get (data, "depth");
    CU_ASSERT (s_levels_equal (json_object_get (depth, "bids"), t.bids, TM_DEPTH_MAX));
    CU_ASSERT (s_levels_equal (json_object_get (depth, "asks"), t.asks, TM_DEPTH_MAX));
    CU_ASSERT (json_integer_value (json_object_get (data, "exchange_ts")) == t.exchange_ts);
    CU_ASSERT (json_integer_value (json_object_get (data, "recv_ts")) == t.recv_ts);
    CU_ASSERT (json_integer_value (json_object_get (data, "norm_ts")) == t.norm_ts);
    CU_ASSERT (json_integer_value (json_object_get (data, "pub_ts")) == t.pub_ts);
    //  Prices are written as the exchange quotes them, not as a binary expansion
    CU_ASSERT (s_has_number (buf, "last_price", "24312.45"));
    CU_ASSERT (strstr (buf, "[0.0025,") != NULL);
    CU_ASSERT (s_has_number (buf, "low", "24270.55"));
    //  Greeks keep their small digits (they are not prices)
    json_t *greeks = json_object_get (data, "greeks");
    CU_ASSERT (json_number_value (json_object_get (greeks, "iv")) == 0.1432);
    CU_ASSERT (json_number_value (json_object_get (greeks, "gamma")) == 0.00012);
    CU_ASSERT (json_number_value (json_object_get (greeks, "theta")) == -9.8741);
    CU_ASSERT (json_number_value (json_object_get (greeks, "rho")) == 2.3187);
    CU_ASSERT (json_object_size (greeks) == 6);
    json_decref (root);

    //  An LTP-only tick has none of the optional keys
    t.fields = 0;
    root = s_json_of (&t, buf, sizeof buf, &len);
    CU_ASSERT_FATAL (root != NULL);
    data = json_object_get (root, "data");
    static const char *optional [] = {
        "last_quantity", "volume", "open", "high", "low", "close", "oi", "bid_price",
        "bid_quantity", "ask_price", "ask_quantity", "depth", "greeks", NULL
    };
    for (size_t i = 0; optional [i]; i++)
        if (json_object_get (data, optional [i]))
            s_fail_at (optional [i], i, __LINE__);
    CU_ASSERT (json_number_value (json_object_get (data, "last_price")) == 24312.45);
    json_decref (root);
    //  Only open interest
    t.fields = TM_TICK_OI;
    root = s_json_of (&t, buf, sizeof buf, &len);
    CU_ASSERT_FATAL (root != NULL);
    data = json_object_get (root, "data");
    CU_ASSERT (json_integer_value (json_object_get (data, "oi")) == 12003450);
    CU_ASSERT (json_object_get (data, "volume") == NULL);
    json_decref (root);
}

//  A provider may send quotes, backslashes and control bytes in its strings.
static void
test_json_escapes (void)
{
    tm_tick_t t;
    s_full_tick (&t, 0);
    strcpy (t.symbol, "A\"B\\C\x01" "D\n");
    strcpy (t.token, "tok\"en");
    strcpy (t.provider, "P\\");
    char buf [TM_TICK_JSON_MAX];
    int len;
    json_t *root = s_json_of (&t, buf, sizeof buf, &len);
    CU_ASSERT_FATAL (root != NULL);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "symbol")), t.symbol);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "provider")), "P\\");
    CU_ASSERT_STRING_EQUAL (
        json_string_value (json_object_get (json_object_get (root, "data"), "token")), t.token);
    json_decref (root);

    //  The worst case fits in TM_TICK_JSON_MAX: every string at its limit and all control
    //  bytes (6 bytes each escaped), the longest numbers, every group and full depth
    memset (t.stream, 0x01, TM_PROVIDER_MAX - 1);
    t.stream [TM_PROVIDER_MAX - 1] = 0;
    memset (t.provider, 0x02, TM_PROVIDER_MAX - 1);
    t.provider [TM_PROVIDER_MAX - 1] = 0;
    memset (t.symbol, 0x03, TM_SYMBOL_MAX - 1);
    t.symbol [TM_SYMBOL_MAX - 1] = 0;
    memset (t.token, 0x04, TM_TOKEN_MAX - 1);
    t.token [TM_TOKEN_MAX - 1] = 0;
    t.seq = t.src_seq = UINT64_MAX;        //  20 digits; jansson cannot hold it, see below
    t.last_price = t.open = t.high = t.low = t.close = -1.2345678901234567e300;
    t.bid_price = t.ask_price = -1.2345678901234567e300;
    t.last_quantity = t.volume = t.oi = t.bid_quantity = t.ask_quantity = INT64_MIN;
    for (int i = 0; i < TM_DEPTH_MAX; i++) {
        t.bids [i] = (tm_level_t) { -1.2345678901234567e300, INT64_MIN, INT32_MIN };
        t.asks [i] = t.bids [i];
    }
    t.exchange_ts = t.recv_ts = t.norm_ts = t.pub_ts = INT64_MIN;
    len = tm_tick_to_json (&t, buf, sizeof buf);
    CU_ASSERT (len > 0 && len < TM_TICK_JSON_MAX);
    //  jansson's integers are signed 64-bit, so parse it with the largest seq it can hold
    t.seq = t.src_seq = INT64_MAX;
    root = s_json_of (&t, buf, sizeof buf, &len);
    CU_ASSERT (root != NULL);
    if (root) {
        CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "symbol")), t.symbol);
        json_decref (root);
    }
}

//  Every buffer smaller than the output gets -1 and nothing written past its end.
static void
test_json_small_buffer (void)
{
    tm_tick_t t;
    s_full_tick (&t, 0);
    char full [TM_TICK_JSON_MAX];
    int len = tm_tick_to_json (&t, full, sizeof full);
    CU_ASSERT_FATAL (len > 0);
    for (size_t size = 0; size < (size_t) len; size++) {
        char *buf = malloc (size ? size : 1);
        assert (buf);
        if (tm_tick_to_json (&t, buf, size) != -1)
            s_fail_at ("to_json fitted into a too small buffer", size, __LINE__);
        free (buf);
    }
    char *buf = malloc ((size_t) len + 1);
    assert (buf);
    CU_ASSERT (tm_tick_to_json (&t, buf, (size_t) len + 1) == len);
    CU_ASSERT (memcmp (buf, full, (size_t) len) == 0);
    free (buf);
}

//  ------------------------------------------------------------------------------------------
//  Bus

static void
test_bus_topic (void)
{
    char buf [TM_TOPIC_MAX];
    CU_ASSERT (tm_bus_topic (buf, sizeof buf, TM_TOPIC_MD, "SIM", "NIFTY-I") == 15);
    CU_ASSERT_STRING_EQUAL (buf, "md.SIM.NIFTY-I|");
    CU_ASSERT (tm_bus_topic (buf, sizeof buf, TM_TOPIC_MD, TM_STREAM_ALL, "NIFTY 50") == 16);
    CU_ASSERT_STRING_EQUAL (buf, "md.ALL.NIFTY 50|");
    CU_ASSERT (tm_bus_topic (buf, sizeof buf, TM_TOPIC_RAW, "SIM2", NULL) == 9);
    CU_ASSERT_STRING_EQUAL (buf, "raw.SIM2.");
    //  The longest stream and symbol fit in TM_TOPIC_MAX with the longest prefix
    char stream [TM_PROVIDER_MAX], symbol [TM_SYMBOL_MAX];
    memset (stream, 'S', sizeof stream - 1);
    stream [sizeof stream - 1] = 0;
    memset (symbol, 'Y', sizeof symbol - 1);
    symbol [sizeof symbol - 1] = 0;
    int want = (int) (strlen (TM_TOPIC_STATUS) + strlen (stream) + 1 + strlen (symbol) + 1);
    CU_ASSERT (tm_bus_topic (buf, sizeof buf, TM_TOPIC_STATUS, stream, symbol) == want);
    //  Exactly the length does not fit (no room for the NUL); one more does
    char small [20];
    CU_ASSERT (tm_bus_topic (small, 15, TM_TOPIC_MD, "SIM", "NIFTY-I") == -1);
    CU_ASSERT (tm_bus_topic (small, 16, TM_TOPIC_MD, "SIM", "NIFTY-I") == 15);
    CU_ASSERT_STRING_EQUAL (small, "md.SIM.NIFTY-I|");
    //  The terminator keeps NIFTY-I from matching NIFTY-II as a prefix
    char other [TM_TOPIC_MAX];
    tm_bus_topic (other, sizeof other, TM_TOPIC_MD, "SIM", "NIFTY-II");
    CU_ASSERT (strncmp (other, "md.SIM.NIFTY-I|", 15) != 0);
}

//  An actor following bus.h's start-up convention through tm_actor_handshake. args points
//  at an int: on entry the status its start step returns (0 ok, else failed), on exit the
//  handshake's result, or 99 when the start step never ran.
static int
s_start_step (void *args)
{
    int *result = (int *) args;
    int answer = *result;
    *result = 99 + 1;               //  Marks that the step ran
    return answer;
}

static void
s_start_actor (zsock_t *pipe, void *args)
{
    int *result = (int *) args;
    int answer = *result;
    *result = 99;
    int step = answer;
    int rc = tm_actor_handshake (pipe, s_start_step, &step);
    *result = step == 100 ? rc : 99;
    if (rc != 0)
        return;
    bool terminated = false;
    while (!terminated)
        free (tm_actor_command (pipe, &terminated));
}

static void
test_actor_start (void)
{
    //  START is answered with the actor's status; other verbs before it are ignored
    int result = 0;
    zactor_t *actor = zactor_new (s_start_actor, &result);
    CU_ASSERT_FATAL (actor != NULL);
    CU_ASSERT (zstr_send (actor, "BOGUS") == 0);
    CU_ASSERT (tm_actor_start (actor) == 0);
    zactor_destroy (&actor);
    CU_ASSERT (result == 0);

    //  An actor that could not bind says 1, and main sees a failure
    result = 1;
    actor = zactor_new (s_start_actor, &result);
    CU_ASSERT_FATAL (actor != NULL);
    CU_ASSERT (tm_actor_start (actor) == -1);
    zactor_destroy (&actor);

    CU_ASSERT (result == -1);

    //  $TERM before START ends the wait without running the start step
    result = 0;
    actor = zactor_new (s_start_actor, &result);
    CU_ASSERT_FATAL (actor != NULL);
    zactor_destroy (&actor);
    CU_ASSERT (result == 99);
}

static int s_endpoint_seq;          //  Makes each test's inproc endpoint unique

//  PUB/SUB joins asynchronously: publish a marker until the subscriber sees one, against a
//  deadline. Markers still in flight arrive before anything sent later and are skipped by
//  s_recv_data.
static bool
s_sync (zsock_t *pub, zsock_t *sub)
{
    zpoller_t *poller = zpoller_new (sub, NULL);
    int64_t deadline = tm_tap_deadline (5000);
    bool seen = false;
    while (!seen && zclock_mono () < deadline) {
        zstr_sendx (pub, "sync", "", NULL);
        if (zpoller_wait (poller, 10) == sub) {
            zmsg_t *msg = zmsg_recv (sub);
            seen = msg != NULL;
            zmsg_destroy (&msg);
        }
    }
    zpoller_destroy (&poller);
    return seen;
}

//  The next message that is not a marker, or NULL after timeout_ms.
static zmsg_t *
s_recv_data (zsock_t *sub, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (sub, NULL);
    int64_t deadline = tm_tap_deadline (timeout_ms);
    zmsg_t *found = NULL;
    while (!found && zclock_mono () < deadline) {
        if (zpoller_wait (poller, (int) (deadline - zclock_mono ())) != sub)
            continue;
        zmsg_t *msg = zmsg_recv (sub);
        char *topic = msg ? zmsg_popstr (msg) : NULL;
        if (topic && strcmp (topic, "sync") != 0) {
            zmsg_pushstr (msg, topic);
            found = msg;
        }
        else
            zmsg_destroy (&msg);
        free (topic);
    }
    zpoller_destroy (&poller);
    return found;
}

//  Receive [topic][body]; checks the topic and decodes the body into got.
static size_t
s_recv_ticks (zsock_t *sub, const char *want_topic, tm_tick_t *got, size_t max,
              unsigned int line)
{
    zmsg_t *msg = s_recv_data (sub, 2000);
    if (!msg) {
        s_fail_at ("no message within 2 s", 0, line);
        return 0;
    }
    size_t count = 0;
    char *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    if (!topic || strcmp (topic, want_topic) != 0) {
        char what [128];
        snprintf (what, sizeof what, "topic '%s', want '%s'", topic ? topic : "(none)",
                  want_topic);
        s_fail_at (what, 0, line);
    }
    if (!body || tm_tick_decode (zframe_data (body), zframe_size (body), got, max, &count))
        s_fail_at ("body does not decode", 0, line);
    if (zmsg_size (msg) != 0)
        s_fail_at ("more than two frames", zmsg_size (msg), line);
    free (topic);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return count;
}

static void
test_publish (void)
{
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://test-tick-%d-%d", getpid (), ++s_endpoint_seq);
    zsock_t *pub = zsock_new_pub (endpoint);
    zsock_t *sub = zsock_new_sub (endpoint, "");
    CU_ASSERT_FATAL (pub && sub);
    CU_ASSERT_FATAL (s_sync (pub, sub));

    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    //  Scratch space arrives dirty: publish must clear it first
    msgpack_sbuffer_write (&buf, "junk", 4);
    tm_tick_t ticks [3], got [TM_BATCH_MAX];
    for (size_t i = 0; i < 3; i++)
        s_full_tick (&ticks [i], 1);          //  All NIFTY-I on SIM
    ticks [2].seq = 9;

    //  One tick: the full symbol topic
    CU_ASSERT (tm_tick_publish (pub, TM_TOPIC_MD, ticks, 1, &buf) == 0);
    size_t count = s_recv_ticks (sub, "md.SIM.NIFTY-I|", got, TM_BATCH_MAX, __LINE__);
    CU_ASSERT (count == 1);
    if (count == 1)
        s_assert_same (&ticks [0], &got [0], 0, __LINE__);

    //  A batch of one symbol keeps the symbol topic
    CU_ASSERT (tm_tick_publish (pub, TM_TOPIC_MD, ticks, 3, &buf) == 0);
    count = s_recv_ticks (sub, "md.SIM.NIFTY-I|", got, TM_BATCH_MAX, __LINE__);
    CU_ASSERT (count == 3);
    if (count == 3)
        s_assert_same (&ticks [2], &got [2], 2, __LINE__);

    //  A batch of mixed symbols gets the stream prefix
    strcpy (ticks [1].symbol, "RELIANCE");
    CU_ASSERT (tm_tick_publish (pub, TM_TOPIC_MD, ticks, 3, &buf) == 0);
    count = s_recv_ticks (sub, "md.SIM.", got, TM_BATCH_MAX, __LINE__);
    CU_ASSERT (count == 3);
    if (count == 3)
        CU_ASSERT_STRING_EQUAL (got [1].symbol, "RELIANCE");

    //  Raw ticks of a provider, before the normalizer
    strcpy (ticks [0].stream, "SIM2");
    strcpy (ticks [0].provider, "SIM2");
    CU_ASSERT (tm_tick_publish (pub, TM_TOPIC_RAW, ticks, 1, &buf) == 0);
    count = s_recv_ticks (sub, "raw.SIM2.NIFTY-I|", got, TM_BATCH_MAX, __LINE__);
    CU_ASSERT (count == 1);
    if (count == 1)
        CU_ASSERT_STRING_EQUAL (got [0].provider, "SIM2");

    //  A subscriber of one symbol gets only that symbol
    zsock_t *one = zsock_new_sub (endpoint, "md.SIM.NIFTY-I|");
    CU_ASSERT_FATAL (one != NULL);
    strcpy (ticks [0].stream, "SIM");
    strcpy (ticks [1].symbol, "NIFTY-II");
    strcpy (ticks [1].stream, "SIM");
    //  No marker reaches a filtered subscriber, so publish until the subscription has joined
    int64_t deadline = tm_tap_deadline (5000);
    zmsg_t *msg = NULL;
    zpoller_t *poller = zpoller_new (one, NULL);
    while (!msg && zclock_mono () < deadline) {
        tm_tick_publish (pub, TM_TOPIC_MD, &ticks [1], 1, &buf);     //  NIFTY-II
        tm_tick_publish (pub, TM_TOPIC_MD, &ticks [0], 1, &buf);     //  NIFTY-I
        if (zpoller_wait (poller, 10) == one)
            msg = zmsg_recv (one);
    }
    CU_ASSERT_FATAL (msg != NULL);
    char *topic = zmsg_popstr (msg);
    CU_ASSERT_STRING_EQUAL (topic, "md.SIM.NIFTY-I|");
    free (topic);
    zmsg_destroy (&msg);
    zpoller_destroy (&poller);

    msgpack_sbuffer_destroy (&buf);
    zsock_destroy (&one);
    zsock_destroy (&sub);
    zsock_destroy (&pub);
}

//  ------------------------------------------------------------------------------------------
//  Status

static void
test_state_names (void)
{
    static const char *names [TM_STATE_COUNT] = {
        "CONNECTING", "CONNECTED", "STALE", "DISCONNECTED", "AUTH_FAILED"
    };
    for (int i = 0; i < TM_STATE_COUNT; i++) {
        CU_ASSERT_STRING_EQUAL (tm_state_name ((tm_state_t) i), names [i]);
        tm_state_t state = TM_STATE_COUNT;
        CU_ASSERT (tm_state_parse (names [i], &state) == 0);
        CU_ASSERT (state == (tm_state_t) i);
    }
    tm_state_t state = TM_STATE_CONNECTED;
    CU_ASSERT (tm_state_parse ("BOGUS", &state) == -1);
    CU_ASSERT (tm_state_parse ("connected", &state) == -1);
    CU_ASSERT (tm_state_parse ("", &state) == -1);
    CU_ASSERT (tm_state_parse ("CONNECTED ", &state) == -1);
    CU_ASSERT (state == TM_STATE_CONNECTED);
    CU_ASSERT (tm_state_name (TM_STATE_COUNT) != NULL);
    CU_ASSERT (tm_state_name ((tm_state_t) 99) != NULL);
}

static void
s_full_status (tm_status_t *st, char (*symbols) [TM_SYMBOL_MAX], uint32_t count)
{
    memset (st, 0, sizeof *st);
    strcpy (st->provider, "SIM2");
    strcpy (st->kind, "SIM");
    st->state = TM_STATE_AUTH_FAILED;
    strcpy (st->reason, "token expired at 06:00 \"IST\"");
    st->ts = 1767584700000000000LL;
    st->messages = 123456789012ULL;
    st->errors = 7;
    st->symbols_total = 2000;
    st->symbols_offset = 1000;
    st->symbols_count = count;
    st->symbols = symbols;
    for (uint32_t i = 0; i < count; i++)
        snprintf (symbols [i], TM_SYMBOL_MAX, i == 0 ? "NIFTY 50" : "SYM-%u", i);
}

static void
test_status_round_trip (void)
{
    char (*symbols) [TM_SYMBOL_MAX] = calloc (TM_STATUS_SYMBOLS_MAX, TM_SYMBOL_MAX);
    char (*got_symbols) [TM_SYMBOL_MAX] = calloc (TM_STATUS_SYMBOLS_MAX, TM_SYMBOL_MAX);
    assert (symbols && got_symbols);
    tm_status_t st, got;
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);

    const uint32_t counts [] = { 0, 1, 25, TM_STATUS_SYMBOLS_MAX };
    for (size_t c = 0; c < sizeof counts / sizeof counts [0]; c++) {
        s_full_status (&st, symbols, counts [c]);
        msgpack_sbuffer_clear (&body);
        CU_ASSERT_FATAL (tm_status_encode (&st, &body) == 0);
        memset (&got, 0x5a, sizeof got);
        if (tm_status_decode (body.data, body.size, &got, got_symbols) != 0) {
            s_fail_at ("status does not decode", counts [c], __LINE__);
            continue;
        }
        CU_ASSERT_STRING_EQUAL (got.provider, "SIM2");
        CU_ASSERT_STRING_EQUAL (got.kind, "SIM");
        CU_ASSERT (got.state == TM_STATE_AUTH_FAILED);
        CU_ASSERT_STRING_EQUAL (got.reason, st.reason);
        CU_ASSERT (got.ts == st.ts);
        CU_ASSERT (got.messages == st.messages);
        CU_ASSERT (got.errors == 7);
        CU_ASSERT (got.symbols_total == 2000);
        CU_ASSERT (got.symbols_offset == 1000);
        CU_ASSERT (got.symbols_count == counts [c]);
        CU_ASSERT (got.symbols == got_symbols);
        for (uint32_t i = 0; i < counts [c] && i < got.symbols_count; i++)
            if (strcmp (got_symbols [i], symbols [i]) != 0) {
                s_fail_at ("status symbol differs", i, __LINE__);
                break;
            }
        //  A tick decoder refuses a status body, and the cheap check says it is no tick
        CU_ASSERT (!tm_tick_body_is_tick (body.data, body.size));
    }

    //  Every state survives
    for (int s = 0; s < TM_STATE_COUNT; s++) {
        s_full_status (&st, symbols, 1);
        st.state = (tm_state_t) s;
        msgpack_sbuffer_clear (&body);
        tm_status_encode (&st, &body);
        CU_ASSERT (tm_status_decode (body.data, body.size, &got, got_symbols) == 0);
        CU_ASSERT (got.state == (tm_state_t) s);
    }

    //  With no room for symbols they are skipped, the rest still decodes
    s_full_status (&st, symbols, 25);
    msgpack_sbuffer_clear (&body);
    tm_status_encode (&st, &body);
    CU_ASSERT (tm_status_decode (body.data, body.size, &got, NULL) == 0);
    CU_ASSERT_STRING_EQUAL (got.provider, "SIM2");
    CU_ASSERT (got.symbols_total == 2000);
    CU_ASSERT (got.symbols_count == 25);
    CU_ASSERT (got.symbols == NULL);
    free (symbols);
    free (got_symbols);
    msgpack_sbuffer_destroy (&body);
}

static void
test_status_malformed (void)
{
    char (*symbols) [TM_SYMBOL_MAX] = calloc (TM_STATUS_SYMBOLS_MAX + 1, TM_SYMBOL_MAX);
    assert (symbols);
    tm_status_t st, got;
    msgpack_sbuffer body, bad;
    msgpack_sbuffer_init (&body);
    msgpack_sbuffer_init (&bad);
    s_full_status (&st, symbols, 3);
    CU_ASSERT_FATAL (tm_status_encode (&st, &body) == 0);

    //  Every prefix
    for (size_t size = 0; size < body.size; size++) {
        uint8_t *copy = malloc (size ? size : 1);
        assert (copy);
        memcpy (copy, body.data, size);
        if (tm_status_decode (copy, size, &got, symbols) != TM_MALFORMED)
            s_fail_at ("truncated status decoded", size, __LINE__);
        free (copy);
    }

    //  One key rewritten at a time
    char long_provider [TM_PROVIDER_MAX + 1], long_symbol [TM_SYMBOL_MAX + 1];
    char long_reason [TM_REASON_MAX + 1];
    memset (long_provider, 'P', TM_PROVIDER_MAX);
    long_provider [TM_PROVIDER_MAX] = 0;
    memset (long_symbol, 'S', TM_SYMBOL_MAX);
    long_symbol [TM_SYMBOL_MAX] = 0;
    memset (long_reason, 'R', TM_REASON_MAX);
    long_reason [TM_REASON_MAX] = 0;
    msgpack_object o_provider = s_obj_str (long_provider);
    msgpack_object o_reason = s_obj_str (long_reason);
    msgpack_object o_state = s_obj_str ("HAPPY");
    msgpack_object o_v2 = s_obj_uint (2);
    msgpack_object o_kind = s_obj_str ("tick");
    msgpack_object o_neg = s_obj_int (-5);

    //  1001 symbols, and a list holding one symbol too long
    msgpack_object *many = calloc (TM_STATUS_SYMBOLS_MAX + 1, sizeof *many);
    assert (many);
    for (int i = 0; i <= TM_STATUS_SYMBOLS_MAX; i++)
        many [i] = s_obj_str ("X");
    msgpack_object o_many;
    o_many.type = MSGPACK_OBJECT_ARRAY;
    o_many.via.array.size = TM_STATUS_SYMBOLS_MAX + 1;
    o_many.via.array.ptr = many;
    msgpack_object one_long [2] = { s_obj_str ("OK"), s_obj_str (long_symbol) };
    msgpack_object o_long;
    o_long.type = MSGPACK_OBJECT_ARRAY;
    o_long.via.array.size = 2;
    o_long.via.array.ptr = one_long;

    const struct {
        const char *what;
        const char *key;
        const msgpack_object *value;
    } cases [] = {
        { "provider of 16 characters", "provider", &o_provider },
        { "reason of 128 characters", "reason", &o_reason },
        { "unknown state", "state", &o_state },
        { "version 2", "v", &o_v2 },
        { "kind tick", "kind", &o_kind },
        { "no provider", "provider", NULL },
        { "no state", "state", NULL },
        { "negative messages", "messages", &o_neg },
        { "1001 symbols", "symbols", &o_many },
        { "a symbol of 32 characters", "symbols", &o_long },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        s_rewrite (&body, cases [i].key, cases [i].value, &bad);
        if (tm_status_decode (bad.data, bad.size, &got, symbols) != TM_MALFORMED)
            s_fail_at (cases [i].what, i, __LINE__);
    }
    //  Trailing bytes
    msgpack_sbuffer_clear (&bad);
    msgpack_sbuffer_write (&bad, body.data, body.size);
    msgpack_sbuffer_write (&bad, "\x01", 1);
    CU_ASSERT (tm_status_decode (bad.data, bad.size, &got, symbols) == TM_MALFORMED);
    //  A tick body is not a status
    msgpack_sbuffer_clear (&bad);
    s_encode_full (&bad);
    CU_ASSERT (tm_status_decode (bad.data, bad.size, &got, symbols) == TM_MALFORMED);
    free (many);
    free (symbols);
    msgpack_sbuffer_destroy (&body);
    msgpack_sbuffer_destroy (&bad);
}

static void
test_status_publish (void)
{
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://test-tick-%d-%d", getpid (), ++s_endpoint_seq);
    zsock_t *pub = zsock_new_pub (endpoint);
    zsock_t *sub = zsock_new_sub (endpoint, "");
    CU_ASSERT_FATAL (pub && sub);
    CU_ASSERT_FATAL (s_sync (pub, sub));
    char symbols [2][TM_SYMBOL_MAX];
    tm_status_t st;
    s_full_status (&st, symbols, 2);
    strcpy (symbols [1], "RELIANCE");
    st.state = TM_STATE_CONNECTED;
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_sbuffer_write (&buf, "junk", 4);
    CU_ASSERT (tm_status_publish (pub, &st, &buf) == 0);
    zmsg_t *msg = s_recv_data (sub, 2000);
    CU_ASSERT_FATAL (msg != NULL);
    CU_ASSERT (zmsg_size (msg) == 2);
    char *topic = zmsg_popstr (msg);
    CU_ASSERT_STRING_EQUAL (topic, "status.SIM2");
    zframe_t *body = zmsg_pop (msg);
    tm_status_t got;
    char got_symbols [TM_STATUS_SYMBOLS_MAX][TM_SYMBOL_MAX];
    CU_ASSERT (body && tm_status_decode (zframe_data (body), zframe_size (body), &got,
                                         got_symbols) == 0);
    CU_ASSERT (got.state == TM_STATE_CONNECTED);
    CU_ASSERT (got.symbols_count == 2);
    CU_ASSERT_STRING_EQUAL (got_symbols [1], "RELIANCE");
    free (topic);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    msgpack_sbuffer_destroy (&buf);
    zsock_destroy (&sub);
    zsock_destroy (&pub);
}

int
tm_tick_tests (void)
{
    CU_pSuite suite = CU_add_suite ("tick", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "round trip of one tick with every group", test_round_trip_one)
    ||  !CU_add_test (suite, "round trip of a batch of TM_BATCH_MAX", test_round_trip_batch)
    ||  !CU_add_test (suite, "absent groups stay absent", test_absent_groups)
    ||  !CU_add_test (suite, "truncated at every offset", test_truncated)
    ||  !CU_add_test (suite, "garbage and flipped bytes", test_garbage)
    ||  !CU_add_test (suite, "bad keys rejected, unknown keys skipped", test_rejects)
    ||  !CU_add_test (suite, "a bad depth level fails the body", test_bad_depth)
    ||  !CU_add_test (suite, "more than TM_BATCH_MAX ticks rejected", test_too_many)
    ||  !CU_add_test (suite, "MARKET_DATA JSON parses and matches", test_json)
    ||  !CU_add_test (suite, "MARKET_DATA JSON escapes and worst case", test_json_escapes)
    ||  !CU_add_test (suite, "MARKET_DATA JSON in a too small buffer", test_json_small_buffer)
    ||  !CU_add_test (suite, "bus topics", test_bus_topic)
    ||  !CU_add_test (suite, "actor start-up convention", test_actor_start)
    ||  !CU_add_test (suite, "publish on inproc PUB/SUB", test_publish)
    ||  !CU_add_test (suite, "status: state names", test_state_names)
    ||  !CU_add_test (suite, "status: round trip with symbols", test_status_round_trip)
    ||  !CU_add_test (suite, "status: malformed bodies", test_status_malformed)
    ||  !CU_add_test (suite, "status: publish", test_status_publish))
        return -1;
    return 0;
}
