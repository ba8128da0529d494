//  gateway - the libwebsockets server (see gateway.h)
//
//  One thread owns the lws_context and makes every lws_* call on it (STYLE.md 7). Its pipe
//  and its two SUB sockets join the lws loop as dup()s of their ZMQ_FD, adopted as raw files;
//  their fds are edge-like, so each wake-up drains them (in bounded batches, continued from a
//  0 us timer) and a 100 ms safety timer drains whatever a missed edge left.
//
//  Fan-out: a topic per (stream, symbol) holds its subscribers and its last tick (the
//  snapshot). A tick is encoded to JSON once into a refcounted frame with LWS_PRE headroom,
//  and that same frame is queued to every subscriber. Each session's queue is bounded in
//  bytes: when market data does not fit, the oldest market data goes (counted); replies to
//  requests are never dropped, and while they back up we stop reading that client.

#include "tickmux.h"
#include <libwebsockets.h>
#include <openssl/crypto.h>
#include "lwsbus.h"
#include "protocol.h"
#include "chain.h"
#include "auth.h"
#include "http.h"
#include "gateway.h"

#define S_DRAIN_BATCH       256         //  Bus messages per wake-up before yielding
#define S_WRITE_BATCH       64          //  Frames per WRITEABLE callback
#define S_CONTROL_PAUSE     (64 * 1024)     //  Queued reply bytes that pause reading a client
#define S_SAFETY_US         (100 * 1000)    //  Drain check against missed fd edges
#define S_KITE_LOGIN_URL    "https://kite.zerodha.com/connect/login?v=3&api_key="
#define S_REQUEST_TOKEN_MAX 128             //  Longest request_token passed on
#define S_CHAIN_PRICE_WAIT_US   (10 * 1000 * 1000)  //  For the underlying's first price
#define S_CHAIN_LEGS_WAIT_US    (2 * 1000 * 1000)   //  For every leg's first tick
#define S_SESSION_CHAINS_MAX    8           //  Option chains one client may hold
#define S_CHAIN_KEY_MAX         (TM_PROVIDER_MAX + TM_SYMBOL_MAX + TM_EXPIRY_MAX + 32)

typedef struct {
    int refs;                       //  Queues (and topic snapshot) holding this frame
    const void *topic;              //  The s_topic_t of a MARKET_DATA frame, for conflation
    int provider;                   //  Config index of the tick's provider, -1 for replies
    int64_t pub_ts;                 //  Its tick's publication (0: none), for the latency
    bool control;                   //  A reply: never dropped
    size_t len;                     //  Payload bytes after LWS_PRE
    unsigned char data [];          //  LWS_PRE headroom, then the payload
} s_frame_t;

typedef struct _s_session_t s_session_t;
typedef struct _s_chain_t s_chain_t;
typedef struct _self_t self_t;

typedef struct {
    char key [TM_TOPIC_MAX];        //  Bus topic: "md.ALL.NIFTY-I|"
    char stream [TM_PROVIDER_MAX];  //  Its stream, for demand messages
    char symbol [TM_SYMBOL_MAX];    //  Its symbol, for demand messages
    s_session_t **subs;             //  Subscribed sessions (not owned)
    size_t subs_count;              //  Entries in subs
    size_t subs_cap;                //  Allocated entries
    s_chain_t **chains;             //  Option chains holding the topic (not owned)
    size_t chains_count;            //  Entries in chains
    size_t chains_cap;              //  Allocated entries
    tm_tick_t last;                 //  Last tick, for the snapshot
    bool has_last;                  //  last is valid
    s_frame_t *frame;               //  JSON of last, encoded lazily (one ref), or NULL
} s_topic_t;

//  A session waiting for or holding an option chain
typedef struct {
    s_session_t *session;           //  The client (not owned)
    json_t *id;                     //  Its request's "id", for the snapshot, or NULL (owned)
} s_holder_t;

//  An option chain served to every session that asked for the same one: it holds the
//  underlying's topic and its legs' topics as one more subscriber of each
struct _s_chain_t {
    self_t *gw;                     //  The gateway
    char key [S_CHAIN_KEY_MAX + 24];    //  In gw->chains: "stream|root|expiry|strikes"
    char session_key [S_CHAIN_KEY_MAX];     //  In session->chains: "stream|root|expiry"
    size_t strikes;                 //  Strikes asked for
    tm_chain_t *chain;              //  Legs, values and JSON
    s_topic_t *underlying;          //  Held
    s_topic_t **legs;               //  Held, per leg; NULL where the leg is unlisted
    size_t legs_count;              //  Entries in legs
    s_holder_t *holders;            //  Sessions served
    size_t holders_count;           //  Entries in holders
    size_t holders_cap;             //  Allocated entries
    bool live;                      //  Snapshot sent: updates flow
    lws_sorted_usec_list_t sul;     //  Waits for the underlying's price, then for the legs
};

struct _s_session_t {
    self_t *gw;                     //  The gateway
    struct lws *wsi;                //  Our connection
    void *handle;                   //  Our entry in gw->sessions
    s_frame_t **ring;               //  Queued frames, oldest at head
    size_t ring_cap;                //  Allocated slots (a power of two)
    size_t head;                    //  Index of the oldest
    size_t count;                   //  Frames queued
    size_t queued_bytes;            //  Payload bytes queued
    size_t control_bytes;           //  Of which replies
    bool rx_paused;                 //  We stopped reading (replies backed up)
    zhashx_t *subs;                 //  topic key -> s_topic_t * (not owned)
    zhashx_t *chains;               //  "stream|root|expiry" -> s_chain_t * (not owned)
    bool status_channel;            //  Subscribed to PROVIDER_STATUS
    bool orders_channel;            //  Subscribed to ORDER_UPDATE
    bool analytics_channel;         //  Subscribed to ANALYTICS
    char *rx;                       //  Message being reassembled
    size_t rx_len;                  //  Bytes in rx
    bool rx_binary;                 //  Current message is binary
    uint64_t dropped;               //  Market data frames dropped from our queue
    tm_slow_policy_t slow_policy;   //  When our queue is full: the token's, else the gateway's
    bool closing;                   //  Being closed (slow consumer, drain): nothing more queued
    const tm_token_t *token;        //  Its API token (borrowed from config), NULL: auth off
    tm_bucket_t bucket;             //  Its messages against gateway/max_rate
    bool rate_logged;               //  Its first RATE_LIMITED was logged
    char ip [64];                   //  Its peer address, for the per-address limit
};

typedef struct {
    tm_state_t state;               //  Last reported
    char reason [TM_REASON_MAX];    //  With the state
    int64_t status_mono;            //  When the last status arrived (monotonic ns)
    bool reported;                  //  Any status seen
    uint64_t errors;                //  As the provider reports
    uint64_t messages_in;           //  Its ticks that reached us
    uint64_t messages_out;          //  Frames of its ticks sent to clients
    uint32_t universe_total;        //  Universe size it announced (0: not yet)
    zhashx_t *universe;             //  Symbols it announced (values unused)
    tm_stats_t analytics;           //  Its last figures from the analytics actor
    bool has_analytics;             //  analytics is valid
    tm_window_t *to_client;         //  Publish-to-client latency of its frames
} s_provider_t;

struct _self_t {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *norm;                  //  SUB: providers' own streams and status
    zsock_t *md;                    //  SUB: the ALL stream
    zsock_t *stats;                 //  SUB: the analytics actor's figures
    zsock_t *feed;                  //  SUB: the ZeroMQ feed's heartbeat
    zsock_t *demand;                //  DEALER to the arbiter: what clients want upstream
    const tm_config_t *config;      //  Borrowed from main
    struct lws_context *context;    //  The lws loop
    struct lws_vhost *vhost;        //  Our one vhost
    int port;                       //  Port we listen on
    zhashx_t *topics;               //  topic key -> s_topic_t * (owned)
    zhashx_t *chains;               //  chain key -> s_chain_t * (owned through their holders)
    zlistx_t *sessions;             //  Connected ws sessions (not owned: lws owns the wsi)
    s_provider_t providers [TM_PROVIDERS_MAX];
    tm_tick_t ticks [TM_BATCH_MAX]; //  Decode buffer
    tm_request_t request;           //  Parse buffer (large, so not on the stack)
    char (*status_symbols) [TM_SYMBOL_MAX];     //  Decode buffer for status symbol lists
    lws_sorted_usec_list_t drain_sul;   //  Continue a drain that hit its batch limit
    lws_sorted_usec_list_t safety_sul;  //  Periodic drain check
    int64_t start_mono;             //  For uptime
    uint64_t subscriptions;         //  Held by all sessions
    uint64_t dropped;               //  Frames dropped by all sessions
    uint64_t conflated;             //  Queued ticks replaced by a newer one of their symbol
    uint64_t slow_disconnects;      //  Sessions closed as slow consumers
    uint64_t bus_gaps;              //  Ticks missing on the bus (seq jumps)
    uint64_t malformed;             //  Bus messages that did not decode
    uint64_t failovers;             //  FAILOVER events seen
    uint64_t gaps;                  //  GAP events seen
    zhashx_t *per_ip;               //  Peer address -> its clients (a count in the pointer)
    uint64_t rejected [TM_HTTP_REJECTS];    //  Refused connections and requests, by reason
    tm_heartbeat_t feed_hb;         //  The feed's last heartbeat
    bool has_feed;                  //  feed_hb is valid
    tm_upstream_t upstream;         //  On an edge: its link to the core, last figures
    bool has_upstream;              //  upstream is valid
    bool draining;                  //  DRAIN: closing every client, refusing new ones
    int64_t drain_deadline;         //  Monotonic ns: DRAINED goes by then whatever is left
    lws_sorted_usec_list_t drain_check_sul;     //  Until every client has gone
    bool terminated;                //  $TERM received
};

//  ------------------------------------------------------------------------------------------
//  Frames

