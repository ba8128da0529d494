//  stats - a provider's live figures and their codec (see stats.h)

#include "tickmux.h"

const char *
tm_stage_name (tm_stage_t stage)
{
    return stage == TM_STAGE_EXCHANGE_TO_RECEIVE ? "exchange_to_receive"
         : stage == TM_STAGE_RECEIVE_TO_PUBLISH ? "receive_to_publish" : "unknown";
}

static void
s_pack_doubles (msgpack_packer *pk, const double *v, size_t n)
{
    msgpack_pack_array (pk, n);
    for (size_t i = 0; i < n; i++)
        msgpack_pack_double (pk, v [i]);
}

int
tm_stats_encode (const tm_stats_t *st, msgpack_sbuffer *buf)
{
    assert (st && buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 14);
    TM_MP_PACK_KEY (&pk, "v");            msgpack_pack_uint8 (&pk, 1);
    TM_MP_PACK_KEY (&pk, "kind");         TM_MP_PACK_KEY (&pk, "stats");
    TM_MP_PACK_KEY (&pk, "provider");     tm_mp_pack_str (&pk, st->provider);
    TM_MP_PACK_KEY (&pk, "ts");           msgpack_pack_int64 (&pk, st->ts);
    TM_MP_PACK_KEY (&pk, "latency");
    msgpack_pack_array (&pk, TM_STAGES);
    for (int s = 0; s < TM_STAGES; s++) {
        msgpack_pack_array (&pk, TM_WINDOWS);
        for (int w = 0; w < TM_WINDOWS; w++) {
            const tm_quantiles_t *q = &st->latency [s][w];
            msgpack_pack_array (&pk, 4);
            msgpack_pack_uint64 (&pk, q->count);
            msgpack_pack_int64 (&pk, q->p50);
            msgpack_pack_int64 (&pk, q->p99);
            msgpack_pack_int64 (&pk, q->max);
        }
    }
    TM_MP_PACK_KEY (&pk, "message_rate"); s_pack_doubles (&pk, st->message_rate, TM_WINDOWS);
    TM_MP_PACK_KEY (&pk, "error_rate");   s_pack_doubles (&pk, st->error_rate, TM_WINDOWS);
    TM_MP_PACK_KEY (&pk, "ticks");        msgpack_pack_uint64 (&pk, st->ticks);
    TM_MP_PACK_KEY (&pk, "messages");     msgpack_pack_uint64 (&pk, st->messages);
    TM_MP_PACK_KEY (&pk, "errors");       msgpack_pack_uint64 (&pk, st->errors);
    TM_MP_PACK_KEY (&pk, "disconnects");  msgpack_pack_uint64 (&pk, st->disconnects);
    TM_MP_PACK_KEY (&pk, "hist");
    msgpack_pack_array (&pk, TM_STAGES);
    for (int s = 0; s < TM_STAGES; s++) {
        msgpack_pack_array (&pk, TM_PROM_BUCKETS);
        for (int b = 0; b < TM_PROM_BUCKETS; b++)
            msgpack_pack_uint64 (&pk, st->hist [s][b]);
    }
    TM_MP_PACK_KEY (&pk, "hist_count");
    msgpack_pack_array (&pk, TM_STAGES);
    for (int s = 0; s < TM_STAGES; s++)
        msgpack_pack_uint64 (&pk, st->hist_count [s]);
    TM_MP_PACK_KEY (&pk, "hist_sum");     s_pack_doubles (&pk, st->hist_sum, TM_STAGES);
    return 0;
}

//  An array of exactly n entries
static bool
s_array (tm_mp_reader_t *r, uint32_t n)
{
    uint32_t count;
    return tm_mp_read_array (r, &count) == 0 && count == n;
}

static bool
s_doubles (tm_mp_reader_t *r, double *out, uint32_t n)
{
    if (!s_array (r, n))
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (tm_mp_read_double (r, &out [i]) || !isfinite (out [i]) || out [i] < 0)
            return false;
    return true;
}

static bool
s_nonneg (tm_mp_reader_t *r, int64_t *out)
{
    return tm_mp_read_int (r, out) == 0 && *out >= 0;
}

