//  status - provider status records and their msgpack codec
//
//  Each provider publishes a status on "status.<PROVIDER>" when its state changes and once a
//  second as a heartbeat, so a late subscriber learns it within a second. The status carries
//  the provider's symbol universe when the provider includes it (the simulator always does;
//  a connector with a large instrument list sends it in parts, each with its offset).
//  Body (schemas/status.schema.json):
//    {v, kind:"status", provider, provider_kind, state, reason, ts, messages, errors,
//     symbols_total, symbols_offset, symbols:[...]}

#ifndef TM_STATUS_H_INCLUDED
#define TM_STATUS_H_INCLUDED

typedef enum {
    TM_STATE_CONNECTING = 0,
    TM_STATE_CONNECTED,
    TM_STATE_STALE,
    TM_STATE_DISCONNECTED,
    TM_STATE_AUTH_FAILED,
    TM_STATE_COUNT
} tm_state_t;

//  Largest number of symbols one status message carries; more go in several messages.
#define TM_STATUS_SYMBOLS_MAX   1000

typedef struct {
    char provider [TM_PROVIDER_MAX];        //  Provider instance name ("SIM2")
    char kind [TM_PROVIDER_MAX];            //  Provider kind ("SIM", "ZERODHA", "TRUEDATA")
    tm_state_t state;                       //  Connection state
    char reason [TM_REASON_MAX];            //  Why, for AUTH_FAILED / DISCONNECTED; "" otherwise
    int64_t ts;                             //  When the state was last reported, ns
    uint64_t messages;                      //  Messages received from upstream so far
    uint64_t errors;                        //  Malformed or rejected upstream messages so far
    uint32_t symbols_total;                 //  Size of the provider's universe (0: not sent)
    uint32_t symbols_offset;                //  Index of symbols [0] in the universe
    uint32_t symbols_count;                 //  Entries in symbols
    char (*symbols) [TM_SYMBOL_MAX];        //  Borrowed by encode; owned by the caller on decode
} tm_status_t;

//  "CONNECTED" etc. Never NULL.
const char *
    tm_state_name (tm_state_t state);

//  Parse a state name. Returns 0 and sets *state, or -1.
int
    tm_state_parse (const char *name, tm_state_t *state);

//  Append the msgpack body of a status to buf. Returns 0 or -1.
int
    tm_status_encode (const tm_status_t *status, msgpack_sbuffer *buf);

//  Decode a status body. symbols must have room for TM_STATUS_SYMBOLS_MAX entries, or be
//  NULL to skip them (symbols_count still says how many the body carries). Returns 0 or
//  TM_MALFORMED.
int
    tm_status_decode (const void *data, size_t size, tm_status_t *status,
                      char (*symbols) [TM_SYMBOL_MAX]);

//  Publish [status.<provider>][body]. Returns 0, or -1 if the socket refused.
int
    tm_status_publish (zsock_t *pub, const tm_status_t *status, msgpack_sbuffer *buf);

//  A connector's side of its status. tm_status_report stamps ts, publishes, counts a refused
//  send in errors, and returns when the next heartbeat is due (monotonic ns, one second on).
//  tm_status_change sets state and reason and, when either changed, logs the change and
//  reports at once (a client must see a state change as soon as it happens); it returns
//  whether anything changed and updates *next_mono when it reported.
int64_t
    tm_status_report (zsock_t *pub, tm_status_t *st, msgpack_sbuffer *buf);
bool
    tm_status_change (zsock_t *pub, tm_status_t *st, msgpack_sbuffer *buf, tm_state_t state,
                      const char *reason, int64_t *next_mono);

//  Order updates travel on "order.<PROVIDER>" as {v:1, kind:"order", provider, ts, order},
//  order being the provider's own order object as JSON text, passed on as the provider sent it
//  (at most TM_ORDER_MAX bytes).
#define TM_ORDER_MAX    (64 * 1024)

//  Publish an order update. Returns 0, or -1 if the socket refused or json is too large.
int
    tm_order_publish (zsock_t *pub, const char *provider, const char *json, size_t len,
                      msgpack_sbuffer *buf);

//  Decode an order body: copies the provider name, points *json into data. Returns 0 or
//  TM_MALFORMED.
int
    tm_order_decode (const void *data, size_t size, char *provider, size_t provider_size,
                     const char **json, size_t *json_len);

#endif
