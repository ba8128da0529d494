//  status - provider status records and their msgpack codec (see status.h)

#include "tickmux.h"

static const char *s_state_names [TM_STATE_COUNT] = {
    "CONNECTING", "CONNECTED", "STALE", "DISCONNECTED", "AUTH_FAILED"
};

const char *
tm_state_name (tm_state_t state)
{
    return (state >= 0 && state < TM_STATE_COUNT) ? s_state_names [state] : "UNKNOWN";
}

int
tm_state_parse (const char *name, tm_state_t *state)
{
    for (int i = 0; name && i < TM_STATE_COUNT; i++)
        if (strcmp (name, s_state_names [i]) == 0) {
            *state = (tm_state_t) i;
            return 0;
        }
    return -1;
}

int
tm_status_encode (const tm_status_t *st, msgpack_sbuffer *buf)
{
    assert (st && buf);
    assert (st->symbols_count <= TM_STATUS_SYMBOLS_MAX);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 12);
    TM_MP_PACK_KEY (&pk, "v");                msgpack_pack_uint8 (&pk, 1);
    TM_MP_PACK_KEY (&pk, "kind");             TM_MP_PACK_KEY (&pk, "status");
    TM_MP_PACK_KEY (&pk, "provider");         tm_mp_pack_str (&pk, st->provider);
    TM_MP_PACK_KEY (&pk, "provider_kind");    tm_mp_pack_str (&pk, st->kind);
    TM_MP_PACK_KEY (&pk, "state");            tm_mp_pack_str (&pk, tm_state_name (st->state));
    TM_MP_PACK_KEY (&pk, "reason");           tm_mp_pack_str (&pk, st->reason);
    TM_MP_PACK_KEY (&pk, "ts");               msgpack_pack_int64 (&pk, st->ts);
    TM_MP_PACK_KEY (&pk, "messages");         msgpack_pack_uint64 (&pk, st->messages);
    TM_MP_PACK_KEY (&pk, "errors");           msgpack_pack_uint64 (&pk, st->errors);
    TM_MP_PACK_KEY (&pk, "symbols_total");    msgpack_pack_uint32 (&pk, st->symbols_total);
    TM_MP_PACK_KEY (&pk, "symbols_offset");   msgpack_pack_uint32 (&pk, st->symbols_offset);
    TM_MP_PACK_KEY (&pk, "symbols");
    msgpack_pack_array (&pk, st->symbols_count);
    for (uint32_t i = 0; i < st->symbols_count; i++)
        tm_mp_pack_str (&pk, st->symbols [i]);
    return 0;
}

int
tm_status_decode (const void *data, size_t size, tm_status_t *st,
                  char (*symbols) [TM_SYMBOL_MAX])
{
    assert (st);
    memset (st, 0, sizeof *st);
    st->symbols = symbols;
    tm_mp_reader_t r;
    uint32_t pairs, seen = 0;
    if (tm_mp_record_open (&r, data, size, &pairs))
        return TM_MALFORMED;
    for (uint32_t i = 0; i < pairs && !r.failed; i++) {
        const char *key;
        uint32_t len;
        if (tm_mp_read_str (&r, &key, &len))
            return TM_MALFORMED;
        int common = tm_mp_record_key (&r, key, len, "status", &seen);
        if (common < 0)
            return TM_MALFORMED;
        if (common)
            continue;
        if (TM_MP_KEY_IS ("provider")) {
            tm_mp_read_cstr (&r, st->provider, sizeof st->provider);
            seen |= 4;
        }
        else
        if (TM_MP_KEY_IS ("state")) {
            char name [24];
            if (tm_mp_read_cstr (&r, name, sizeof name) || tm_state_parse (name, &st->state))
                return TM_MALFORMED;
            seen |= 8;
        }
        else
        if (TM_MP_KEY_IS ("provider_kind"))   tm_mp_read_cstr (&r, st->kind, sizeof st->kind);
        else
        if (TM_MP_KEY_IS ("reason"))          tm_mp_read_cstr (&r, st->reason, sizeof st->reason);
        else
        if (TM_MP_KEY_IS ("ts"))              tm_mp_read_int (&r, &st->ts);
        else
        if (TM_MP_KEY_IS ("messages"))        tm_mp_read_uint (&r, &st->messages);
        else
        if (TM_MP_KEY_IS ("errors"))          tm_mp_read_uint (&r, &st->errors);
        else
        if (TM_MP_KEY_IS ("symbols_total") || TM_MP_KEY_IS ("symbols_offset")) {
            uint64_t v;
            if (tm_mp_read_uint (&r, &v) || v > TM_UNIVERSE_MAX)
                return TM_MALFORMED;
            if (TM_MP_KEY_IS ("symbols_total"))
                st->symbols_total = (uint32_t) v;
            else
                st->symbols_offset = (uint32_t) v;
        }
        else
        if (TM_MP_KEY_IS ("symbols")) {
            uint32_t n;
            if (tm_mp_read_array (&r, &n) || n > TM_STATUS_SYMBOLS_MAX)
                return TM_MALFORMED;
            for (uint32_t k = 0; k < n; k++) {
                if (symbols) {
                    if (tm_mp_read_cstr (&r, symbols [k], TM_SYMBOL_MAX) || !symbols [k][0])
                        return TM_MALFORMED;
                }
                else
                if (tm_mp_skip (&r))
                    return TM_MALFORMED;
            }
            st->symbols_count = n;
        }
        else
            tm_mp_skip (&r);
    }
    if (tm_mp_finish (&r) || seen != 15 || !st->provider [0])
        return TM_MALFORMED;
    if (st->symbols_offset + (uint64_t) st->symbols_count > TM_UNIVERSE_MAX)
        return TM_MALFORMED;
    return 0;
}

