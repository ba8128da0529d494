//  http - the gateway's HTTP answers: /ws/health, /ws/stats, /metrics
//
//  A plain module (no lws, no sockets): the gateway fills a tm_http_stats_t snapshot of its
//  figures and asks for the answer to a path, so the formats are tested without a server.

#ifndef TM_HTTP_H_INCLUDED
#define TM_HTTP_H_INCLUDED

#include <jansson.h>

typedef struct {
    const char *name;               //  Provider instance (borrowed)
    const char *kind;               //  Its kind (borrowed)
    tm_state_t state;               //  Last reported state
    const char *reason;             //  With the state (borrowed)
    int64_t status_age_ms;          //  Since its last status, or -1 if none yet
    uint64_t messages_in;           //  Its ticks that reached the gateway
    uint64_t messages_out;          //  Frames of its ticks sent to clients
    uint64_t errors;                //  As the provider reports
    const tm_stats_t *analytics;    //  Its last figures from the analytics actor, or NULL
    tm_quantiles_t to_client [TM_WINDOWS];  //  Publish-to-client latency, per window
    uint64_t to_client_hist [TM_PROM_BUCKETS];  //  Since start, cumulative per bound
    uint64_t to_client_count;       //  Samples since start
    double to_client_sum;           //  Their sum, s
} tm_http_provider_t;

//  What the gateway refused, by reason: connections (no or a wrong token, the limits on
//  connections) and messages (past a limit, or not allowed by the client's token)
typedef enum {
    TM_REJECT_NO_TOKEN = 0,
    TM_REJECT_BAD_TOKEN,
    TM_REJECT_MAX_CONNECTIONS,
    TM_REJECT_MAX_PER_IP,
    TM_REJECT_MAX_RATE,
    TM_REJECT_MAX_MESSAGE,
    TM_REJECT_MAX_SUBSCRIPTIONS,
    TM_REJECT_NOT_ALLOWED,
    TM_REJECT_STOPPING,
    TM_HTTP_REJECTS
} tm_reject_t;

//  "no_token", "bad_token", "max_connections", ... as /metrics and /ws/stats name them
const char *
    tm_http_reject_name (tm_reject_t reason);

typedef struct {
    uint64_t clients;               //  Connected WebSocket clients
    uint64_t subscriptions;         //  Held by all of them
    uint64_t uptime_s;              //  Since the gateway started
    uint64_t dropped_frames;        //  Market data dropped from slow clients' queues
    uint64_t conflated_frames;      //  Of which: replaced in a queue by a newer tick of a symbol
    uint64_t slow_disconnects;      //  Clients closed as slow consumers (4008)
    uint64_t bus_gaps;              //  Ticks missing on the internal bus
    uint64_t bus_malformed;         //  Internal messages that did not decode
    bool feed;                      //  The ZeroMQ feed runs (and has sent a heartbeat)
    uint64_t feed_published;        //  Its messages sent, as of its last heartbeat
    uint64_t feed_dropped;          //  Refused at a subscriber's high-water mark
    const char *role;               //  "core" or "gateway" (borrowed)
    bool upstream;                  //  An edge: upstream holds its link's last figures
    const char *upstream_endpoint;  //  The core's feed (borrowed)
    tm_upstream_t upstream_figures;
    uint64_t rejected [TM_HTTP_REJECTS];    //  By reason
    uint64_t failovers;             //  FAILOVER events seen
    uint64_t gaps;                  //  GAP events seen
    size_t providers_count;         //  Entries in providers
    tm_http_provider_t providers [TM_PROVIDERS_MAX];
} tm_http_stats_t;

//  {"latency":{P:{stage:{"1s":{count,p50_ms,p99_ms,max_ms},"10s":..,"60s":..}}},
//   "message_rate":{P:{"1s":..}}, "error_rate":{P:{"1s":..}}}: the live figures per provider,
//  as ANALYTICS carries them and /ws/stats shows them. Caller owns return value.
json_t *
    tm_http_analytics (const tm_http_stats_t *stats);

//  Largest file served from the www directory
#define TM_HTTP_FILE_MAX    (1024 * 1024)

//  The answer to GET path: /ws/health, /ws/stats, /metrics, or a file of the dashboard from
//  www_dir ("/" is index.html; only plain names like "/dashboard.js" with a known extension,
//  never a subdirectory or "..", so nothing outside www_dir can be read). Sets *status
//  (200, 503, 404), *content_type (a literal) and *size. Returns the body (caller owns it,
//  free with free ()), or NULL when out of memory.
char *
    tm_http_answer (const char *path, const tm_http_stats_t *stats, const char *www_dir,
                    unsigned int *status, const char **content_type, size_t *size);

#endif