static s_frame_t *
s_frame_new (const char *payload, size_t len, bool control, int provider)
{
    s_frame_t *frame = (s_frame_t *) malloc (sizeof (s_frame_t) + LWS_PRE + len);
    assert (frame);
    frame->refs = 1;
    frame->topic = NULL;
    frame->provider = provider;
    frame->pub_ts = 0;
    frame->control = control;
    frame->len = len;
    memcpy (frame->data + LWS_PRE, payload, len);
    return frame;
}

static void
s_frame_unref (s_frame_t **frame_p)
{
    if (*frame_p && --(*frame_p)->refs == 0)
        free (*frame_p);
    *frame_p = NULL;
}

//  ------------------------------------------------------------------------------------------
//  Session queues

static void
s_session_request_write (s_session_t *session)
{
    if (session->wsi)
        lws_callback_on_writable (session->wsi);
}

static void
s_queue_push (s_session_t *session, s_frame_t *frame)
{
    if (session->count == session->ring_cap) {
        size_t cap = session->ring_cap ? session->ring_cap * 2 : 16;
        s_frame_t **ring = (s_frame_t **) malloc (cap * sizeof (s_frame_t *));
        assert (ring);
        for (size_t i = 0; i < session->count; i++)
            ring [i] = session->ring [(session->head + i) & (session->ring_cap - 1)];
        free (session->ring);
        session->ring = ring;
        session->ring_cap = cap;
        session->head = 0;
    }
    session->ring [(session->head + session->count) & (session->ring_cap - 1)] = frame;
    session->count++;
    session->queued_bytes += frame->len;
    if (frame->control)
        session->control_bytes += frame->len;
    frame->refs++;
}

static s_frame_t *
s_queue_pop (s_session_t *session)
{
    if (session->count == 0)
        return NULL;
    s_frame_t *frame = session->ring [session->head];
    session->head = (session->head + 1) & (session->ring_cap - 1);
    session->count--;
    session->queued_bytes -= frame->len;
    if (frame->control)
        session->control_bytes -= frame->len;
    return frame;
}

//  Conflation: a queued tick of the frame's symbol takes the newer frame in its place.
//  Returns true if one did (the queue holds at most one tick per symbol this way).
static bool
s_queue_conflate (s_session_t *session, s_frame_t *frame)
{
    for (size_t i = session->count; i-- > 0; ) {
        s_frame_t **slot = &session->ring [(session->head + i) & (session->ring_cap - 1)];
        if ((*slot)->topic == frame->topic) {
            session->queued_bytes = session->queued_bytes - (*slot)->len + frame->len;
            s_frame_unref (slot);
            *slot = frame;
            frame->refs++;
            return true;
        }
    }
    return false;
}

//  A slow consumer under the disconnect policy: its queue goes at once, a close with 4008
//  when lws can still write, and lws's timeout closes it anyway when it cannot
static void
s_session_cut (s_session_t *session)
{
    self_t *self = session->gw;
    session->closing = true;
    self->slow_disconnects++;
    zsys_info ("gateway: slow consumer closed peer=%s token=%s queue_bytes=%zu", session->ip,
               session->token ? session->token->name : "-", self->config->queue_bytes);
    s_frame_t *frame;
    while ((frame = s_queue_pop (session)))
        s_frame_unref (&frame);
    char reason [96];
    int n = snprintf (reason, sizeof reason, "slow consumer: queue of %zu bytes full",
                      self->config->queue_bytes);
    lws_close_reason (session->wsi, TM_CLOSE_SLOW, (unsigned char *) reason, (size_t) n);
    lws_set_timeout (session->wsi, PENDING_TIMEOUT_CLOSE_SEND, 2);
    lws_callback_on_writable (session->wsi);
}

//  Queue a frame for a session under its slow-consumer policy. Replies always go in (and
//  pause reading once they back up). Under conflate, a tick for a queue past half full
//  replaces the queued tick of its symbol; when the queue is full, the oldest market data
//  goes (or, with a reply oldest, the tick itself), or the client is closed (disconnect).
static void
s_session_send (s_session_t *session, s_frame_t *frame)
{
    self_t *self = session->gw;
    if (session->closing)
        return;
    if (!frame->control) {
        //  Conflation starts once the queue is half full: a client that is a moment behind
        //  loses nothing, one that has fallen behind keeps only the newest per symbol
        if (session->slow_policy == TM_SLOW_CONFLATE && frame->topic
        &&  session->queued_bytes + frame->len > self->config->queue_bytes / 2
        &&  s_queue_conflate (session, frame)) {
            session->dropped++;
            self->conflated++;
            return;                 //  A write is already asked for
        }
        if (session->count && session->queued_bytes + frame->len > self->config->queue_bytes
        &&  session->slow_policy == TM_SLOW_DISCONNECT) {
            s_session_cut (session);
            return;
        }
        while (session->count
        &&     session->queued_bytes + frame->len > self->config->queue_bytes) {
            if (session->ring [session->head]->control) {
                session->dropped++;
                self->dropped++;
                return;
            }
            s_frame_t *old = s_queue_pop (session);
            s_frame_unref (&old);
            session->dropped++;
            self->dropped++;
        }
    }
    s_queue_push (session, frame);
    if (frame->control && !session->rx_paused && session->control_bytes > S_CONTROL_PAUSE) {
        session->rx_paused = true;
        lws_rx_flow_control (session->wsi, 0);
    }
    s_session_request_write (session);
}

static void
s_session_reply (s_session_t *session, char *json)
{
    //  Every reply is built from checked UTF-8, so a NULL here is a bug, not bad input.
    assert (json);
    s_frame_t *frame = s_frame_new (json, strlen (json), true, -1);
    free (json);
    s_session_send (session, frame);
    s_frame_unref (&frame);
}

static void
s_session_reply_json (s_session_t *session, json_t *reply)
{
    s_session_reply (session, json_dumps (reply, JSON_COMPACT | JSON_ENSURE_ASCII));
    json_decref (reply);
}

static void
s_session_error (s_session_t *session, const char *code, const char *message,
                 tm_request_t *req, const char *symbol)
{
    s_session_reply (session, tm_protocol_error (code, message, req ? req->root : NULL,
                                                 req ? req->id : NULL, symbol));
}

//  ------------------------------------------------------------------------------------------
//  Topics

static void
s_topic_free (void **item_p)
{
    s_topic_t *topic = (s_topic_t *) *item_p;
    if (topic) {
        s_frame_unref (&topic->frame);
        free (topic->subs);
        free (topic->chains);
        free (topic);
        *item_p = NULL;
    }
}

static s_topic_t *
s_topic_get (self_t *self, const char *stream, const char *symbol)
{
    char key [TM_TOPIC_MAX];
    if (tm_bus_topic (key, sizeof key, TM_TOPIC_MD, stream, symbol) < 0)
        return NULL;
    s_topic_t *topic = (s_topic_t *) zhashx_lookup (self->topics, key);
    if (!topic) {
        topic = (s_topic_t *) zmalloc (sizeof (s_topic_t));
        assert (topic);
        snprintf (topic->key, sizeof topic->key, "%s", key);
        snprintf (topic->stream, sizeof topic->stream, "%s", stream);
        snprintf (topic->symbol, sizeof topic->symbol, "%s", symbol);
        zhashx_insert (self->topics, key, topic);
    }
    return topic;
}

//  The first client on a topic asks the arbiter for it, the last one to leave gives it back:
//  upstream subscriptions follow what clients hold, reference-counted per topic here. A
//  request's topics go in one message ([verb][stream][symbol]...), started by s_demand_add
//  and sent by s_demand_flush.
static void
s_demand_add (zmsg_t **msg_p, const char *verb, s_topic_t *topic)
{
    if (!*msg_p) {
        *msg_p = zmsg_new ();
        zmsg_addstr (*msg_p, verb);
        zmsg_addstr (*msg_p, topic->stream);
    }
    zmsg_addstr (*msg_p, topic->symbol);
}

static void
s_demand_flush (self_t *self, zmsg_t **msg_p)
{
    if (*msg_p && zmsg_send (msg_p, self->demand) == -1) {
        zsys_warning ("gateway: a demand message of %zu frames was not sent", zmsg_size (*msg_p));
        zmsg_destroy (msg_p);
    }
}

//  The JSON frame of the topic's last tick, encoded once.
static s_frame_t *
s_topic_frame (self_t *self, s_topic_t *topic)
{
    if (!topic->frame && topic->has_last) {
        char json [TM_TICK_JSON_MAX];
        int len = tm_tick_to_json (&topic->last, json, sizeof json);
        assert (len > 0);
        topic->frame = s_frame_new (json, (size_t) len, false,
                                    tm_config_provider_index (self->config, topic->last.provider));
        topic->frame->pub_ts = topic->last.pub_ts;
        topic->frame->topic = topic;
    }
    return topic->frame;
}

static void
s_ptrs_add (void ***items, size_t *count, size_t *cap, void *item)
{
    if (*count == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *items = (void **) realloc (*items, *cap * sizeof (void *));
        assert (*items);
    }
    (*items) [(*count)++] = item;
}

static bool
s_ptrs_remove (void **items, size_t *count, void *item)
{
    for (size_t i = 0; i < *count; i++)
        if (items [i] == item) {
            items [i] = items [--*count];
            return true;
        }
    return false;
}

//  Add a holder (a session, or an option chain); a topic's first holder adds it to *want
//  (see s_demand_add).
static void
s_topic_hold (s_topic_t *topic, s_session_t *session, s_chain_t *chain, zmsg_t **want)
{
    if (topic->subs_count + topic->chains_count == 0)
        s_demand_add (want, "WANT", topic);
    if (session)
        s_ptrs_add ((void ***) &topic->subs, &topic->subs_count, &topic->subs_cap, session);
    else
        s_ptrs_add ((void ***) &topic->chains, &topic->chains_count, &topic->chains_cap, chain);
}

//  Remove a holder; the topic's last one adds it to *drop.
static void
s_topic_release (s_topic_t *topic, s_session_t *session, s_chain_t *chain, zmsg_t **drop)
{
    bool removed = session
                 ? s_ptrs_remove ((void **) topic->subs, &topic->subs_count, session)
                 : s_ptrs_remove ((void **) topic->chains, &topic->chains_count, chain);
    if (removed && topic->subs_count + topic->chains_count == 0)
        s_demand_add (drop, "DROP", topic);
}

