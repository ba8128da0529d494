//  http - health, stats and metrics answers (see http.h)

#include "tickmux.h"
#include <jansson.h>
#include "http.h"

static bool
s_serving (const tm_http_stats_t *stats)
{
    for (size_t i = 0; i < stats->providers_count; i++)
        if (stats->providers [i].state == TM_STATE_CONNECTED)
            return true;
    return false;
}

static json_t *
s_health (const tm_http_stats_t *stats)
{
    json_t *providers = json_array ();
    for (size_t i = 0; i < stats->providers_count; i++) {
        const tm_http_provider_t *p = &stats->providers [i];
        json_t *item = json_pack ("{s:s, s:s, s:s, s:s}", "name", p->name, "kind", p->kind,
                                  "state", tm_state_name (p->state), "reason", p->reason);
        json_object_set_new (item, "last_status_age_ms", p->status_age_ms >= 0
                             ? json_integer (p->status_age_ms) : json_null ());
        json_array_append_new (providers, item);
    }
    json_t *health = json_pack ("{s:s, s:s, s:o}", "status", s_serving (stats) ? "ok" : "down",
                                "role", stats->role ? stats->role : "core",
                                "providers", providers);
    if (stats->upstream)
        json_object_set_new (health, "upstream", json_pack ("{s:s, s:s}",
                             "endpoint", stats->upstream_endpoint,
                             "state", tm_upstream_state_name (stats->upstream_figures.state)));
    return health;
}

static json_t *
s_quantiles_json (const tm_quantiles_t *q)
{
    return json_pack ("{s:I, s:f, s:f, s:f}", "count", (json_int_t) q->count,
                      "p50_ms", q->p50 / 1e6, "p99_ms", q->p99 / 1e6, "max_ms", q->max / 1e6);
}

//  {"1s":f (w),"10s":..,"60s":..}
static json_t *
s_windows_json (json_t *(*item) (const void *values, int w), const void *values)
{
    json_t *out = json_object ();
    for (int w = 0; w < TM_WINDOWS; w++) {
        char name [8];
        snprintf (name, sizeof name, "%ds", tm_window_seconds [w]);
        json_object_set_new (out, name, item (values, w));
    }
    return out;
}

static json_t *
s_window_quantiles (const void *values, int w)
{
    return s_quantiles_json (&((const tm_quantiles_t *) values) [w]);
}

static json_t *
s_window_real (const void *values, int w)
{
    return json_real (((const double *) values) [w]);
}

json_t *
tm_http_analytics (const tm_http_stats_t *stats)
{
    static const tm_quantiles_t none [TM_WINDOWS];
    static const double zeros [TM_WINDOWS];
    json_t *latency = json_object (), *rates = json_object (), *errors = json_object ();
    for (size_t i = 0; i < stats->providers_count; i++) {
        const tm_http_provider_t *p = &stats->providers [i];
        const tm_stats_t *a = p->analytics;
        json_t *stages = json_object ();
        for (int s = 0; s < TM_STAGES; s++)
            json_object_set_new (stages, tm_stage_name ((tm_stage_t) s),
                                 s_windows_json (s_window_quantiles, a ? a->latency [s] : none));
        json_object_set_new (stages, "publish_to_client",
                             s_windows_json (s_window_quantiles, p->to_client));
        json_object_set_new (latency, p->name, stages);
        json_object_set_new (rates, p->name,
                             s_windows_json (s_window_real, a ? a->message_rate : zeros));
        json_object_set_new (errors, p->name,
                             s_windows_json (s_window_real, a ? a->error_rate : zeros));
    }
    return json_pack ("{s:o, s:o, s:o}", "latency", latency, "message_rate", rates,
                      "error_rate", errors);
}

static const char *s_reject_names [TM_HTTP_REJECTS] = {
    "no_token", "bad_token", "max_connections", "max_connections_per_ip", "max_rate",
    "max_message", "max_subscriptions", "not_allowed", "stopping"
};

const char *
tm_http_reject_name (tm_reject_t reason)
{
    return reason >= 0 && reason < TM_HTTP_REJECTS ? s_reject_names [reason] : "unknown";
}