int
tm_status_publish (zsock_t *pub, const tm_status_t *st, msgpack_sbuffer *buf)
{
    char topic [TM_TOPIC_MAX];
    snprintf (topic, sizeof topic, "%s%s", TM_TOPIC_STATUS, st->provider);
    msgpack_sbuffer_clear (buf);
    tm_status_encode (st, buf);
    return tm_bus_send (pub, topic, buf->data, buf->size);
}

int
tm_order_publish (zsock_t *pub, const char *provider, const char *json, size_t len,
                  msgpack_sbuffer *buf)
{
    if (len > TM_ORDER_MAX)
        return -1;
    msgpack_sbuffer_clear (buf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 5);
    TM_MP_PACK_KEY (&pk, "v");                msgpack_pack_uint8 (&pk, 1);
    TM_MP_PACK_KEY (&pk, "kind");             TM_MP_PACK_KEY (&pk, "order");
    TM_MP_PACK_KEY (&pk, "provider");         tm_mp_pack_str (&pk, provider);
    TM_MP_PACK_KEY (&pk, "ts");               msgpack_pack_int64 (&pk, tm_clock_now_ns ());
    TM_MP_PACK_KEY (&pk, "order");
    msgpack_pack_str (&pk, len);
    msgpack_pack_str_body (&pk, json, len);
    char topic [TM_TOPIC_MAX];
    snprintf (topic, sizeof topic, "%s%s", TM_TOPIC_ORDER, provider);
    return tm_bus_send (pub, topic, buf->data, buf->size);
}

int
tm_order_decode (const void *data, size_t size, char *provider, size_t provider_size,
                 const char **json, size_t *json_len)
{
    if (!data || size == 0 || size > TM_ORDER_MAX + 1024)
        return TM_MALFORMED;
    tm_mp_reader_t r;
    tm_mp_reader_init (&r, data, size);
    uint32_t pairs;
    if (tm_mp_read_map (&r, &pairs))
        return TM_MALFORMED;
    uint32_t seen = 0;
    for (uint32_t i = 0; i < pairs && !r.failed; i++) {
        const char *key;
        uint32_t len;
        if (tm_mp_read_str (&r, &key, &len))
            return TM_MALFORMED;
        if (TM_MP_KEY_IS ("kind")) {
            char kind [8];
            if (tm_mp_read_cstr (&r, kind, sizeof kind) || strcmp (kind, "order"))
                return TM_MALFORMED;
            seen |= 1;
        }
        else
        if (TM_MP_KEY_IS ("provider")) {
            tm_mp_read_cstr (&r, provider, provider_size);
            seen |= 2;
        }
        else
        if (TM_MP_KEY_IS ("order")) {
            uint32_t olen;
            if (tm_mp_read_str (&r, json, &olen))
                return TM_MALFORMED;
            *json_len = olen;
            seen |= 4;
        }
        else
            tm_mp_skip (&r);
    }
    return (tm_mp_finish (&r) == 0 && seen == 7) ? 0 : TM_MALFORMED;
}

int64_t
tm_status_report (zsock_t *pub, tm_status_t *st, msgpack_sbuffer *buf)
{
    st->ts = tm_clock_now_ns ();
    if (tm_status_publish (pub, st, buf))
        st->errors++;
    return tm_clock_mono_ns () + 1000000000LL;
}

bool
tm_status_change (zsock_t *pub, tm_status_t *st, msgpack_sbuffer *buf, tm_state_t state,
                  const char *reason, int64_t *next_mono)
{
    bool changed = st->state != state || strcmp (st->reason, reason);
    st->state = state;
    snprintf (st->reason, sizeof st->reason, "%s", reason);
    if (changed) {
        zsys_info ("provider %s: state=%s%s%s", st->provider, tm_state_name (state),
                   reason [0] ? " reason=" : "", reason);
        *next_mono = tm_status_report (pub, st, buf);
    }
    return changed;
}
