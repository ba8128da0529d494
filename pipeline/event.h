//  event - FAILOVER and GAP records of the ALL stream and their msgpack codec
//
//  The arbiter publishes one on "event.ALL.<symbol>|" whenever a symbol's ALL stream changes
//  provider, or loses ticks it could not replay. Body:
//    {v:1, kind:"failover"|"gap", symbol, from, to, reason, ts, since_ts, until_ts}
//  (ts: when it happened, by the injectable clock; since/until: GAP only, 0 otherwise).

#ifndef TM_EVENT_H_INCLUDED
#define TM_EVENT_H_INCLUDED

//  Append the body of an event to buf. Returns 0.
int
    tm_event_encode (const tm_failover_event_t *event, int64_t ts, msgpack_sbuffer *buf);

//  Decode a body. Returns 0 or TM_MALFORMED (wrong version or kind, a field too long, a
//  missing symbol or to).
int
    tm_event_decode (const void *data, size_t size, tm_failover_event_t *event, int64_t *ts);

//  Publish [event.ALL.<symbol>|][body]. Returns 0, or -1 if the socket refused.
int
    tm_event_publish (zsock_t *pub, const tm_failover_event_t *event, int64_t ts,
                      msgpack_sbuffer *buf);

#endif