//  Remove a subscribed session; the last holder's topic goes to the arbiter as a DROP at once.
static void
s_topic_remove (s_topic_t *topic, s_session_t *session)
{
    zmsg_t *drop = NULL;
    s_topic_release (topic, session, NULL, &drop);
    s_demand_flush (session->gw, &drop);
}

//  ------------------------------------------------------------------------------------------
//  Bus input

static void s_chain_tick (s_chain_t *c, const tm_tick_t *tick);
static void s_chain_timeout (lws_sorted_usec_list_t *sul);

static void
s_handle_tick (self_t *self, tm_tick_t *tick, bool from_norm)
{
    int provider = tm_config_provider_index (self->config, tick->provider);
    if (from_norm && provider >= 0)
        self->providers [provider].messages_in++;
    s_topic_t *topic = s_topic_get (self, tick->stream, tick->symbol);
    if (!topic)
        return;
    if (topic->has_last && tick->seq > topic->last.seq + 1)
        self->bus_gaps += tick->seq - topic->last.seq - 1;
    topic->last = *tick;
    topic->has_last = true;
    s_frame_unref (&topic->frame);
    //  Taking a tick never makes a chain let go of a topic, so the list holds still
    for (size_t i = 0; i < topic->chains_count; i++)
        s_chain_tick (topic->chains [i], tick);
    if (topic->subs_count == 0)
        return;                     //  Encoded lazily, if someone subscribes
    s_frame_t *frame = s_topic_frame (self, topic);
    for (size_t i = 0; i < topic->subs_count; i++)
        s_session_send (topic->subs [i], frame);
}

static json_t *
s_provider_status_json (self_t *self, size_t index)
{
    const s_provider_t *p = &self->providers [index];
    return json_pack ("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", "PROVIDER_STATUS",
                      "provider", self->config->providers [index].name,
                      "kind", self->config->providers [index].kind,
                      "state", tm_state_name (p->state), "reason", p->reason,
                      "ts", (json_int_t) tm_clock_now_ns ());
}

