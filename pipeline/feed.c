//  feed - the public ZeroMQ feed (see feed.h)

#include "tickmux.h"
#include "feed.h"

#define S_HEARTBEAT_NS  1000000000LL    //  "hb." this often
#define S_FEED_HWM      100000          //  Messages queued per subscriber before a drop

typedef struct {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *md;                    //  SUB: ALL and its events
    zsock_t *norm;                  //  SUB: providers' streams, status, orders
    zsock_t *stats;                 //  SUB: analytics
    zsock_t *xpub;                  //  XPUB, bound on TCP: the feed
    zsock_t *router;                //  ROUTER, bound on TCP: snapshots
    zsock_t *local;                 //  PUB, bound: our heartbeat to the gateway
    zpoller_t *poller;
    zactor_t *auth;                 //  zauth, when the feed is CURVE
    zcert_t *cert;                  //  The server certificate, when the feed is CURVE
    const tm_config_t *config;      //  Borrowed from main
    zhashx_t *last;                 //  tick topic -> zframe_t * body of its last tick (owned)
    zhashx_t *statuses;             //  status topic -> s_status_t * (owned)
    char (*symbols) [TM_SYMBOL_MAX];    //  Decode buffer for a status's symbols
    tm_tick_t ticks [TM_BATCH_MAX]; //  Decode buffer
    msgpack_sbuffer buf;            //  Scratch
    int64_t next_heartbeat;         //  Monotonic ns
    uint64_t heartbeats;            //  Sent, the heartbeat's own seq
    uint64_t published;             //  Messages sent on the XPUB
    uint64_t dropped;               //  Messages refused at a high-water mark
    uint64_t snapshots;             //  Snapshot requests answered
    uint64_t malformed;             //  Bus messages that did not decode
    char *feed_endpoint;            //  Endpoints bound, ports resolved (for ENDPOINTS)
    char *snapshot_endpoint;
    bool terminated;                //  $TERM received
} self_t;

//  A provider's status is state too: a late subscriber must learn every provider and its
//  symbol universe, which a connector may announce only once, in parts. We keep its last
//  status and each part of its universe by offset.
typedef struct {
    zframe_t *last;                 //  Its last status (owned)
    uint32_t total;                 //  Size of the universe the parts belong to
    zhashx_t *parts;                //  "offset" -> zframe_t * status carrying that part (owned)
} s_status_t;

static void
s_status_free (void **item_p)
{
    s_status_t *status = (s_status_t *) *item_p;
    if (status) {
        zframe_destroy (&status->last);
        zhashx_destroy (&status->parts);
        free (status);
    }
    *item_p = NULL;
}

static self_t *
s_self_new (zsock_t *pipe, const tm_config_t *config)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->config = config;
    self->md = tm_bus_sub_new (TM_TOPIC_MD, TM_TOPIC_EVENT, NULL);
    self->norm = tm_bus_sub_new (TM_TOPIC_MD, TM_TOPIC_STATUS, TM_TOPIC_ORDER, NULL);
    self->stats = tm_bus_sub_new (TM_TOPIC_STATS, NULL);
    self->xpub = zsock_new (ZMQ_XPUB);
    self->router = zsock_new (ZMQ_ROUTER);
    self->local = tm_bus_pub_new ();
    assert (self->xpub && self->router);
    zsock_set_sndhwm (self->xpub, S_FEED_HWM);
    zsock_set_xpub_nodrop (self->xpub, 1);
    zsock_set_sndtimeo (self->xpub, 0);
    zsock_set_sndtimeo (self->router, 0);
    msgpack_sbuffer_init (&self->buf);
    self->last = zhashx_new ();
    zhashx_set_destructor (self->last, tm_bus_frame_free);
    self->statuses = zhashx_new ();
    zhashx_set_destructor (self->statuses, s_status_free);
    self->symbols = calloc (TM_STATUS_SYMBOLS_MAX, TM_SYMBOL_MAX);
    assert (self->symbols);
    //  Every configured provider is in the snapshot from the start, CONNECTING until it
    //  reports: an edge learns the whole list from a core that has just started
    for (size_t i = 0; i < config->providers_count; i++) {
        tm_status_t st = { .state = TM_STATE_CONNECTING, .ts = tm_clock_now_ns () };
        snprintf (st.provider, sizeof st.provider, "%s", config->providers [i].name);
        snprintf (st.kind, sizeof st.kind, "%s", config->providers [i].kind);
        msgpack_sbuffer_clear (&self->buf);
        tm_status_encode (&st, &self->buf);
        s_status_t *status = (s_status_t *) zmalloc (sizeof (s_status_t));
        assert (status);
        status->last = zframe_new (self->buf.data, self->buf.size);
        status->parts = zhashx_new ();
        zhashx_set_destructor (status->parts, tm_bus_frame_free);
        char key [TM_TOPIC_MAX];
        snprintf (key, sizeof key, "%s%s", TM_TOPIC_STATUS, st.provider);
        zhashx_insert (self->statuses, key, status);
    }
    self->poller = zpoller_new (pipe, self->md, self->norm, self->stats, self->router, self->xpub,
                                NULL);
    zpoller_set_nonstop (self->poller, true);
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (self) {
        zpoller_destroy (&self->poller);
        zhashx_destroy (&self->last);
        zhashx_destroy (&self->statuses);
        free (self->symbols);
        zsock_destroy (&self->md);
        zsock_destroy (&self->norm);
        zsock_destroy (&self->stats);
        zsock_destroy (&self->xpub);
        zsock_destroy (&self->router);
        zsock_destroy (&self->local);
        zactor_destroy (&self->auth);
        zcert_destroy (&self->cert);
        msgpack_sbuffer_destroy (&self->buf);
        free (self->feed_endpoint);
        free (self->snapshot_endpoint);
        free (self);
        *self_p = NULL;
    }
}