static json_t *
s_stats (const tm_http_stats_t *stats)
{
    json_t *providers = json_object ();
    for (size_t i = 0; i < stats->providers_count; i++) {
        const tm_http_provider_t *p = &stats->providers [i];
        json_object_set_new (providers, p->name,
            json_pack ("{s:s, s:I, s:I, s:I}", "state", tm_state_name (p->state),
                       "messages_in", (json_int_t) p->messages_in,
                       "messages_out", (json_int_t) p->messages_out,
                       "errors", (json_int_t) p->errors));
    }
    const tm_upstream_t *up = &stats->upstream_figures;
    json_t *upstream = stats->upstream
        ? json_pack ("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "endpoint", stats->upstream_endpoint,
                     "state", tm_upstream_state_name (up->state),
                     "subscriptions", (json_int_t) up->subscriptions,
                     "messages", (json_int_t) up->messages,
                     "snapshots", (json_int_t) up->snapshots,
                     "restarts", (json_int_t) up->restarts,
                     "stale", (json_int_t) up->stale, "malformed", (json_int_t) up->malformed)
        : json_null ();
    json_t *rejected = json_object ();
    for (int r = 0; r < TM_HTTP_REJECTS; r++)
        json_object_set_new (rejected, s_reject_names [r], json_integer ((json_int_t) stats->rejected [r]));
    return json_pack ("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o}",
                      "role", stats->role ? stats->role : "core",
                      "clients", (json_int_t) stats->clients,
                      "subscriptions", (json_int_t) stats->subscriptions,
                      "uptime_s", (json_int_t) stats->uptime_s,
                      "dropped_frames", (json_int_t) stats->dropped_frames,
                      "conflated_frames", (json_int_t) stats->conflated_frames,
                      "slow_disconnects", (json_int_t) stats->slow_disconnects,
                      "bus_gaps", (json_int_t) stats->bus_gaps,
                      "bus_malformed", (json_int_t) stats->bus_malformed,
                      "failovers", (json_int_t) stats->failovers,
                      "gaps", (json_int_t) stats->gaps,
                      "providers", providers, "analytics", tm_http_analytics (stats),
                      "feed", stats->feed
                              ? json_pack ("{s:I, s:I}", "published", (json_int_t) stats->feed_published,
                                           "dropped", (json_int_t) stats->feed_dropped)
                              : json_null (),
                      "upstream", upstream, "rejected", rejected);
}

static void
s_histogram (FILE *out, const char *provider, const char *stage, const uint64_t *buckets,
             uint64_t count, double sum)
{
    for (int b = 0; b < TM_PROM_BUCKETS; b++)
        fprintf (out, "tickmux_latency_seconds_bucket{provider=\"%s\",stage=\"%s\",le=\"%g\"} %"
                 PRIu64 "\n", provider, stage, tm_prom_bounds [b], buckets [b]);
    fprintf (out, "tickmux_latency_seconds_bucket{provider=\"%s\",stage=\"%s\",le=\"+Inf\"} %"
             PRIu64 "\n", provider, stage, count);
    fprintf (out, "tickmux_latency_seconds_sum{provider=\"%s\",stage=\"%s\"} %.9f\n", provider,
             stage, sum);
    fprintf (out, "tickmux_latency_seconds_count{provider=\"%s\",stage=\"%s\"} %" PRIu64 "\n",
             provider, stage, count);
}