int
tm_stats_decode (const void *data, size_t size, tm_stats_t *st)
{
    assert (st);
    memset (st, 0, sizeof *st);
    tm_mp_reader_t r;
    uint32_t pairs, seen = 0;
    if (tm_mp_record_open (&r, data, size, &pairs))
        return TM_MALFORMED;
    for (uint32_t i = 0; i < pairs && !r.failed; i++) {
        const char *key;
        uint32_t len;
        bool ok = true;
        if (tm_mp_read_str (&r, &key, &len))
            return TM_MALFORMED;
        int common = tm_mp_record_key (&r, key, len, "stats", &seen);
        if (common)
            ok = common == 1;
        else
        if (TM_MP_KEY_IS ("provider"))
            ok = tm_mp_read_cstr (&r, st->provider, sizeof st->provider) == 0;
        else
        if (TM_MP_KEY_IS ("ts"))
            ok = tm_mp_read_int (&r, &st->ts) == 0;
        else
        if (TM_MP_KEY_IS ("latency")) {
            ok = s_array (&r, TM_STAGES);
            for (int s = 0; s < TM_STAGES && ok; s++) {
                ok = s_array (&r, TM_WINDOWS);
                for (int w = 0; w < TM_WINDOWS && ok; w++) {
                    tm_quantiles_t *q = &st->latency [s][w];
                    ok = s_array (&r, 4) && tm_mp_read_uint (&r, &q->count) == 0
                      && s_nonneg (&r, &q->p50) && s_nonneg (&r, &q->p99)
                      && s_nonneg (&r, &q->max);
                }
            }
        }
        else
        if (TM_MP_KEY_IS ("message_rate"))
            ok = s_doubles (&r, st->message_rate, TM_WINDOWS);
        else
        if (TM_MP_KEY_IS ("error_rate"))
            ok = s_doubles (&r, st->error_rate, TM_WINDOWS);
        else
        if (TM_MP_KEY_IS ("ticks"))           ok = tm_mp_read_uint (&r, &st->ticks) == 0;
        else
        if (TM_MP_KEY_IS ("messages"))        ok = tm_mp_read_uint (&r, &st->messages) == 0;
        else
        if (TM_MP_KEY_IS ("errors"))          ok = tm_mp_read_uint (&r, &st->errors) == 0;
        else
        if (TM_MP_KEY_IS ("disconnects"))     ok = tm_mp_read_uint (&r, &st->disconnects) == 0;
        else
        if (TM_MP_KEY_IS ("hist")) {
            ok = s_array (&r, TM_STAGES);
            for (int s = 0; s < TM_STAGES && ok; s++) {
                ok = s_array (&r, TM_PROM_BUCKETS);
                for (int b = 0; b < TM_PROM_BUCKETS && ok; b++)
                    ok = tm_mp_read_uint (&r, &st->hist [s][b]) == 0;
            }
        }
        else
        if (TM_MP_KEY_IS ("hist_count")) {
            ok = s_array (&r, TM_STAGES);
            for (int s = 0; s < TM_STAGES && ok; s++)
                ok = tm_mp_read_uint (&r, &st->hist_count [s]) == 0;
        }
        else
        if (TM_MP_KEY_IS ("hist_sum"))
            ok = s_doubles (&r, st->hist_sum, TM_STAGES);
        else
            ok = tm_mp_skip (&r) == 0;
        if (!ok)
            return TM_MALFORMED;
    }
    if (tm_mp_finish (&r) || seen != 3 || !st->provider [0])
        return TM_MALFORMED;
    return 0;
}

//  The heartbeat and an edge's upstream figures are flat records: v, kind, ts, an optional
//  state name, then unsigned counters, one codec for both
typedef struct {
    const char *key;
    uint64_t *value;
} s_counter_t;

static void
s_flat_encode (msgpack_sbuffer *buf, const char *kind, int64_t ts, const char *state,
               const s_counter_t *counters, size_t count)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, (uint32_t) (3 + (state ? 1 : 0) + count));
    TM_MP_PACK_KEY (&pk, "v");      msgpack_pack_uint8 (&pk, 1);
    TM_MP_PACK_KEY (&pk, "kind");   tm_mp_pack_str (&pk, kind);
    TM_MP_PACK_KEY (&pk, "ts");     msgpack_pack_int64 (&pk, ts);
    if (state) {
        TM_MP_PACK_KEY (&pk, "state");
        tm_mp_pack_str (&pk, state);
    }
    for (size_t i = 0; i < count; i++) {
        tm_mp_pack_str (&pk, counters [i].key);
        msgpack_pack_uint64 (&pk, *counters [i].value);
    }
}