//  Send [topic][body] on the XPUB; a refusal (a subscriber at its high-water mark) is counted
static void
s_send (self_t *self, const char *topic, size_t topic_len, const void *body, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, topic, topic_len);
    zmsg_addmem (msg, body, size);
    if (zmsg_send (&msg, self->xpub) == -1) {
        zmsg_destroy (&msg);
        self->dropped++;
    }
    else
        self->published++;
}

//  A batch of ticks goes out one tick a message, each topic exactly its (stream, symbol)
static void
s_forward_ticks (self_t *self, zframe_t *body)
{
    size_t count;
    if (tm_tick_decode (zframe_data (body), zframe_size (body), self->ticks, TM_BATCH_MAX,
                        &count)) {
        self->malformed++;
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const tm_tick_t *tick = &self->ticks [i];
        char topic [TM_TOPIC_MAX];
        if (tm_bus_topic (topic, sizeof topic, TM_TOPIC_MD, tick->stream, tick->symbol) < 0)
            continue;
        msgpack_sbuffer_clear (&self->buf);
        if (tm_tick_encode (tick, 1, &self->buf))
            continue;
        s_send (self, topic, strlen (topic), self->buf.data, self->buf.size);
        zhashx_update (self->last, topic, zframe_new (self->buf.data, self->buf.size));
    }
}

//  Keep a provider's status, and the part of its universe it carries
static void
s_keep_status (self_t *self, zframe_t *topic, zframe_t *body)
{
    tm_status_t st;
    if (tm_status_decode (zframe_data (body), zframe_size (body), &st, NULL)) {
        self->malformed++;
        return;
    }
    char key [TM_TOPIC_MAX];
    if (snprintf (key, sizeof key, "%s%s", TM_TOPIC_STATUS, st.provider) >= (int) sizeof key
    ||  zframe_size (topic) != strlen (key) || memcmp (zframe_data (topic), key, strlen (key))) {
        self->malformed++;
        return;
    }
    s_status_t *status = (s_status_t *) zhashx_lookup (self->statuses, key);
    if (!status) {
        status = (s_status_t *) zmalloc (sizeof (s_status_t));
        assert (status);
        status->parts = zhashx_new ();
        zhashx_set_destructor (status->parts, tm_bus_frame_free);
        zhashx_insert (self->statuses, key, status);
    }
    zframe_destroy (&status->last);
    status->last = zframe_dup (body);
    //  A universe of another size replaces the parts of the one before
    if (st.symbols_total && st.symbols_total != status->total) {
        zhashx_purge (status->parts);
        status->total = st.symbols_total;
    }
    if (st.symbols_total && st.symbols_count) {
        char offset [16];
        snprintf (offset, sizeof offset, "%" PRIu32, st.symbols_offset);
        zhashx_update (status->parts, offset, zframe_dup (body));
    }
}