//  The analytics: latency histograms per (provider, stage), rates over the last 10 s
static void
s_metrics_analytics (FILE *out, const tm_http_stats_t *stats)
{
    static const uint64_t no_buckets [TM_PROM_BUCKETS];
    fprintf (out, "# HELP tickmux_latency_seconds Tick latency per provider and stage "
                  "(exchange_to_receive, receive_to_publish, publish_to_client).\n"
                  "# TYPE tickmux_latency_seconds histogram\n");
    for (size_t i = 0; i < stats->providers_count; i++) {
        const tm_http_provider_t *p = &stats->providers [i];
        const tm_stats_t *a = p->analytics;
        for (int s = 0; s < TM_STAGES; s++)
            s_histogram (out, p->name, tm_stage_name ((tm_stage_t) s),
                         a ? a->hist [s] : no_buckets, a ? a->hist_count [s] : 0,
                         a ? a->hist_sum [s] : 0);
        s_histogram (out, p->name, "publish_to_client", p->to_client_hist, p->to_client_count,
                     p->to_client_sum);
    }
    fprintf (out, "# HELP tickmux_provider_message_rate Ticks per second over the last 10 s.\n"
                  "# TYPE tickmux_provider_message_rate gauge\n");
    for (size_t i = 0; i < stats->providers_count; i++)
        fprintf (out, "tickmux_provider_message_rate{provider=\"%s\"} %g\n",
                 stats->providers [i].name, stats->providers [i].analytics
                 ? stats->providers [i].analytics->message_rate [1] : 0);
    fprintf (out, "# HELP tickmux_provider_error_rate Errors per upstream message over the "
                  "last 10 s.\n# TYPE tickmux_provider_error_rate gauge\n");
    for (size_t i = 0; i < stats->providers_count; i++)
        fprintf (out, "tickmux_provider_error_rate{provider=\"%s\"} %g\n",
                 stats->providers [i].name, stats->providers [i].analytics
                 ? stats->providers [i].analytics->error_rate [1] : 0);
    fprintf (out, "# HELP tickmux_provider_disconnects_total Times the provider left CONNECTED.\n"
                  "# TYPE tickmux_provider_disconnects_total counter\n");
    for (size_t i = 0; i < stats->providers_count; i++)
        fprintf (out, "tickmux_provider_disconnects_total{provider=\"%s\"} %" PRIu64 "\n",
                 stats->providers [i].name, stats->providers [i].analytics
                 ? stats->providers [i].analytics->disconnects : 0);
}