static void
s_broadcast_status (self_t *self, size_t index)
{
    json_t *status = s_provider_status_json (self, index);
    char *json = json_dumps (status, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (status);
    if (!json)
        return;
    //  Status changes are rare and each matters, so they travel as replies: never dropped.
    s_frame_t *frame = s_frame_new (json, strlen (json), true, -1);
    free (json);
    for (s_session_t *session = (s_session_t *) zlistx_first (self->sessions); session;
         session = (s_session_t *) zlistx_next (self->sessions))
        if (session->status_channel)
            s_session_send (session, frame);
    s_frame_unref (&frame);
}

static void
s_handle_status (self_t *self, zframe_t *body)
{
    tm_status_t st;
    if (tm_status_decode (zframe_data (body), zframe_size (body), &st, self->status_symbols)) {
        self->malformed++;
        return;
    }
    int index = tm_config_provider_index (self->config, st.provider);
    if (index < 0)
        return;
    s_provider_t *p = &self->providers [index];
    bool changed = !p->reported || p->state != st.state || strcmp (p->reason, st.reason);
    p->state = st.state;
    snprintf (p->reason, sizeof p->reason, "%s", st.reason);
    p->status_mono = tm_clock_mono_ns ();
    p->reported = true;
    p->errors = st.errors;
    if (st.symbols_total) {
        if (p->universe_total != st.symbols_total) {
            zhashx_purge (p->universe);
            p->universe_total = st.symbols_total;
        }
        for (uint32_t i = 0; i < st.symbols_count; i++)
            zhashx_update (p->universe, self->status_symbols [i], p);
    }
    if (changed)
        s_broadcast_status (self, (size_t) index);
}

//  ORDER_UPDATE {type, provider, data}: data is the provider's order object as it sent it.
//  Orders matter more than ticks, so they travel as replies: never dropped from a queue.
static void
s_handle_order (self_t *self, zframe_t *body)
{
    char provider [TM_PROVIDER_MAX];
    const char *json;
    size_t len;
    if (tm_order_decode (zframe_data (body), zframe_size (body), provider, sizeof provider,
                         &json, &len)) {
        self->malformed++;
        return;
    }
    json_t *order = json_loadb (json, len, 0, NULL);
    if (!json_is_object (order)) {
        json_decref (order);
        self->malformed++;
        return;
    }
    json_t *update = json_pack ("{s:s, s:s, s:o}", "type", "ORDER_UPDATE", "provider", provider,
                                "data", order);
    char *text = json_dumps (update, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (update);
    if (!text)
        return;
    s_frame_t *frame = s_frame_new (text, strlen (text), true, -1);
    free (text);
    for (s_session_t *session = (s_session_t *) zlistx_first (self->sessions); session;
         session = (s_session_t *) zlistx_next (self->sessions))
        if (session->orders_channel)
            s_session_send (session, frame);
    s_frame_unref (&frame);
}

static void s_fill_stats (self_t *self, tm_http_stats_t *stats);

//  ANALYTICS to the clients on that channel: the figures of every provider, once a second
static void
s_broadcast_analytics (self_t *self)
{
    tm_http_stats_t stats;
    s_fill_stats (self, &stats);
    json_t *out = json_pack ("{s:s, s:I}", "type", "ANALYTICS",
                             "ts", (json_int_t) tm_clock_now_ns ());
    json_object_update_new (out, tm_http_analytics (&stats));
    char *text = json_dumps (out, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION (10));
    json_decref (out);
    assert (text);
    s_frame_t *frame = s_frame_new (text, strlen (text), false, -1);
    free (text);
    for (s_session_t *session = (s_session_t *) zlistx_first (self->sessions); session;
         session = (s_session_t *) zlistx_next (self->sessions))
        if (session->analytics_channel)
            s_session_send (session, frame);
    s_frame_unref (&frame);
}

//  A provider's figures from the analytics actor; the last provider's completes a second
static void
s_handle_stats (self_t *self, zframe_t *body)
{
    tm_stats_t st;
    if (tm_stats_decode (zframe_data (body), zframe_size (body), &st)) {
        self->malformed++;
        return;
    }
    int index = tm_config_provider_index (self->config, st.provider);
    if (index < 0)
        return;
    self->providers [index].analytics = st;
    self->providers [index].has_analytics = true;
    if ((size_t) index + 1 == self->config->providers_count)
        s_broadcast_analytics (self);
}

//  FAILOVER / GAP of a symbol's ALL stream, to the clients subscribed to it there. Rare and
//  each one matters, so they travel as replies: never dropped from a queue.
static void
s_handle_event (self_t *self, zframe_t *body)
{
    tm_failover_event_t event;
    int64_t ts;
    if (tm_event_decode (zframe_data (body), zframe_size (body), &event, &ts)) {
        self->malformed++;
        return;
    }
    if (event.kind == TM_FAILOVER_EVENT_SWITCH)
        self->failovers++;
    else
        self->gaps++;
    s_topic_t *topic = s_topic_get (self, TM_STREAM_ALL, event.symbol);
    if (!topic || topic->subs_count == 0)
        return;
    json_t *out;
    if (event.kind == TM_FAILOVER_EVENT_SWITCH)
        out = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:I}", "type", "FAILOVER",
                         "symbol", event.symbol, "from", event.from, "to", event.to,
                         "reason", event.reason, "ts", (json_int_t) ts);
    else
        out = json_pack ("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "type", "GAP",
                         "symbol", event.symbol, "from", event.from, "to", event.to,
                         "since_ts", (json_int_t) event.since_ts,
                         "until_ts", (json_int_t) event.until_ts, "ts", (json_int_t) ts);
    char *text = out ? json_dumps (out, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref (out);
    if (!text)
        return;
    s_frame_t *frame = s_frame_new (text, strlen (text), true, -1);
    free (text);
    for (size_t i = 0; i < topic->subs_count; i++)
        s_session_send (topic->subs [i], frame);
    s_frame_unref (&frame);
}

static void
s_handle_bus_message (self_t *self, zmsg_t *msg, bool from_norm)
{
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (!body) {
        self->malformed++;
        return;
    }
    if (tm_bus_topic_is (topic, TM_TOPIC_STATUS)) {
        s_handle_status (self, body);
        return;
    }
    if (tm_bus_topic_is (topic, TM_TOPIC_HEARTBEAT)) {
        if (tm_heartbeat_decode (zframe_data (body), zframe_size (body), &self->feed_hb) == 0)
            self->has_feed = true;
        else
            self->malformed++;
        return;
    }
    if (tm_bus_topic_is (topic, TM_TOPIC_UPSTREAM)) {
        if (tm_upstream_decode (zframe_data (body), zframe_size (body), &self->upstream) == 0)
            self->has_upstream = true;
        else
            self->malformed++;
        return;
    }
    if (tm_bus_topic_is (topic, TM_TOPIC_STATS)) {
        s_handle_stats (self, body);
        return;
    }
    if (tm_bus_topic_is (topic, TM_TOPIC_EVENT)) {
        s_handle_event (self, body);
        return;
    }
    if (tm_bus_topic_is (topic, TM_TOPIC_ORDER)) {
        s_handle_order (self, body);
        return;
    }
    size_t count;
    if (tm_tick_decode (zframe_data (body), zframe_size (body), self->ticks, TM_BATCH_MAX,
                        &count)) {
        self->malformed++;
        return;
    }
    for (size_t i = 0; i < count; i++)
        s_handle_tick (self, &self->ticks [i], from_norm);
}

static void s_handle_pipe (self_t *self);

//  Drain a bus socket or the pipe, up to a batch. Returns true if input is left.
static bool
s_drain (self_t *self, zsock_t *sock)
{
    for (int i = 0; i < S_DRAIN_BATCH; i++) {
        if (self->terminated || !(zsock_events (sock) & ZMQ_POLLIN))
            return false;
        if (sock == self->pipe) {
            s_handle_pipe (self);
            continue;
        }
        zmsg_t *msg = zmsg_recv (sock);
        if (!msg)
            return false;
        s_handle_bus_message (self, msg, sock == self->norm);
        zmsg_destroy (&msg);
    }
    return !self->terminated && (zsock_events (sock) & ZMQ_POLLIN);
}

static void
s_drain_continue (lws_sorted_usec_list_t *sul)
{
    self_t *self = lws_container_of (sul, self_t, drain_sul);
    bool more = s_drain (self, self->pipe);
    more |= s_drain (self, self->norm);
    more |= s_drain (self, self->md);
    more |= s_drain (self, self->stats);
    more |= s_drain (self, self->feed);
    if (more)
        lws_sul_schedule (self->context, 0, &self->drain_sul, s_drain_continue, 0);
}

static void
s_safety_check (lws_sorted_usec_list_t *sul)
{
    self_t *self = lws_container_of (sul, self_t, safety_sul);
    s_drain_continue (&self->drain_sul);
    if (!self->terminated)
        lws_sul_schedule (self->context, 0, &self->safety_sul, s_safety_check, S_SAFETY_US);
}

//  ------------------------------------------------------------------------------------------
//  Client requests

static void
s_reply_subscription (s_session_t *session, tm_request_t *req, json_t *symbols, bool sub)
{
    json_t *reply = json_pack ("{s:s, s:s, s:o}", "type", sub ? "SUBSCRIBED" : "UNSUBSCRIBED",
                               "provider", req->provider, "symbols", symbols);
    if (req->id)
        json_object_set (reply, "id", req->id);
    s_session_reply_json (session, reply);
}

static void
s_reply_channel (s_session_t *session, tm_request_t *req, bool sub)
{
    json_t *reply = json_pack ("{s:s, s:s}", "type", sub ? "SUBSCRIBED" : "UNSUBSCRIBED",
                               "channel", req->channel);
    if (req->id)
        json_object_set (reply, "id", req->id);
    s_session_reply_json (session, reply);
}

//  True unless every provider that could serve the stream has announced its whole universe
//  and none has the symbol. While a universe is still arriving we accept, so a client that
//  subscribes during start-up is not refused a symbol that is about to exist.
static bool
s_symbol_known (self_t *self, const char *stream, const char *symbol)
{
    for (size_t i = 0; i < self->config->providers_count; i++) {
        if (!streq (stream, TM_STREAM_ALL) && !streq (stream, self->config->providers [i].name))
            continue;
        s_provider_t *p = &self->providers [i];
        if (p->universe_total == 0 || zhashx_size (p->universe) < p->universe_total)
            return true;
        if (zhashx_lookup (p->universe, symbol))
            return true;
    }
    return false;
}

//  ------------------------------------------------------------------------------------------
//  Option chains (GET_OPTION_CHAIN): the underlying first; once it has a price, the legs
//  around it as ordinary demand; the snapshot once every leg has ticked or S_CHAIN_LEGS_WAIT_US
//  passed, then an update per tick. The strikes stay where the first price put them, for as
//  long as any client holds the chain.

static void
s_chain_send (s_chain_t *c, char *json, bool control, const char *provider)
{
    s_frame_t *frame = s_frame_new (json, strlen (json), control,
                                    provider ? tm_config_provider_index (c->gw->config, provider)
                                             : -1);
    free (json);
    for (size_t i = 0; i < c->holders_count; i++)
        s_session_send (c->holders [i].session, frame);
    s_frame_unref (&frame);
}

static void
s_chain_snapshot (s_chain_t *c, s_holder_t *holder)
{
    s_session_reply (holder->session, tm_chain_snapshot_json (c->chain, holder->id,
                                                              tm_clock_now_ns ()));
}

static void
s_chain_go_live (s_chain_t *c)
{
    lws_sul_cancel (&c->sul);
    c->live = true;
    for (size_t i = 0; i < c->holders_count; i++)
        s_chain_snapshot (c, &c->holders [i]);
}

//  Free a chain no session holds, giving its topics back
static void
s_chain_destroy (s_chain_t **c_p)
{
    s_chain_t *c = *c_p;
    self_t *self = c->gw;
    assert (c->holders_count == 0);
    lws_sul_cancel (&c->sul);
    zmsg_t *drop = NULL;
    s_topic_release (c->underlying, NULL, c, &drop);
    for (size_t i = 0; i < c->legs_count; i++)
        if (c->legs [i])
            s_topic_release (c->legs [i], NULL, c, &drop);
    s_demand_flush (self, &drop);
    zhashx_delete (self->chains, c->key);
    tm_chain_destroy (&c->chain);
    free (c->legs);
    free (c->holders);
    free (c);
    *c_p = NULL;
}

//  A session lets go of a chain (an UNSUBSCRIBE, a new strike count, its close)
static void
s_chain_release (s_chain_t *c, s_session_t *session)
{
    for (size_t i = 0; i < c->holders_count; i++)
        if (c->holders [i].session == session) {
            if (c->holders [i].id)
                json_decref (c->holders [i].id);
            c->holders [i] = c->holders [--c->holders_count];
            break;
        }
    zhashx_delete (session->chains, c->session_key);
    if (c->holders_count == 0)
        s_chain_destroy (&c);
}

//  The underlying has a price: fix the strikes and take the listed legs
static void
s_chain_center (s_chain_t *c)
{
    self_t *self = c->gw;
    c->legs_count = tm_chain_center (c->chain, c->underlying->last.last_price);
    c->legs = (s_topic_t **) calloc (c->legs_count ? c->legs_count : 1, sizeof (s_topic_t *));
    assert (c->legs);
    zmsg_t *want = NULL;
    for (size_t i = 0; i < c->legs_count; i++) {
        const char *symbol = tm_chain_leg_symbol (c->chain, i);
        s_topic_t *topic = s_symbol_known (self, c->underlying->stream, symbol)
                         ? s_topic_get (self, c->underlying->stream, symbol) : NULL;
        if (!topic) {
            tm_chain_leg_unlisted (c->chain, i);
            continue;
        }
        s_topic_hold (topic, NULL, c, &want);
        c->legs [i] = topic;
        if (topic->has_last)
            tm_chain_apply (c->chain, &topic->last);
    }
    s_demand_flush (self, &want);
    if (tm_chain_is_complete (c->chain))
        s_chain_go_live (c);
    else {
        lws_sul_cancel (&c->sul);
        lws_sul_schedule (self->context, 0, &c->sul, s_chain_timeout, S_CHAIN_LEGS_WAIT_US);
    }
}

//  Waiting ran out: for the legs, the snapshot goes with what has arrived; for the underlying's
//  price, the chain cannot be built and every client waiting is told why.
static void
s_chain_timeout (lws_sorted_usec_list_t *sul)
{
    s_chain_t *c = lws_container_of (sul, s_chain_t, sul);
    if (tm_chain_is_centered (c->chain)) {
        s_chain_go_live (c);
        return;
    }
    char message [160];
    snprintf (message, sizeof message, "no price for %s on stream %s within %d s, so no "
              "strikes to choose", tm_chain_underlying (c->chain), c->underlying->stream,
              S_CHAIN_PRICE_WAIT_US / 1000000);
    while (c && c->holders_count) {
        s_holder_t *holder = &c->holders [c->holders_count - 1];
        char *error = tm_protocol_error (TM_E_CHAIN_UNAVAILABLE, message, NULL, holder->id,
                                         tm_chain_underlying (c->chain));
        s_session_reply (holder->session, error);
        bool last = c->holders_count == 1;
        s_chain_release (c, holder->session);
        if (last)
            c = NULL;
    }
}

//  A tick on a topic the chain holds
static void
s_chain_tick (s_chain_t *c, const tm_tick_t *tick)
{
    int index = tm_chain_apply (c->chain, tick);
    if (index == -1)
        return;
    if (!tm_chain_is_centered (c->chain))
        s_chain_center (c);
    else
    if (c->live)
        s_chain_send (c, tm_chain_update_json (c->chain, index), false, tick->provider);
    else
    if (tm_chain_is_complete (c->chain))
        s_chain_go_live (c);
}

static void
s_handle_option_chain (s_session_t *session, tm_request_t *req)
{
    self_t *self = session->gw;
    char message [192];
    const tm_option_root_t *root = tm_config_option (self->config, req->symbols [0]);
    if (!root) {
        size_t used = (size_t) snprintf (message, sizeof message, "no option root '%s' "
                                         "(configured:", req->symbols [0]);
        for (size_t i = 0; i < self->config->options_count && used < sizeof message; i++)
            used += (size_t) snprintf (message + used, sizeof message - used, " %s",
                                       self->config->options [i].name);
        if (used < sizeof message)
            snprintf (message + used, sizeof message - used, ")");
        s_session_error (session, TM_E_UNKNOWN_SYMBOL, message, req, req->symbols [0]);
        return;
    }
    char session_key [S_CHAIN_KEY_MAX], key [S_CHAIN_KEY_MAX + 24];
    snprintf (session_key, sizeof session_key, "%s|%s|%s", req->provider, root->name,
              req->expiry);
    snprintf (key, sizeof key, "%s|%zu", session_key, req->strikes);
    s_chain_t *c = (s_chain_t *) zhashx_lookup (session->chains, session_key);
    if (c && c->strikes == req->strikes) {
        //  Asked again: the snapshot again, now or when it is ready
        for (size_t i = 0; i < c->holders_count; i++)
            if (c->holders [i].session == session) {
                if (c->holders [i].id)
                    json_decref (c->holders [i].id);
                c->holders [i].id = req->id ? json_incref (req->id) : NULL;
                if (c->live)
                    s_chain_snapshot (c, &c->holders [i]);
            }
        return;
    }
    if (c)
        s_chain_release (c, session);       //  Another width replaces the one held
    if (zhashx_size (session->chains) >= S_SESSION_CHAINS_MAX) {
        snprintf (message, sizeof message, "option chain limit of %d reached",
                  S_SESSION_CHAINS_MAX);
        s_session_error (session, TM_E_SUBSCRIPTION_LIMIT, message, req, root->name);
        return;
    }
    if (!s_symbol_known (self, req->provider, root->underlying)) {
        snprintf (message, sizeof message, "the underlying %s is not listed on stream %s",
                  root->underlying, req->provider);
        s_session_error (session, TM_E_CHAIN_UNAVAILABLE, message, req, root->underlying);
        return;
    }
    c = (s_chain_t *) zhashx_lookup (self->chains, key);
    bool created = !c;
    if (created) {
        int year, month, day;
        int rc = tm_option_expiry_parse (req->expiry, &year, &month, &day);
        assert (rc == 0);           //  protocol.c checked it
        c = (s_chain_t *) zmalloc (sizeof (s_chain_t));
        assert (c);
        c->gw = self;
        snprintf (c->key, sizeof c->key, "%s", key);
        snprintf (c->session_key, sizeof c->session_key, "%s", session_key);
        c->strikes = req->strikes;
        c->chain = tm_chain_new (root, req->provider, year, month, day, req->strikes);
        assert (c->chain);
        zhashx_insert (self->chains, key, c);
    }
    if (c->holders_count == c->holders_cap) {
        c->holders_cap = c->holders_cap ? c->holders_cap * 2 : 4;
        c->holders = (s_holder_t *) realloc (c->holders, c->holders_cap * sizeof (s_holder_t));
        assert (c->holders);
    }
    s_holder_t *holder = &c->holders [c->holders_count++];
    holder->session = session;
    holder->id = req->id ? json_incref (req->id) : NULL;
    zhashx_insert (session->chains, session_key, c);
    if (created) {
        zmsg_t *want = NULL;
        c->underlying = s_topic_get (self, req->provider, root->underlying);
        s_topic_hold (c->underlying, NULL, c, &want);
        s_demand_flush (self, &want);
        if (c->underlying->has_last) {
            tm_chain_apply (c->chain, &c->underlying->last);
            s_chain_center (c);
        }
        else
            lws_sul_schedule (self->context, 0, &c->sul, s_chain_timeout,
                              S_CHAIN_PRICE_WAIT_US);
    }
    else
    if (c->live)
        s_chain_snapshot (c, holder);
}

static void
s_handle_chain_unsubscribe (s_session_t *session, tm_request_t *req)
{
    char session_key [S_CHAIN_KEY_MAX];
    snprintf (session_key, sizeof session_key, "%s|%s|%s", req->provider, req->symbols [0],
              req->expiry);
    s_chain_t *c = (s_chain_t *) zhashx_lookup (session->chains, session_key);
    if (!c) {
        char message [160];
        snprintf (message, sizeof message, "no option chain %s %s held on stream %s",
                  req->symbols [0], req->expiry, req->provider);
        s_session_error (session, TM_E_NOT_SUBSCRIBED, message, req, req->symbols [0]);
        return;
    }
    s_chain_release (c, session);
    json_t *reply = json_pack ("{s:s, s:s, s:s, s:s}", "type", "UNSUBSCRIBED",
                               "provider", req->provider, "option_chain", req->symbols [0],
                               "expiry", req->expiry);
    if (req->id)
        json_object_set (reply, "id", req->id);
    s_session_reply_json (session, reply);
}

static void
s_handle_channel (s_session_t *session, tm_request_t *req)
{
    self_t *self = session->gw;
    bool *flag = streq (req->channel, "STATUS") ? &session->status_channel
               : streq (req->channel, "ORDERS") ? &session->orders_channel
               : streq (req->channel, "ANALYTICS") ? &session->analytics_channel : NULL;
    if (!flag) {
        char message [160];
        snprintf (message, sizeof message, "channel %s is not served by this build yet",
                  req->channel);
        s_session_error (session, TM_E_CHANNEL_UNAVAILABLE, message, req, NULL);
        return;
    }
    bool sub = req->type == TM_REQ_SUBSCRIBE;
    if (sub && flag == &session->orders_channel && !tm_auth_allows_orders (session->token)) {
        char message [160];
        snprintf (message, sizeof message, "token %s does not allow the ORDERS channel",
                  session->token->name);
        self->rejected [TM_REJECT_NOT_ALLOWED]++;
        s_session_error (session, TM_E_NOT_ALLOWED, message, req, NULL);
        return;
    }
    if (!sub && !*flag) {
        char message [160];
        snprintf (message, sizeof message, "not subscribed to channel %s", req->channel);
        s_session_error (session, TM_E_NOT_SUBSCRIBED, message, req, NULL);
        return;
    }
    *flag = sub;
    s_reply_channel (session, req, sub);
    if (sub && flag == &session->status_channel)
        for (size_t i = 0; i < self->config->providers_count; i++)
            s_session_reply_json (session, s_provider_status_json (self, i));
}

static void
s_handle_subscription (s_session_t *session, tm_request_t *req)
{
    self_t *self = session->gw;
    bool sub = req->type == TM_REQ_SUBSCRIBE;
    if (!streq (req->provider, TM_STREAM_ALL)
    &&  tm_config_provider_index (self->config, req->provider) < 0) {
        char message [128];
        snprintf (message, sizeof message, "unknown provider '%s' (expected ALL or a configured "
                  "provider instance)", req->provider);
        s_session_error (session, TM_E_UNKNOWN_PROVIDER, message, req, NULL);
        return;
    }
    if (sub && !tm_auth_allows_stream (session->token, req->provider)) {
        char message [160];
        snprintf (message, sizeof message, "token %s does not allow stream %s",
                  session->token->name, req->provider);
        self->rejected [TM_REJECT_NOT_ALLOWED]++;
        s_session_error (session, TM_E_NOT_ALLOWED, message, req, NULL);
        return;
    }
    json_t *accepted = json_array ();
    zmsg_t *want = NULL;
    s_topic_t *snapshots [TM_REQ_SYMBOLS_MAX];
    size_t snapshots_count = 0;
    char message [160];
    for (size_t i = 0; i < req->symbols_count; i++) {
        const char *symbol = req->symbols [i];
        char key [TM_TOPIC_MAX];
        tm_bus_topic (key, sizeof key, TM_TOPIC_MD, req->provider, symbol);
        s_topic_t *held = (s_topic_t *) zhashx_lookup (session->subs, key);
        if (sub) {
            if (!held && !s_symbol_known (self, req->provider, symbol)) {
                snprintf (message, sizeof message, "unknown symbol '%s' on stream %s",
                          symbol, req->provider);
                s_session_error (session, TM_E_UNKNOWN_SYMBOL, message, req, symbol);
                continue;
            }
            if (!held && !tm_auth_allows_symbol (session->token, symbol)) {
                snprintf (message, sizeof message, "token %s does not allow %s",
                          session->token->name, symbol);
                self->rejected [TM_REJECT_NOT_ALLOWED]++;
                s_session_error (session, TM_E_NOT_ALLOWED, message, req, symbol);
                continue;
            }
            if (!held && zhashx_size (session->subs) >= self->config->max_subscriptions) {
                self->rejected [TM_REJECT_MAX_SUBSCRIPTIONS]++;
                snprintf (message, sizeof message, "subscription limit of %zu reached",
                          self->config->max_subscriptions);
                s_session_error (session, TM_E_SUBSCRIPTION_LIMIT, message, req, symbol);
                continue;
            }
            if (!held) {
                held = s_topic_get (self, req->provider, symbol);
                s_topic_hold (held, session, NULL, &want);
                zhashx_insert (session->subs, key, held);
                self->subscriptions++;
                if (held->has_last)
                    snapshots [snapshots_count++] = held;
            }
        }
        else {
            if (!held) {
                snprintf (message, sizeof message, "not subscribed to '%s' on stream %s",
                          symbol, req->provider);
                s_session_error (session, TM_E_NOT_SUBSCRIBED, message, req, symbol);
                continue;
            }
            s_topic_remove (held, session);
            zhashx_delete (session->subs, key);
            self->subscriptions--;
        }
        json_array_append_new (accepted, json_string (symbol));
    }
    s_demand_flush (self, &want);
    if (json_array_size (accepted) == 0) {
        json_decref (accepted);
        return;
    }
    s_reply_subscription (session, req, accepted, sub);
    //  The snapshot follows the SUBSCRIBED reply, so the client knows what it is.
    for (size_t i = 0; i < snapshots_count; i++)
        s_session_send (session, s_topic_frame (self, snapshots [i]));
}

static void
s_handle_message (s_session_t *session, const char *text, size_t len)
{
    self_t *self = session->gw;
    tm_request_t *req = &self->request;
    const char *code;
    char message [256];
    bool within = tm_bucket_take (&session->bucket, self->config->max_rate,
                                  2 * self->config->max_rate, tm_clock_mono_ns ());
    bool parsed = tm_request_parse (text, len, req, &code, message, sizeof message) == 0;
    if (!within) {
        //  Past the rate the message is dropped, answered, counted; logged once a client
        self->rejected [TM_REJECT_MAX_RATE]++;
        if (!session->rate_logged)
            zsys_info ("gateway: rate limited peer=%s token=%s max_rate=%g", session->ip,
                       session->token ? session->token->name : "-", self->config->max_rate);
        session->rate_logged = true;
        snprintf (message, sizeof message, "more than %g messages a second (gateway/max_rate): "
                  "this one was dropped", self->config->max_rate);
        s_session_error (session, TM_E_RATE_LIMITED, message, parsed ? req : NULL, NULL);
        tm_request_clear (req);
        return;
    }
    if (!parsed) {
        s_session_error (session, code, message, req, NULL);
        tm_request_clear (req);
        return;
    }
    if (req->type == TM_REQ_PING) {
        json_t *reply = json_pack ("{s:s, s:I}", "type", "PONG",
                                   "ts", (json_int_t) tm_clock_now_ns ());
        if (req->id)
            json_object_set (reply, "id", req->id);
        s_session_reply_json (session, reply);
    }
    else
    if (req->type == TM_REQ_OPTION_CHAIN)
        s_handle_option_chain (session, req);
    else
    if (req->option_chain)
        s_handle_chain_unsubscribe (session, req);
    else
    if (req->channel [0])
        s_handle_channel (session, req);
    else
        s_handle_subscription (session, req);
    tm_request_clear (req);
}

//  ------------------------------------------------------------------------------------------
//  Sessions

static s_session_t *
s_session_new (self_t *self, struct lws *wsi)
{
    s_session_t *session = (s_session_t *) zmalloc (sizeof (s_session_t));
    assert (session);
    session->gw = self;
    session->wsi = wsi;
    session->subs = zhashx_new ();
    session->chains = zhashx_new ();
    session->handle = zlistx_add_end (self->sessions, session);
    lws_get_peer_simple (wsi, session->ip, sizeof session->ip);
    uintptr_t count = (uintptr_t) zhashx_lookup (self->per_ip, session->ip);
    zhashx_update (self->per_ip, session->ip, (void *) (count + 1));
    return session;
}

static void
s_session_destroy (s_session_t **session_p)
{
    s_session_t *session = *session_p;
    if (!session)
        return;
    self_t *self = session->gw;
    for (s_topic_t *topic = (s_topic_t *) zhashx_first (session->subs); topic;
         topic = (s_topic_t *) zhashx_next (session->subs)) {
        s_topic_remove (topic, session);
        self->subscriptions--;
    }
    zhashx_destroy (&session->subs);
    s_chain_t *chain;
    while ((chain = (s_chain_t *) zhashx_first (session->chains)))
        s_chain_release (chain, session);
    zhashx_destroy (&session->chains);
    s_frame_t *frame;
    while ((frame = s_queue_pop (session)))
        s_frame_unref (&frame);
    free (session->ring);
    free (session->rx);
    zlistx_delete (self->sessions, session->handle);
    uintptr_t count = (uintptr_t) zhashx_lookup (self->per_ip, session->ip);
    if (count > 1)
        zhashx_update (self->per_ip, session->ip, (void *) (count - 1));
    else
        zhashx_delete (self->per_ip, session->ip);
    free (session);
    *session_p = NULL;
}

static int
s_session_writeable (s_session_t *session)
{
    self_t *self = session->gw;
    if (session->closing)
        return -1;                  //  lws sends the close frame lws_close_reason set
    for (int i = 0; i < S_WRITE_BATCH && session->count; i++) {
        if (lws_send_pipe_choked (session->wsi))
            break;
        s_frame_t *frame = s_queue_pop (session);
        int rc = lws_write (session->wsi, frame->data + LWS_PRE, frame->len, LWS_WRITE_TEXT);
        if (frame->provider >= 0) {
            s_provider_t *p = &self->providers [frame->provider];
            p->messages_out++;
            if (frame->pub_ts && p->to_client)
                tm_window_add (p->to_client, tm_clock_now_ns () - frame->pub_ts,
                               tm_clock_mono_ns ());
        }
        s_frame_unref (&frame);
        if (rc < 0)
            return -1;
    }
    if (session->rx_paused && session->control_bytes < S_CONTROL_PAUSE / 2) {
        session->rx_paused = false;
        lws_rx_flow_control (session->wsi, 1);
    }
    if (session->count)
        lws_callback_on_writable (session->wsi);
    return 0;
}

//  Collect a message's fragments; returns -1 to close the connection.
static int
s_session_receive (s_session_t *session, struct lws *wsi, const void *in, size_t len)
{
    self_t *self = session->gw;
    if (lws_is_first_fragment (wsi)) {
        session->rx_len = 0;
        session->rx_binary = lws_frame_is_binary (wsi);
    }
    if (session->rx_len + len > self->config->max_message) {
        self->rejected [TM_REJECT_MAX_MESSAGE]++;
        char reason [64];
        int n = snprintf (reason, sizeof reason, "message larger than %zu bytes",
                          self->config->max_message);
        lws_close_reason (wsi, TM_CLOSE_TOO_BIG, (unsigned char *) reason, (size_t) n);
        return -1;
    }
    if (!session->rx_binary) {
        if (!session->rx)
            session->rx = (char *) malloc (self->config->max_message);
        assert (session->rx);
        memcpy (session->rx + session->rx_len, in, len);
    }
    session->rx_len += len;
    if (!lws_is_final_fragment (wsi) || lws_remaining_packet_payload (wsi))
        return 0;
    if (session->rx_binary)
        s_session_error (session, TM_E_BINARY, "binary frames are not part of the protocol; "
                         "send JSON text frames", NULL, NULL);
    else
        s_handle_message (session, session->rx, session->rx_len);
    session->rx_len = 0;
    return 0;
}

//  ------------------------------------------------------------------------------------------
//  HTTP: health, stats and metrics (formats in http.c)

static void
s_fill_stats (self_t *self, tm_http_stats_t *stats)
{
    memset (stats, 0, sizeof *stats);
    int64_t now = tm_clock_mono_ns ();
    stats->clients = zlistx_size (self->sessions);
    stats->subscriptions = self->subscriptions;
    stats->uptime_s = (uint64_t) ((now - self->start_mono) / 1000000000);
    stats->dropped_frames = self->dropped;
    stats->conflated_frames = self->conflated;
    stats->slow_disconnects = self->slow_disconnects;
    stats->bus_gaps = self->bus_gaps;
    stats->bus_malformed = self->malformed;
    stats->providers_count = self->config->providers_count;
    for (size_t i = 0; i < self->config->providers_count; i++) {
        const s_provider_t *p = &self->providers [i];
        tm_http_provider_t *out = &stats->providers [i];
        out->name = self->config->providers [i].name;
        out->kind = self->config->providers [i].kind;
        out->state = p->state;
        out->reason = p->reason;
        out->status_age_ms = p->reported ? (now - p->status_mono) / 1000000 : -1;
        out->messages_in = p->messages_in;
        out->messages_out = p->messages_out;
        out->errors = p->errors;
        out->analytics = p->has_analytics ? &p->analytics : NULL;
        for (int w = 0; w < TM_WINDOWS; w++)
            tm_window_quantiles (p->to_client, tm_window_seconds [w], now, &out->to_client [w]);
        tm_window_histogram (p->to_client, out->to_client_hist, &out->to_client_count,
                             &out->to_client_sum);
    }
    stats->failovers = self->failovers;
    stats->gaps = self->gaps;
    stats->feed = self->has_feed;
    stats->feed_published = self->feed_hb.published;
    stats->feed_dropped = self->feed_hb.dropped;
    memcpy (stats->rejected, self->rejected, sizeof stats->rejected);
    stats->role = self->config->role;
    stats->upstream = self->has_upstream;
    stats->upstream_endpoint = self->config->upstream;
    stats->upstream_figures = self->upstream;
}

static int
s_compare_names (const void *a, const void *b)
{
    return strcmp (*(const char * const *) a, *(const char * const *) b);
}

//  {"providers":{"SIM":["BANKNIFTY-I",...]}}: each provider's universe, sorted, for pickers.
static char *
s_symbols_json (self_t *self, unsigned int *status, const char **content_type, size_t *size)
{
    json_t *providers = json_object ();
    for (size_t i = 0; i < self->config->providers_count; i++) {
        zhashx_t *universe = self->providers [i].universe;
        size_t count = zhashx_size (universe);
        const char **names = (const char **) malloc ((count ? count : 1) * sizeof (char *));
        assert (names);
        size_t n = 0;
        for (void *item = zhashx_first (universe); item && n < count; item = zhashx_next (universe))
            names [n++] = (const char *) zhashx_cursor (universe);
        qsort (names, n, sizeof (char *), s_compare_names);
        json_t *list = json_array ();
        for (size_t k = 0; k < n; k++)
            json_array_append_new (list, json_string (names [k]));
        free (names);
        json_object_set_new (providers, self->config->providers [i].name, list);
    }
    json_t *reply = json_pack ("{s:o}", "providers", providers);
    char *text = json_dumps (reply, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (reply);
    *status = 200;
    *content_type = "application/json";
    *size = text ? strlen (text) : 0;
    return text;
}

typedef struct {
    s_session_t *session;           //  For a ws connection
    const tm_token_t *token;        //  Its token, from the upgrade request to the session
    char *body;                     //  For an HTTP answer: LWS_PRE + payload (owned)
    size_t body_len;                //  Payload bytes
} s_pss_t;

//  ------------------------------------------------------------------------------------------
//  Who may connect (tokens in auth.c)

//  The token a request presents: "Authorization: Bearer TOKEN", else "?token=TOKEN", into
//  out. Returns its length, 0 when it presents none, -1 when what it presents is no token.
static int
s_presented_token (struct lws *wsi, char *out, size_t size)
{
    if (lws_hdr_total_length (wsi, WSI_TOKEN_HTTP_AUTHORIZATION) > 0) {
        char header [TM_API_TOKEN_MAX + 64];
        int rc = lws_hdr_copy (wsi, header, sizeof header, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0
               ? -1 : tm_auth_bearer (header, out, size);
        OPENSSL_cleanse (header, sizeof header);
        return rc;
    }
    char arg [TM_API_TOKEN_MAX + 16];
    const char *value = lws_get_urlarg_by_name (wsi, "token=", arg, (int) sizeof arg);
    if (!value)
        return lws_hdr_total_length (wsi, WSI_TOKEN_HTTP_URI_ARGS) > (int) sizeof arg ? -1 : 0;
    size_t len = strlen (value);
    int rc = -1;
    if (len > 0 && len < size && len <= TM_API_TOKEN_MAX) {
        memcpy (out, value, len + 1);
        rc = (int) len;
    }
    OPENSSL_cleanse (arg, sizeof arg);      //  No copy of a token outlives its check
    return rc;
}

//  With tokens configured, the request's token: 0 and *token_p set, or the reason it has none
static int
s_authorize (self_t *self, struct lws *wsi, const tm_token_t **token_p, tm_reject_t *why)
{
    *token_p = NULL;
    if (self->config->tokens_count == 0)
        return 0;
    char token [TM_API_TOKEN_MAX + 1];
    int len = s_presented_token (wsi, token, sizeof token);
    *token_p = len > 0 ? tm_auth_find (self->config, token, (size_t) len) : NULL;
    OPENSSL_cleanse (token, sizeof token);
    *why = len == 0 ? TM_REJECT_NO_TOKEN : TM_REJECT_BAD_TOKEN;
    return *token_p ? 0 : -1;
}

//  Refuse a WebSocket upgrade with an HTTP status and an ERROR body, counted and logged
//  (never with the token), then close. Written whole, as HTTP/1.1, so every client library
//  reads the status (lws's own error page says HTTP/1.0, which some refuse to parse).
static int
s_refuse (self_t *self, struct lws *wsi, tm_reject_t reason, unsigned int status,
          const char *code, const char *message)
{
    self->rejected [reason]++;
    char peer [64] = "";
    lws_get_peer_simple (wsi, peer, sizeof peer);
    zsys_info ("gateway: refused peer=%s reason=%s status=%u", peer, tm_http_reject_name (reason),
               status);
    const char *text = status == 401 ? "Unauthorized" : status == 429 ? "Too Many Requests"
                     : "Service Unavailable";
    char body [320];
    int body_len = snprintf (body, sizeof body, "{\"type\":\"ERROR\",\"code\":\"%s\","
                             "\"message\":\"%s\"}", code, message);
    char buf [LWS_PRE + 640];
    int n = snprintf (buf + LWS_PRE, sizeof buf - LWS_PRE, "HTTP/1.1 %u %s\r\ncontent-type: "
                      "application/json\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s",
                      status, text, body_len, body);
    if (n > 0 && (size_t) n < sizeof buf - LWS_PRE)
        lws_write (wsi, (unsigned char *) buf + LWS_PRE, (size_t) n, LWS_WRITE_HTTP_HEADERS);
    return 1;
}

//  Whether a WebSocket upgrade may go on: its token, then the limits on connections
static int
s_admit (self_t *self, struct lws *wsi, s_pss_t *pss)
{
    tm_reject_t why;
    if (self->draining)
        return s_refuse (self, wsi, TM_REJECT_STOPPING, 503, "STOPPING",
                         "tickmux is stopping");
    if (s_authorize (self, wsi, &pss->token, &why))
        return s_refuse (self, wsi, why, 401, "UNAUTHORIZED", why == TM_REJECT_NO_TOKEN
                         ? "a token is required: Authorization: Bearer TOKEN, or ?token=TOKEN"
                         : "the token is not valid");
    if (zlistx_size (self->sessions) >= self->config->max_connections)
        return s_refuse (self, wsi, TM_REJECT_MAX_CONNECTIONS, 503, "TOO_MANY_CONNECTIONS",
                         "the gateway holds gateway/max_connections clients; try again later");
    char peer [64] = "";
    lws_get_peer_simple (wsi, peer, sizeof peer);
    if ((size_t) (uintptr_t) zhashx_lookup (self->per_ip, peer)
        >= self->config->max_connections_per_ip)
        return s_refuse (self, wsi, TM_REJECT_MAX_PER_IP, 429, "TOO_MANY_CONNECTIONS",
                         "this address holds gateway/max_connections_per_ip clients");
    return 0;
}

//  The Kite login (DESIGN.md 9): /login/zerodha redirects the browser to Kite's login page;
//  Kite sends it back to /login/zerodha/callback?request_token=..., which goes to the
//  ZERODHA connector (through the arbiter) to be exchanged. The answer page does not wait for
//  the exchange: /ws/health shows ZERODHA CONNECTED, or AUTH_FAILED with the reason.
static char *
s_login_answer (self_t *self, struct lws *wsi, const char *uri, unsigned int *status,
                const char **content_type, size_t *size, char *location, size_t location_size)
{
    const char *provider = NULL;
    for (size_t i = 0; i < self->config->providers_count && !provider; i++)
        if (streq (self->config->providers [i].kind, "ZERODHA"))
            provider = self->config->providers [i].name;
    char key_buf [TM_SECRET_MAX];
    const char *key = tm_config_secret ("ZERODHA_API_KEY", key_buf, sizeof key_buf);
    const char *text;
    *content_type = "text/html; charset=utf-8";
    *status = 200;
    if (!provider || !key || !*key) {
        *status = 404;
        text = "<!doctype html><title>tickmux</title><p>No Zerodha provider is configured "
               "(set ZERODHA_API_KEY).</p>\n";
    }
    else
    if (streq (uri, "/login/zerodha")) {
        const char *base = getenv ("ZERODHA_LOGIN_URL");
        snprintf (location, location_size, "%s%s", base && *base ? base : S_KITE_LOGIN_URL, key);
        *status = 302;
        text = "<!doctype html><title>tickmux</title><p>Redirecting to Kite's login.</p>\n";
    }
    else {
        char arg [S_REQUEST_TOKEN_MAX + 16] = "";
        //  buf receives "request_token=VALUE"; the result points at VALUE
        const char *token = lws_get_urlarg_by_name (wsi, "request_token=", arg, sizeof arg);
        if (!token || !token [0]) {
            *status = 400;
            text = "<!doctype html><title>tickmux</title><p>The callback carries no "
                   "request_token: start again at <a href=\"/login/zerodha\">/login/zerodha</a>."
                   "</p>\n";
        }
        else {
            zstr_sendx (self->demand, "LOGIN", provider, token, NULL);
            text = "<!doctype html><title>tickmux</title><p>Login received. tickmux is "
                   "exchanging the token; <a href=\"/ws/health\">/ws/health</a> shows the "
                   "provider CONNECTED when it is done.</p>\n";
        }
    }
    *size = strlen (text);
    return strdup (text);
}

//  The answer to a request for the figures without a valid token (gateway/health = token)
static char *
s_unauthorized (self_t *self, struct lws *wsi, tm_reject_t why, unsigned int *status,
                const char **content_type, size_t *size)
{
    self->rejected [why]++;
    char peer [64] = "";
    lws_get_peer_simple (wsi, peer, sizeof peer);
    zsys_info ("gateway: refused peer=%s reason=%s status=401", peer, tm_http_reject_name (why));
    char *text = strdup ("{\"type\":\"ERROR\",\"code\":\"UNAUTHORIZED\",\"message\":"
                         "\"gateway/health = token: present a token\"}");
    *status = 401;
    *content_type = "application/json";
    *size = text ? strlen (text) : 0;
    return text;
}

static int
s_http_request (self_t *self, struct lws *wsi, s_pss_t *pss, const char *uri)
{
    char location [TM_PATH_MAX + 128] = "";
    tm_http_stats_t stats;
    s_fill_stats (self, &stats);
    unsigned int status;
    const char *content_type;
    size_t len;
    const tm_token_t *token;
    tm_reject_t why;
    bool figures = streq (uri, "/ws/health") || streq (uri, "/ws/stats")
                || streq (uri, "/metrics") || streq (uri, "/ws/symbols");
    char *body = figures && self->config->protect_health && s_authorize (self, wsi, &token, &why)
               ? s_unauthorized (self, wsi, why, &status, &content_type, &len)
               : streq (uri, "/ws/symbols")
               ? s_symbols_json (self, &status, &content_type, &len)
               : streq (uri, "/login/zerodha") || streq (uri, "/login/zerodha/callback")
               ? s_login_answer (self, wsi, uri, &status, &content_type, &len, location,
                                 sizeof location)
               : tm_http_answer (uri, &stats, self->config->www_dir, &status, &content_type, &len);
    if (!body)
        return 1;
    pss->body = (char *) malloc (LWS_PRE + len);
    assert (pss->body);
    memcpy (pss->body + LWS_PRE, body, len);
    pss->body_len = len;
    free (body);
    unsigned char headers [LWS_PRE + 1024];
    unsigned char *start = headers + LWS_PRE, *p = start, *end = headers + sizeof headers - 1;
    if (lws_add_http_common_headers (wsi, status, content_type, pss->body_len, &p, end)
    ||  (location [0] && lws_add_http_header_by_token (wsi, WSI_TOKEN_HTTP_LOCATION,
                                                       (unsigned char *) location,
                                                       (int) strlen (location), &p, end))
    ||  lws_finalize_write_http_header (wsi, start, &p, end))
        return 1;
    lws_callback_on_writable (wsi);
    return 0;
}

//  ------------------------------------------------------------------------------------------
//  lws callbacks

static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    self_t *self = (self_t *) lws_context_user (lws_get_context (wsi));
    s_pss_t *pss = (s_pss_t *) user;
    switch (reason) {
        case LWS_CALLBACK_HTTP:
            return s_http_request (self, wsi, pss, (const char *) in);

        case LWS_CALLBACK_HTTP_WRITEABLE:
            if (!pss || !pss->body)
                break;
            if (lws_write (wsi, (unsigned char *) pss->body + LWS_PRE, pss->body_len,
                           LWS_WRITE_HTTP_FINAL) != (int) pss->body_len)
                return -1;
            free (pss->body);
            pss->body = NULL;
            if (lws_http_transaction_completed (wsi))
                return -1;
            break;

        case LWS_CALLBACK_CLOSED_HTTP:
            if (pss && pss->body) {
                free (pss->body);
                pss->body = NULL;
            }
            break;

        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
            char uri [64];
            if (lws_hdr_copy (wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 || !streq (uri, "/ws"))
                return 1;           //  Only /ws speaks the client protocol (n8n paths later)
            return s_admit (self, wsi, pss);
        }
        case LWS_CALLBACK_ESTABLISHED:
            pss->session = s_session_new (self, wsi);
            pss->session->token = pss->token;
            pss->session->slow_policy = pss->token && pss->token->has_slow_policy
                                      ? pss->token->slow_policy : self->config->slow_policy;
            if (self->config->socket_buffer) {
                //  The kernel's send buffer of a client that stops reading holds what its
                //  queue would not: bound it, or conflation and the memory bound mean little
                int size = (int) self->config->socket_buffer;
                setsockopt (lws_get_socket_fd (wsi), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
            }
            break;

        case LWS_CALLBACK_RECEIVE:
            if (!pss->session)
                return -1;
            return s_session_receive (pss->session, wsi, in, len);

        case LWS_CALLBACK_SERVER_WRITEABLE:
            if (!pss->session)
                return -1;
            return s_session_writeable (pss->session);

        case LWS_CALLBACK_CLOSED:
            s_session_destroy (&pss->session);
            break;

        case LWS_CALLBACK_RAW_RX_FILE: {
            zsock_t *sock = (zsock_t *) lws_get_opaque_user_data (wsi);
            if (sock && s_drain (self, sock))
                lws_sul_schedule (self->context, 0, &self->drain_sul, s_drain_continue, 0);
            break;
        }
        default:
            break;
    }
    return 0;
}

static struct lws_protocols s_protocols [] = {
    //  protocols [0] serves HTTP and the ws upgrade of clients that name no subprotocol
    { "tickmux", s_callback, sizeof (s_pss_t), 4096, 0, NULL, 0 },
    { "tickmux-bus", s_callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

//  ------------------------------------------------------------------------------------------
//  Actor

#define S_DRAIN_US          (2 * 1000 * 1000)   //  Longest a drain waits for clients
#define S_DRAIN_CHECK_US    (20 * 1000)

//  Answer DRAINED once every client has gone, or at the drain's deadline
static void
s_drain_check (lws_sorted_usec_list_t *sul)
{
    self_t *self = lws_container_of (sul, self_t, drain_check_sul);
    if (zlistx_size (self->sessions) == 0 || tm_clock_mono_ns () >= self->drain_deadline) {
        zsys_info ("gateway: drained, %zu clients left", zlistx_size (self->sessions));
        zstr_send (self->pipe, "DRAINED");
    }
    else
        lws_sul_schedule (self->context, 0, &self->drain_check_sul, s_drain_check,
                          S_DRAIN_CHECK_US);
}

//  SIGTERM: every client gets a close frame with 1001 (going away), no one new gets in
static void
s_drain_clients (self_t *self)
{
    self->draining = true;
    self->drain_deadline = tm_clock_mono_ns () + (int64_t) S_DRAIN_US * 1000;
    zsys_info ("gateway: draining %zu clients", zlistx_size (self->sessions));
    static const char reason [] = "tickmux is stopping";
    for (s_session_t *session = (s_session_t *) zlistx_first (self->sessions); session;
         session = (s_session_t *) zlistx_next (self->sessions)) {
        session->closing = true;
        lws_close_reason (session->wsi, LWS_CLOSE_STATUS_GOINGAWAY, (unsigned char *) reason,
                          sizeof reason - 1);
        lws_set_timeout (session->wsi, PENDING_TIMEOUT_CLOSE_SEND, 2);
        lws_callback_on_writable (session->wsi);
    }
    s_drain_check (&self->drain_check_sul);
}

//  SIGHUP: main sends the new configuration (same providers; main checked) as a pointer
//  that stays valid until the actors stop. Limits, tokens and slow policies apply at once;
//  each session's token is looked up again by name, and a session whose token is gone (or
//  that has none while tokens are now required) is closed with 4401.
static void
s_reload (self_t *self)
{
    void *pointer = NULL;
    if (zsock_recv (self->pipe, "p", &pointer) || !pointer)
        return;
    const tm_config_t *config = (const tm_config_t *) pointer;
    self->config = config;
    size_t closed = 0;
    for (s_session_t *session = (s_session_t *) zlistx_first (self->sessions); session;
         session = (s_session_t *) zlistx_next (self->sessions)) {
        const tm_token_t *token = NULL;
        for (size_t i = 0; session->token && i < config->tokens_count; i++)
            if (streq (config->tokens [i].name, session->token->name))
                token = &config->tokens [i];
        if (config->tokens_count && !token) {
            static const char reason [] = "token revoked or now required";
            session->closing = true;
            lws_close_reason (session->wsi, TM_CLOSE_REVOKED, (unsigned char *) reason,
                              sizeof reason - 1);
            lws_set_timeout (session->wsi, PENDING_TIMEOUT_CLOSE_SEND, 2);
            lws_callback_on_writable (session->wsi);
            closed++;
            continue;
        }
        session->token = token;
        session->slow_policy = token && token->has_slow_policy ? token->slow_policy
                                                               : config->slow_policy;
    }
    zsys_info ("gateway: reloaded tokens=%zu max_rate=%g max_connections=%zu "
               "max_connections_per_ip=%zu slow_policy=%s closed=%zu", config->tokens_count,
               config->max_rate, config->max_connections, config->max_connections_per_ip,
               tm_slow_policy_name (config->slow_policy), closed);
}

static void
s_handle_pipe (self_t *self)
{
    char *command = tm_actor_command (self->pipe, &self->terminated);
    if (!command)
        return;
    if (streq (command, "PORT"))
        zsock_send (self->pipe, "si", "PORT", self->port);
    else
    if (streq (command, "DRAIN"))
        s_drain_clients (self);
    else
    if (streq (command, "RELOAD"))
        s_reload (self);
    else
        zsys_error ("gateway: unknown pipe command '%s'", command);
    free (command);
}

static void
s_log_emit (int level, const char *line)
{
    //  lws lines end with a newline already
    fprintf (stderr, "lws: %s", line);
}

static self_t *
s_self_new (zsock_t *pipe, const tm_config_t *config)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->config = config;
    self->norm = tm_bus_sub_new (TM_TOPIC_MD, TM_TOPIC_STATUS, TM_TOPIC_ORDER, NULL);
    self->md = tm_bus_sub_new (TM_TOPIC_MD, TM_TOPIC_EVENT, NULL);
    self->stats = tm_bus_sub_new (TM_TOPIC_STATS, NULL);
    self->feed = tm_bus_sub_new (TM_TOPIC_HEARTBEAT, TM_TOPIC_UPSTREAM, NULL);
    self->demand = zsock_new (ZMQ_DEALER);
    assert (self->demand);
    zsock_set_sndhwm (self->demand, TM_DEMAND_HWM);
    zsock_set_sndtimeo (self->demand, 0);
    self->topics = zhashx_new ();
    zhashx_set_destructor (self->topics, s_topic_free);
    self->chains = zhashx_new ();
    self->sessions = zlistx_new ();
    self->per_ip = zhashx_new ();
    for (size_t i = 0; i < TM_PROVIDERS_MAX; i++) {
        self->providers [i].state = TM_STATE_CONNECTING;
        self->providers [i].universe = zhashx_new ();
        self->providers [i].to_client = tm_window_new ();
    }
    self->status_symbols = calloc (TM_STATUS_SYMBOLS_MAX, TM_SYMBOL_MAX);
    assert (self->status_symbols);
    self->start_mono = tm_clock_mono_ns ();
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    if (self->context) {
        lws_sul_cancel (&self->drain_sul);
        lws_sul_cancel (&self->safety_sul);
        //  Closes every wsi: sessions are freed in LWS_CALLBACK_CLOSED.
        lws_context_destroy (self->context);
    }
    //  Sessions freed their chains as lws closed them
    assert (zhashx_size (self->chains) == 0);
    zhashx_destroy (&self->chains);
    zhashx_destroy (&self->topics);
    zlistx_destroy (&self->sessions);
    zhashx_destroy (&self->per_ip);
    for (size_t i = 0; i < TM_PROVIDERS_MAX; i++) {
        zhashx_destroy (&self->providers [i].universe);
        tm_window_destroy (&self->providers [i].to_client);
    }
    free (self->status_symbols);
    zsock_destroy (&self->norm);
    zsock_destroy (&self->md);
    zsock_destroy (&self->stats);
    zsock_destroy (&self->feed);
    zsock_destroy (&self->demand);
    free (self);
    *self_p = NULL;
}

static int
s_start (void *args)
{
    self_t *self = (self_t *) args;
    if (zsock_connect (self->norm, "%s", TM_BUS_NORM) || zsock_connect (self->md, "%s", TM_BUS_MD)
    ||  zsock_connect (self->stats, "%s", TM_BUS_STATS)
    ||  zsock_connect (self->feed, "%s", TM_BUS_FEED)
    ||  zsock_connect (self->demand, "%s", TM_BUS_DEMAND))
        return -1;
    lws_set_log_level (LLL_ERR | LLL_WARN, s_log_emit);
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof info);
    info.port = self->config->port;
    info.iface = self->config->interface;
    info.protocols = s_protocols;
    info.user = self;
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DISABLE_IPV6;
    if (strchr (self->config->interface, ':'))
        info.options &= ~(uint64_t) LWS_SERVER_OPTION_DISABLE_IPV6;
    if (self->config->tls_cert [0]) {
        //  wss:// and https:// only, OpenSSL through lws; the key never leaves this process
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = self->config->tls_cert;
        info.ssl_private_key_filepath = self->config->tls_key;
    }
    self->context = lws_create_context (&info);
    if (!self->context)
        return -1;
    self->vhost = lws_create_vhost (self->context, &info);
    if (!self->vhost) {
        if (self->config->tls_cert [0])
            zsys_error ("gateway: cannot listen with TLS: check gateway/tls_cert %s and "
                        "gateway/tls_key %s (PEM, readable)", self->config->tls_cert,
                        self->config->tls_key);
        return -1;
    }
    self->port = lws_get_vhost_listen_port (self->vhost);
    if (tm_lws_adopt (self->vhost, self->pipe, "tickmux-bus")
    ||  tm_lws_adopt (self->vhost, self->norm, "tickmux-bus")
    ||  tm_lws_adopt (self->vhost, self->md, "tickmux-bus")
    ||  tm_lws_adopt (self->vhost, self->stats, "tickmux-bus")
    ||  tm_lws_adopt (self->vhost, self->feed, "tickmux-bus"))
        return -1;
    lws_sul_schedule (self->context, 0, &self->safety_sul, s_safety_check, S_SAFETY_US);
    return 0;
}

void
tm_gateway_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const tm_config_t *) args);
    if (tm_actor_handshake (pipe, s_start, self) == 0)
        //  The signal went out on the pipe: look at it once, since its fd edge may be spent.
        s_drain_continue (&self->drain_sul);
    else
        self->terminated = true;
    while (!self->terminated)
        if (lws_service (self->context, 0) < 0)
            break;
    s_self_destroy (&self);
}