static void
s_handle_bus (self_t *self, zsock_t *sock)
{
    for (int i = 0; i < 256 && (zsock_events (sock) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv (sock);
        if (!msg)
            return;
        zframe_t *topic = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        if (!body)
            self->malformed++;
        else
        if (tm_bus_topic_is (topic, TM_TOPIC_MD))
            s_forward_ticks (self, body);
        else {
            //  Status, orders, events and stats are one record a message already
            if (tm_bus_topic_is (topic, TM_TOPIC_STATUS))
                s_keep_status (self, topic, body);
            s_send (self, (const char *) zframe_data (topic), zframe_size (topic),
                    zframe_data (body), zframe_size (body));
        }
        zmsg_destroy (&msg);
    }
}

//  One [id][topic][body] of a snapshot. Returns 1 if it went, 0 if the ROUTER refused it.
static int
s_snapshot_send (self_t *self, zframe_t *id, const char *topic, const void *body, size_t size)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_addmem (reply, zframe_data (id), zframe_size (id));
    zmsg_addstr (reply, topic);
    zmsg_addmem (reply, body, size);
    if (zmsg_send (&reply, self->router) == -1) {
        zmsg_destroy (&reply);
        return 0;
    }
    return 1;
}

//  A provider's kept status: each part of its universe first, as its last status carrying
//  that part (so no part brings back an old state), then the last status itself
static uint64_t
s_snapshot_status (self_t *self, zframe_t *id, const char *topic, s_status_t *status)
{
    uint64_t sent = 0;
    tm_status_t last;
    if (tm_status_decode (zframe_data (status->last), zframe_size (status->last), &last, NULL))
        return 0;
    for (zframe_t *part = (zframe_t *) zhashx_first (status->parts); part;
         part = (zframe_t *) zhashx_next (status->parts)) {
        tm_status_t st;
        if (tm_status_decode (zframe_data (part), zframe_size (part), &st, self->symbols))
            continue;
        tm_status_t merged = last;
        merged.symbols_total = st.symbols_total;
        merged.symbols_offset = st.symbols_offset;
        merged.symbols_count = st.symbols_count;
        merged.symbols = self->symbols;
        msgpack_sbuffer_clear (&self->buf);
        tm_status_encode (&merged, &self->buf);
        sent += s_snapshot_send (self, id, topic, self->buf.data, self->buf.size);
    }
    return sent + s_snapshot_send (self, id, topic, zframe_data (status->last),
                                   zframe_size (status->last));
}

//  [id][SNAPSHOT][prefix] -> [id][topic][body] per matching tick and provider status, then
//  [id][END][count]. A prefix that is one symbol's whole topic is a lookup, not a scan.
static void
s_handle_snapshot (self_t *self)
{
    zmsg_t *request = zmsg_recv (self->router);
    if (!request)
        return;
    zframe_t *id = zmsg_pop (request);
    char *verb = zmsg_popstr (request);
    char *prefix = zmsg_popstr (request);
    if (id && verb && streq (verb, "SNAPSHOT")) {
        size_t len = prefix ? strlen (prefix) : 0;
        uint64_t sent = 0;
        zframe_t *exact = len && prefix [len - 1] == TM_SYMBOL_END
                        ? (zframe_t *) zhashx_lookup (self->last, prefix) : NULL;
        if (exact)
            sent += s_snapshot_send (self, id, prefix, zframe_data (exact), zframe_size (exact));
        else
        for (zframe_t *body = (zframe_t *) zhashx_first (self->last); body;
             body = (zframe_t *) zhashx_next (self->last)) {
            const char *topic = (const char *) zhashx_cursor (self->last);
            if (len == 0 || strncmp (topic, prefix, len) == 0)
                sent += s_snapshot_send (self, id, topic, zframe_data (body), zframe_size (body));
        }
        for (s_status_t *status = (s_status_t *) zhashx_first (self->statuses); status;
             status = (s_status_t *) zhashx_next (self->statuses)) {
            const char *topic = (const char *) zhashx_cursor (self->statuses);
            if (len == 0 || strncmp (topic, prefix, len) == 0)
                sent += s_snapshot_status (self, id, topic, status);
        }
        zmsg_t *end = zmsg_new ();
        zmsg_addmem (end, zframe_data (id), zframe_size (id));
        zmsg_addstr (end, "END");
        zmsg_addstrf (end, "%" PRIu64, sent);
        if (zmsg_send (&end, self->router) == -1)
            zmsg_destroy (&end);
        self->snapshots++;
    }
    else
        self->malformed++;
    zframe_destroy (&id);
    free (verb);
    free (prefix);
    zmsg_destroy (&request);
}