//  Prometheus text exposition format 0.0.4. Label values are provider names, which config
//  restricts to A-Z 0-9 _ -, so they need no escaping.
static char *
s_metrics (const tm_http_stats_t *stats)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (!out)
        return NULL;
    fprintf (out,
        "# HELP tickmux_clients Connected WebSocket clients.\n"
        "# TYPE tickmux_clients gauge\n"
        "tickmux_clients %" PRIu64 "\n"
        "# HELP tickmux_subscriptions Subscriptions held by all clients.\n"
        "# TYPE tickmux_subscriptions gauge\n"
        "tickmux_subscriptions %" PRIu64 "\n"
        "# HELP tickmux_uptime_seconds Seconds since the gateway started.\n"
        "# TYPE tickmux_uptime_seconds gauge\n"
        "tickmux_uptime_seconds %" PRIu64 "\n"
        "# HELP tickmux_dropped_frames_total Market data frames dropped from slow clients' queues.\n"
        "# TYPE tickmux_dropped_frames_total counter\n"
        "tickmux_dropped_frames_total %" PRIu64 "\n"
        "# HELP tickmux_bus_gaps_total Ticks missing on the internal bus.\n"
        "# TYPE tickmux_bus_gaps_total counter\n"
        "tickmux_bus_gaps_total %" PRIu64 "\n"
        "# HELP tickmux_bus_malformed_total Internal messages that did not decode.\n"
        "# TYPE tickmux_bus_malformed_total counter\n"
        "tickmux_bus_malformed_total %" PRIu64 "\n",
        stats->clients, stats->subscriptions, stats->uptime_s, stats->dropped_frames,
        stats->bus_gaps, stats->bus_malformed);
    fprintf (out, "# HELP tickmux_provider_up 1 when the provider is CONNECTED.\n"
                  "# TYPE tickmux_provider_up gauge\n");
    for (size_t i = 0; i < stats->providers_count; i++)
        fprintf (out, "tickmux_provider_up{provider=\"%s\",kind=\"%s\",state=\"%s\"} %d\n",
                 stats->providers [i].name, stats->providers [i].kind,
                 tm_state_name (stats->providers [i].state),
                 stats->providers [i].state == TM_STATE_CONNECTED);
    static const struct {
        const char *name;           //  Metric name
        const char *help;           //  Its HELP line
        size_t offset;              //  Field in tm_http_provider_t
    } counters [] = {
        { "tickmux_provider_messages_in_total", "Ticks of the provider that reached the gateway.",
          offsetof (tm_http_provider_t, messages_in) },
        { "tickmux_provider_messages_out_total", "Frames of the provider's ticks sent to clients.",
          offsetof (tm_http_provider_t, messages_out) },
        { "tickmux_provider_errors_total", "Malformed or rejected messages the provider reports.",
          offsetof (tm_http_provider_t, errors) },
    };
    for (size_t c = 0; c < sizeof counters / sizeof counters [0]; c++) {
        fprintf (out, "# HELP %s %s\n# TYPE %s counter\n", counters [c].name, counters [c].help,
                 counters [c].name);
        for (size_t i = 0; i < stats->providers_count; i++) {
            uint64_t value;
            memcpy (&value, (const char *) &stats->providers [i] + counters [c].offset,
                    sizeof value);
            fprintf (out, "%s{provider=\"%s\"} %" PRIu64 "\n", counters [c].name,
                     stats->providers [i].name, value);
        }
    }
    fprintf (out, "# HELP tickmux_failovers_total Symbols whose ALL stream changed provider.\n"
                  "# TYPE tickmux_failovers_total counter\n"
                  "tickmux_failovers_total %" PRIu64 "\n"
                  "# HELP tickmux_gaps_total Failovers that lost ticks they could not replay.\n"
                  "# TYPE tickmux_gaps_total counter\n"
                  "tickmux_gaps_total %" PRIu64 "\n", stats->failovers, stats->gaps);
    if (stats->feed)
        fprintf (out, "# HELP tickmux_feed_published_total Messages the ZeroMQ feed sent.\n"
                      "# TYPE tickmux_feed_published_total counter\n"
                      "tickmux_feed_published_total %" PRIu64 "\n"
                      "# HELP tickmux_feed_dropped_total Feed messages refused at a subscriber's "
                      "high-water mark.\n"
                      "# TYPE tickmux_feed_dropped_total counter\n"
                      "tickmux_feed_dropped_total %" PRIu64 "\n",
                 stats->feed_published, stats->feed_dropped);
    fprintf (out, "# HELP tickmux_conflated_frames_total Queued ticks replaced by a newer tick "
                  "of their symbol (slow clients, policy conflate).\n"
                  "# TYPE tickmux_conflated_frames_total counter\n"
                  "tickmux_conflated_frames_total %" PRIu64 "\n"
                  "# HELP tickmux_slow_disconnects_total Clients closed with 4008 as slow "
                  "consumers (policy disconnect).\n"
                  "# TYPE tickmux_slow_disconnects_total counter\n"
                  "tickmux_slow_disconnects_total %" PRIu64 "\n",
             stats->conflated_frames, stats->slow_disconnects);
    fprintf (out, "# HELP tickmux_rejected_total Connections and messages refused, by reason.\n"
                  "# TYPE tickmux_rejected_total counter\n");
    for (int r = 0; r < TM_HTTP_REJECTS; r++)
        fprintf (out, "tickmux_rejected_total{reason=\"%s\"} %" PRIu64 "\n", s_reject_names [r],
                 stats->rejected [r]);
    if (stats->upstream) {
        const tm_upstream_t *up = &stats->upstream_figures;
        fprintf (out, "# HELP tickmux_upstream_live 1 while the core's feed heartbeat comes.\n"
                      "# TYPE tickmux_upstream_live gauge\n"
                      "tickmux_upstream_live %d\n"
                      "# HELP tickmux_upstream_subscriptions Symbol topics subscribed on the "
                      "core's feed.\n"
                      "# TYPE tickmux_upstream_subscriptions gauge\n"
                      "tickmux_upstream_subscriptions %" PRIu64 "\n"
                      "# HELP tickmux_upstream_messages_total Messages received from the core.\n"
                      "# TYPE tickmux_upstream_messages_total counter\n"
                      "tickmux_upstream_messages_total %" PRIu64 "\n"
                      "# HELP tickmux_upstream_snapshots_total Snapshots asked of the core.\n"
                      "# TYPE tickmux_upstream_snapshots_total counter\n"
                      "tickmux_upstream_snapshots_total %" PRIu64 "\n"
                      "# HELP tickmux_upstream_restarts_total Times the core restarted or came "
                      "back.\n"
                      "# TYPE tickmux_upstream_restarts_total counter\n"
                      "tickmux_upstream_restarts_total %" PRIu64 "\n",
                 up->state == TM_UPSTREAM_LIVE, up->subscriptions, up->messages, up->snapshots,
                 up->restarts);
    }
    s_metrics_analytics (out, stats);
    fclose (out);
    return text;
}

