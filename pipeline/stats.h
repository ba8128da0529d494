//  stats - a provider's live figures, as the analytics actor publishes them each second
//
//  On "stats.<PROVIDER>" (TM_BUS_STATS). Body:
//    {v:1, kind:"stats", provider, ts, latency:[[[count,p50,p99,max] x 3 windows] x stages],
//     message_rate:[3], error_rate:[3], ticks, messages, errors, disconnects,
//     hist:[[TM_PROM_BUCKETS cumulative counts] x stages], hist_count:[stages],
//     hist_sum:[stages]}
//  Latencies in ns; windows are tm_window_seconds (1, 10, 60 s); the stages are
//  exchange-to-receive and receive-to-publish (the gateway adds publish-to-client).

#ifndef TM_STATS_H_INCLUDED
#define TM_STATS_H_INCLUDED

typedef enum {
    TM_STAGE_EXCHANGE_TO_RECEIVE = 0,   //  Exchange timestamp to the connector's receipt
    TM_STAGE_RECEIVE_TO_PUBLISH,        //  Receipt to the ALL stream's publication
    TM_STAGES
} tm_stage_t;

typedef struct {
    char provider [TM_PROVIDER_MAX];    //  Provider instance
    int64_t ts;                     //  When, by the injectable clock
    tm_quantiles_t latency [TM_STAGES][TM_WINDOWS];
    double message_rate [TM_WINDOWS];   //  Its ticks per second
    double error_rate [TM_WINDOWS];     //  Errors (decode errors, rejects, disconnects) per message
    uint64_t ticks;                 //  Since start: ticks that reached the pipeline
    uint64_t messages;              //  Upstream messages, as the connector counts them
    uint64_t errors;                //  Errors, disconnects included
    uint64_t disconnects;           //  Times it left CONNECTED
    uint64_t hist [TM_STAGES][TM_PROM_BUCKETS];     //  Since start, cumulative per bound
    uint64_t hist_count [TM_STAGES];
    double hist_sum [TM_STAGES];    //  Seconds
} tm_stats_t;

//  "exchange_to_receive", "receive_to_publish"
const char *
    tm_stage_name (tm_stage_t stage);

//  Append the body to buf. Returns 0.
int
    tm_stats_encode (const tm_stats_t *stats, msgpack_sbuffer *buf);

//  Decode a body. Returns 0 or TM_MALFORMED (any array not of its exact length, a missing
//  provider, a negative or non-finite figure).
int
    tm_stats_decode (const void *data, size_t size, tm_stats_t *stats);

//  The public feed's heartbeat: {v:1, kind:"heartbeat", ts, seq, published, dropped}
//  (schemas/heartbeat.schema.json), on "hb." of the feed and of TM_BUS_FEED
typedef struct {
    int64_t ts;                     //  When, by the injectable clock
    uint64_t seq;                   //  Heartbeats sent
    uint64_t published;             //  Feed messages sent since start
    uint64_t dropped;               //  Refused at a subscriber's high-water mark
} tm_heartbeat_t;

//  Append the body to buf. Returns 0.
int
    tm_heartbeat_encode (const tm_heartbeat_t *hb, msgpack_sbuffer *buf);

//  Decode a body. Returns 0 or TM_MALFORMED.
int
    tm_heartbeat_decode (const void *data, size_t size, tm_heartbeat_t *hb);

//  An edge gateway's link to its core's feed, once a second on "upstream." of TM_BUS_FEED:
//  {v:1, kind:"upstream", ts, state, subscriptions, messages, snapshots, restarts, stale,
//   malformed}
typedef enum {
    TM_UPSTREAM_CONNECTING = 0,     //  No heartbeat from the core yet
    TM_UPSTREAM_LIVE,               //  Its heartbeat comes
    TM_UPSTREAM_SILENT,             //  Its heartbeat stopped (a dead core or a cut link)
    TM_UPSTREAM_STATES
} tm_upstream_state_t;

typedef struct {
    int64_t ts;                     //  When, by the injectable clock
    tm_upstream_state_t state;
    uint64_t subscriptions;         //  Symbol topics subscribed on the core's feed now
    uint64_t messages;              //  Received from the core since start
    uint64_t snapshots;             //  Snapshot requests sent
    uint64_t restarts;              //  Times the core restarted or came back (all snapshotted again)
    uint64_t stale;                 //  Snapshot ticks older than the live stream, not passed on
    uint64_t malformed;             //  Messages from the core that did not decode
} tm_upstream_t;

//  "connecting", "live", "silent". Never NULL.
const char *
    tm_upstream_state_name (tm_upstream_state_t state);

//  Append the body to buf. Returns 0.
int
    tm_upstream_encode (const tm_upstream_t *up, msgpack_sbuffer *buf);

//  Decode a body. Returns 0 or TM_MALFORMED.
int
    tm_upstream_decode (const void *data, size_t size, tm_upstream_t *up);

#endif