//  "hb." {v, kind:"heartbeat", ts, seq, published, dropped}: a dead core goes quiet. The same
//  goes to the gateway, for /ws/stats and /metrics.
static void
s_heartbeat (self_t *self)
{
    tm_heartbeat_t hb = { tm_clock_now_ns (), ++self->heartbeats, self->published,
                          self->dropped };
    msgpack_sbuffer_clear (&self->buf);
    tm_heartbeat_encode (&hb, &self->buf);
    s_send (self, TM_TOPIC_HEARTBEAT, strlen (TM_TOPIC_HEARTBEAT), self->buf.data,
            self->buf.size);
    //  A gateway too busy to take it hears the next one
    (void) tm_bus_send (self->local, TM_TOPIC_HEARTBEAT, self->buf.data, self->buf.size);
}

static int
s_curve (self_t *self)
{
    const char *path = self->config->feed_curve_cert;
    //  zcert_load reads PATH_secret when it is there, which holds both keys
    self->cert = zcert_load (path);
    if (!self->cert || streq (zcert_secret_txt (self->cert),
                              "0000000000000000000000000000000000000000")) {
        zsys_error ("feed: cannot load the CURVE certificate %s with its secret (%s_secret)",
                    path, path);
        return -1;
    }
    self->auth = zactor_new (zauth, NULL);
    assert (self->auth);
    const char *clients = self->config->feed_curve_clients;
    zstr_sendx (self->auth, "CURVE", streq (clients, "*") ? CURVE_ALLOW_ANY : clients, NULL);
    zsock_wait (self->auth);
    zsock_t *sockets [] = { self->xpub, self->router };
    for (int i = 0; i < 2; i++) {
        zcert_apply (self->cert, sockets [i]);
        zsock_set_curve_server (sockets [i], 1);
        zsock_set_zap_domain (sockets [i], "tickmux");
    }
    zsys_info ("feed: CURVE, server key %s, clients from %s", zcert_public_txt (self->cert),
               clients);
    return 0;
}

static int
s_start (void *args)
{
    self_t *self = (self_t *) args;
    if (self->config->feed_curve_cert [0] && s_curve (self))
        return -1;
    if (zsock_bind (self->xpub, "%s", self->config->feed_bind) < 0
    ||  zsock_bind (self->router, "%s", self->config->feed_snapshot) < 0) {
        zsys_error ("feed: cannot bind %s / %s: %s", self->config->feed_bind,
                    self->config->feed_snapshot, zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (zsock_bind (self->local, "%s", TM_BUS_FEED)) {
        zsys_error ("feed: cannot bind %s", TM_BUS_FEED);
        return -1;
    }
    self->feed_endpoint = zsock_last_endpoint (self->xpub);
    self->snapshot_endpoint = zsock_last_endpoint (self->router);
    if (zsock_connect (self->md, "%s", TM_BUS_MD) || zsock_connect (self->norm, "%s", TM_BUS_NORM)
    ||  zsock_connect (self->stats, "%s", TM_BUS_STATS)) {
        zsys_error ("feed: cannot join the bus: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

void
tm_feed_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const tm_config_t *) args);
    if (tm_actor_handshake (pipe, s_start, self))
        self->terminated = true;
    //  The first heartbeat at once: an edge learns a restarted core as soon as it can
    self->next_heartbeat = tm_clock_mono_ns ();
    while (!self->terminated) {
        int64_t wait_ms = (self->next_heartbeat - tm_clock_mono_ns ()) / 1000000;
        void *which = zpoller_wait (self->poller, wait_ms > 0 ? (int) wait_ms : 0);
        if (which == self->pipe) {
            char *command = tm_actor_command (self->pipe, &self->terminated);
            if (command && streq (command, "ENDPOINTS"))
                zsock_send (self->pipe, "sss", "ENDPOINTS", self->feed_endpoint,
                            self->snapshot_endpoint);
            free (command);
        }
        else
        if (which == self->md || which == self->norm || which == self->stats)
            s_handle_bus (self, which);
        else
        if (which == self->router)
            s_handle_snapshot (self);
        else
        if (which == self->xpub) {
            //  Subscriptions arrive as messages on an XPUB; we publish everything anyway
            zmsg_t *sub = zmsg_recv (self->xpub);
            zmsg_destroy (&sub);
        }
        if (tm_clock_mono_ns () >= self->next_heartbeat) {
            s_heartbeat (self);
            self->next_heartbeat += S_HEARTBEAT_NS;
        }
    }
    zsys_info ("feed: stopped published=%" PRIu64 " dropped=%" PRIu64 " snapshots=%" PRIu64
               " malformed=%" PRIu64, self->published, self->dropped, self->snapshots,
               self->malformed);
    s_self_destroy (&self);
}