//  state NULL: the record has none; else it must carry one that fits state_size
static int
s_flat_decode (const void *data, size_t size, const char *kind, int64_t *ts, char *state,
               size_t state_size, const s_counter_t *counters, size_t count)
{
    tm_mp_reader_t r;
    uint32_t pairs, seen = 0;
    if (tm_mp_record_open (&r, data, size, &pairs))
        return TM_MALFORMED;
    for (uint32_t i = 0; i < pairs && !r.failed; i++) {
        const char *key;
        uint32_t len;
        bool ok = true;
        if (tm_mp_read_str (&r, &key, &len))
            return TM_MALFORMED;
        int common = tm_mp_record_key (&r, key, len, kind, &seen);
        size_t c = 0;
        while (c < count && !(len == strlen (counters [c].key)
                              && memcmp (key, counters [c].key, len) == 0))
            c++;
        if (common)
            ok = common == 1;
        else
        if (TM_MP_KEY_IS ("ts"))
            ok = tm_mp_read_int (&r, ts) == 0;
        else
        if (TM_MP_KEY_IS ("state") && state) {
            ok = tm_mp_read_cstr (&r, state, state_size) == 0;
            seen |= 4;
        }
        else
        if (c < count)
            ok = tm_mp_read_uint (&r, counters [c].value) == 0;
        else
            ok = tm_mp_skip (&r) == 0;
        if (!ok)
            return TM_MALFORMED;
    }
    return tm_mp_finish (&r) || seen != (state ? 7u : 3u) ? TM_MALFORMED : 0;
}

int
tm_heartbeat_encode (const tm_heartbeat_t *hb, msgpack_sbuffer *buf)
{
    assert (hb && buf);
    tm_heartbeat_t copy = *hb;
    const s_counter_t counters [] = {
        { "seq", &copy.seq }, { "published", &copy.published }, { "dropped", &copy.dropped }
    };
    s_flat_encode (buf, "heartbeat", hb->ts, NULL, counters, 3);
    return 0;
}

int
tm_heartbeat_decode (const void *data, size_t size, tm_heartbeat_t *hb)
{
    assert (hb);
    memset (hb, 0, sizeof *hb);
    const s_counter_t counters [] = {
        { "seq", &hb->seq }, { "published", &hb->published }, { "dropped", &hb->dropped }
    };
    return s_flat_decode (data, size, "heartbeat", &hb->ts, NULL, 0, counters, 3);
}

static const char *s_upstream_states [TM_UPSTREAM_STATES] = { "connecting", "live", "silent" };

const char *
tm_upstream_state_name (tm_upstream_state_t state)
{
    return state >= 0 && state < TM_UPSTREAM_STATES ? s_upstream_states [state] : "unknown";
}

//  The upstream figures' counters, in their order on the wire
#define S_UPSTREAM_COUNTERS(up) { \
    { "subscriptions", &(up)->subscriptions }, { "messages", &(up)->messages }, \
    { "snapshots", &(up)->snapshots }, { "restarts", &(up)->restarts }, \
    { "stale", &(up)->stale }, { "malformed", &(up)->malformed } }

int
tm_upstream_encode (const tm_upstream_t *up, msgpack_sbuffer *buf)
{
    assert (up && buf);
    tm_upstream_t copy = *up;
    const s_counter_t counters [] = S_UPSTREAM_COUNTERS (&copy);
    s_flat_encode (buf, "upstream", up->ts, tm_upstream_state_name (up->state), counters, 6);
    return 0;
}

int
tm_upstream_decode (const void *data, size_t size, tm_upstream_t *up)
{
    assert (up);
    memset (up, 0, sizeof *up);
    const s_counter_t counters [] = S_UPSTREAM_COUNTERS (up);
    char name [16];
    if (s_flat_decode (data, size, "upstream", &up->ts, name, sizeof name, counters, 6))
        return TM_MALFORMED;
    int state = 0;
    while (state < TM_UPSTREAM_STATES && strcmp (name, s_upstream_states [state]))
        state++;
    if (state == TM_UPSTREAM_STATES)
        return TM_MALFORMED;
    up->state = (tm_upstream_state_t) state;
    return 0;
}
