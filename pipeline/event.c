//  event - FAILOVER and GAP records and their codec (see event.h)

#include "tickmux.h"

int
tm_event_encode (const tm_failover_event_t *event, int64_t ts, msgpack_sbuffer *buf)
{
    assert (event && buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 9);
    TM_MP_PACK_KEY (&pk, "v");            msgpack_pack_uint8 (&pk, 1);
    TM_MP_PACK_KEY (&pk, "kind");
    tm_mp_pack_str (&pk, event->kind == TM_FAILOVER_EVENT_GAP ? "gap" : "failover");
    TM_MP_PACK_KEY (&pk, "symbol");       tm_mp_pack_str (&pk, event->symbol);
    TM_MP_PACK_KEY (&pk, "from");         tm_mp_pack_str (&pk, event->from);
    TM_MP_PACK_KEY (&pk, "to");           tm_mp_pack_str (&pk, event->to);
    TM_MP_PACK_KEY (&pk, "reason");       tm_mp_pack_str (&pk, event->reason);
    TM_MP_PACK_KEY (&pk, "ts");           msgpack_pack_int64 (&pk, ts);
    TM_MP_PACK_KEY (&pk, "since_ts");     msgpack_pack_int64 (&pk, event->since_ts);
    TM_MP_PACK_KEY (&pk, "until_ts");     msgpack_pack_int64 (&pk, event->until_ts);
    return 0;
}

int
tm_event_decode (const void *data, size_t size, tm_failover_event_t *event, int64_t *ts)
{
    assert (event && ts);
    memset (event, 0, sizeof *event);
    *ts = 0;
    tm_mp_reader_t r;
    uint32_t pairs, seen = 0;
    if (tm_mp_record_open (&r, data, size, &pairs))
        return TM_MALFORMED;
    for (uint32_t i = 0; i < pairs && !r.failed; i++) {
        const char *key;
        uint32_t len;
        if (tm_mp_read_str (&r, &key, &len))
            return TM_MALFORMED;
        //  Two kinds: "kind" is read below
        int common = tm_mp_record_key (&r, key, len, NULL, &seen);
        if (common < 0)
            return TM_MALFORMED;
        if (common)
            continue;
        if (TM_MP_KEY_IS ("kind")) {
            char kind [16];
            if (tm_mp_read_cstr (&r, kind, sizeof kind))
                return TM_MALFORMED;
            event->kind = streq (kind, "failover") ? TM_FAILOVER_EVENT_SWITCH
                        : streq (kind, "gap") ? TM_FAILOVER_EVENT_GAP : 0;
            if (!event->kind)
                return TM_MALFORMED;
        }
        else
        if (TM_MP_KEY_IS ("symbol"))      tm_mp_read_cstr (&r, event->symbol, sizeof event->symbol);
        else
        if (TM_MP_KEY_IS ("from"))        tm_mp_read_cstr (&r, event->from, sizeof event->from);
        else
        if (TM_MP_KEY_IS ("to"))          tm_mp_read_cstr (&r, event->to, sizeof event->to);
        else
        if (TM_MP_KEY_IS ("reason"))      tm_mp_read_cstr (&r, event->reason, sizeof event->reason);
        else
        if (TM_MP_KEY_IS ("ts"))          tm_mp_read_int (&r, ts);
        else
        if (TM_MP_KEY_IS ("since_ts"))    tm_mp_read_int (&r, &event->since_ts);
        else
        if (TM_MP_KEY_IS ("until_ts"))    tm_mp_read_int (&r, &event->until_ts);
        else
            tm_mp_skip (&r);
    }
    if (tm_mp_finish (&r) || !(seen & 1) || !event->kind || !event->symbol [0] || !event->to [0])
        return TM_MALFORMED;
    return 0;
}

int
tm_event_publish (zsock_t *pub, const tm_failover_event_t *event, int64_t ts,
                  msgpack_sbuffer *buf)
{
    char topic [TM_TOPIC_MAX];
    if (tm_bus_topic (topic, sizeof topic, TM_TOPIC_EVENT, TM_STREAM_ALL, event->symbol) < 0)
        return -1;
    msgpack_sbuffer_clear (buf);
    tm_event_encode (event, ts, buf);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, topic);
    zmsg_addmem (msg, buf->data, buf->size);
    if (zmsg_send (&msg, pub) == -1) {
        zmsg_destroy (&msg);
        return -1;
    }
    return 0;
}