//  The content type of a dashboard file name, or NULL if it is not one we serve.
static const char *
s_file_type (const char *name)
{
    static const struct {
        const char *ext;            //  File name ending
        const char *type;           //  Its content type
    } types [] = {
        { ".html", "text/html; charset=utf-8" }, { ".js", "text/javascript; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" }, { ".svg", "image/svg+xml" },
        { ".png", "image/png" }, { ".ico", "image/x-icon" }
    };
    size_t len = strlen (name);
    if (len == 0 || len > 64 || name [0] == '.')
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (!((name [i] >= 'a' && name [i] <= 'z') || (name [i] >= '0' && name [i] <= '9')
        ||    name [i] == '-' || name [i] == '_' || name [i] == '.'))
            return NULL;
    for (size_t i = 0; i < sizeof types / sizeof types [0]; i++) {
        size_t ext = strlen (types [i].ext);
        if (len > ext && streq (name + len - ext, types [i].ext))
            return types [i].type;
    }
    return NULL;
}

//  Read a dashboard file, or NULL if it is not there or too large.
static char *
s_read_file (const char *dir, const char *name, size_t *size)
{
    char path [TM_PATH_MAX + 80];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    char *data = (char *) malloc (TM_HTTP_FILE_MAX + 1);
    size_t got = data ? fread (data, 1, TM_HTTP_FILE_MAX + 1, file) : 0;
    fclose (file);
    if (!data || got > TM_HTTP_FILE_MAX) {
        zsys_warning ("http: %s is missing or larger than %d bytes", path, TM_HTTP_FILE_MAX);
        free (data);
        return NULL;
    }
    *size = got;
    return data;
}

static char *
s_json_body (json_t *reply, size_t *size)
{
    char *text = json_dumps (reply, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (reply);
    if (!text)
        return NULL;
    size_t len = strlen (text);
    char *body = (char *) realloc (text, len + 2);
    if (!body) {
        free (text);
        return NULL;
    }
    body [len] = '\n';
    body [len + 1] = '\0';
    *size = len + 1;
    return body;
}

char *
tm_http_answer (const char *path, const tm_http_stats_t *stats, const char *www_dir,
                unsigned int *status, const char **content_type, size_t *size)
{
    assert (path && stats && status && content_type && size);
    *status = 200;
    *content_type = "application/json";
    json_t *reply;
    if (streq (path, "/metrics")) {
        *content_type = "text/plain; version=0.0.4; charset=utf-8";
        char *text = s_metrics (stats);
        *size = text ? strlen (text) : 0;
        return text;
    }
    const char *name = streq (path, "/") ? "index.html" : path + 1;
    const char *type = www_dir && www_dir [0] ? s_file_type (name) : NULL;
    if (type) {
        char *data = s_read_file (www_dir, name, size);
        if (data) {
            *content_type = type;
            return data;
        }
    }
    if (streq (path, "/ws/health")) {
        reply = s_health (stats);
        *status = s_serving (stats) ? 200 : 503;
    }
    else
    if (streq (path, "/ws/stats"))
        reply = s_stats (stats);
    else {
        *status = 404;
        reply = json_pack ("{s:s}", "error", "not found");
        //  The path is the client's: jansson refuses it if it is not UTF-8, and then we omit it.
        json_t *echo = json_stringn (path, strnlen (path, 200));
        if (echo)
            json_object_set_new (reply, "path", echo);
    }
    return s_json_body (reply, size);
}
