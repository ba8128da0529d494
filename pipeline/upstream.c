//  upstream - an edge gateway's link to a core's feed (see upstream.h)

#include "tickmux.h"
#include <ctype.h>
#include "upstream.h"

#define S_HWM               100000      //  Messages queued on each link, as the core's feed
#define S_REPORT_NS         1000000000LL    //  "upstream." figures this often
#define S_POLL_MS           250         //  Silence checks at least this often
#define S_DISCOVER_WAIT_MS  1000        //  Between discovery attempts
#define S_SILENT_REASON     "core feed silent"

//  A symbol topic the gateway wants
typedef struct {
    uint64_t live_seq;              //  Seq of the last live tick passed on, 0 for none
    unsigned pending;               //  Snapshots of it on their way
} s_want_t;

typedef struct {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *sub;                   //  SUB on the core's feed
    zsock_t *snapshot;              //  DEALER to the core's snapshot ROUTER, one per core life
    zsock_t *demand;                //  ROUTER, bound: the gateway's WANT / DROP
    zsock_t *norm;                  //  PUB, bound: providers' streams, status, orders
    zsock_t *md;                    //  PUB, bound: the ALL stream and its events
    zsock_t *local;                 //  PUB, bound: the core's heartbeat and our figures
    zpoller_t *poller;
    const tm_config_t *config;      //  Borrowed from main
    zhashx_t *wanted;               //  "md.<stream>.<symbol>|" -> s_want_t * (owned)
    zlistx_t *requests;             //  Prefixes of snapshots asked for, oldest first (owned)
    zhashx_t *statuses;             //  "status.<PROVIDER>" -> zframe_t * its last body (owned)
    tm_tick_t tick;                 //  Decode buffer
    char (*symbols) [TM_SYMBOL_MAX];    //  Decode buffer for a status's symbols
    msgpack_sbuffer buf;            //  Scratch
    tm_upstream_t figures;          //  State and counters, as "upstream." reports them
    uint64_t hb_seq;                //  The core's last heartbeat seq
    int64_t hb_mono;                //  When it came (monotonic ns)
    int64_t next_report;            //  Monotonic ns
    bool terminated;                //  $TERM received
} self_t;


int
tm_upstream_snapshot_default (const char *feed, char *out, size_t size)
{
    const char *colon = strrchr (feed, ':');
    if (!colon || colon == feed || !isdigit ((unsigned char) colon [1]))
        return -1;
    char *end;
    long port = strtol (colon + 1, &end, 10);
    if (*end || port < 1 || port >= 65535)
        return -1;
    int len = snprintf (out, size, "%.*s:%ld", (int) (colon - feed), feed, port + 1);
    return len > 0 && (size_t) len < size ? 0 : -1;
}

int
tm_upstream_curve (zsock_t *sock, const char *cert_path, const char *server_path, char *err,
                   size_t err_size)
{
    zcert_t *server = zcert_load (server_path);
    zcert_t *mine = zcert_load (cert_path);
    int rc = 0;
    if (!server || !mine || streq (zcert_secret_txt (mine),
                                   "0000000000000000000000000000000000000000")) {
        snprintf (err, err_size, "cannot load the CURVE certificates %s (with %s_secret) and %s",
                  cert_path, cert_path, server_path);
        rc = -1;
    }
    else {
        zcert_apply (mine, sock);
        zsock_set_curve_serverkey (sock, zcert_public_txt (server));
    }
    zcert_destroy (&server);
    zcert_destroy (&mine);
    return rc;
}

//  A socket to the core, CURVE when configured. Returns it connected, or NULL (logged).
static zsock_t *
s_core_socket (const tm_config_t *config, int type, const char *endpoint)
{
    zsock_t *sock = zsock_new (type);
    assert (sock);
    zsock_set_rcvhwm (sock, S_HWM);
    zsock_set_sndhwm (sock, S_HWM);
    zsock_set_sndtimeo (sock, 0);
    char err [TM_PATH_MAX * 3];
    if (config->upstream_curve_cert [0]
    &&  tm_upstream_curve (sock, config->upstream_curve_cert, config->upstream_curve_server,
                           err, sizeof err)) {
        zsys_error ("upstream: %s", err);
        zsock_destroy (&sock);
        return NULL;
    }
    if (zsock_connect (sock, "%s", endpoint)) {
        zsys_error ("upstream: cannot connect to %s", endpoint);
        zsock_destroy (&sock);
    }
    return sock;
}

//  ------------------------------------------------------------------------------------------
//  Discovery, before the actors start

int
tm_upstream_discover (tm_config_t *config, char *err, size_t err_size)
{
    zsock_t *dealer = s_core_socket (config, ZMQ_DEALER, config->upstream_snapshot);
    if (!dealer) {
        snprintf (err, err_size, "cannot reach the core's snapshot at %s",
                  config->upstream_snapshot);
        return -1;
    }
    zpoller_t *poller = zpoller_new (dealer, NULL);
    unsigned attempts = 0;
    bool done = false;
    config->providers_count = 0;
    while (!done && !zsys_interrupted) {
        //  Each attempt asks again; answers to an earlier one are read the same way
        zstr_sendx (dealer, "SNAPSHOT", TM_TOPIC_STATUS, NULL);
        int64_t deadline = zclock_mono () + S_DISCOVER_WAIT_MS;
        while (!done && !zsys_interrupted) {
            int64_t wait = deadline - zclock_mono ();
            if (wait <= 0 || !zpoller_wait (poller, (int) wait))
                break;
            zmsg_t *msg = zmsg_recv (dealer);
            char *topic = msg ? zmsg_popstr (msg) : NULL;
            zframe_t *body = msg ? zmsg_first (msg) : NULL;
            tm_status_t st;
            if (topic && streq (topic, "END"))
                //  A core just started may not have heard from its providers yet
                done = config->providers_count > 0;
            else
            if (topic && body && strncmp (topic, TM_TOPIC_STATUS, strlen (TM_TOPIC_STATUS)) == 0
            &&  tm_status_decode (zframe_data (body), zframe_size (body), &st, NULL) == 0
            &&  tm_config_provider_index (config, st.provider) < 0
            &&  config->providers_count < TM_PROVIDERS_MAX) {
                tm_provider_config_t *p = &config->providers [config->providers_count++];
                memset (p, 0, sizeof *p);
                snprintf (p->name, sizeof p->name, "%s", st.provider);
                snprintf (p->kind, sizeof p->kind, "%s", st.kind);
                snprintf (p->state_dir, sizeof p->state_dir, "%s", config->state_dir);
            }
            free (topic);
            zmsg_destroy (&msg);
        }
        if (!done && attempts++ % 10 == 0)
            zsys_warning ("upstream: waiting for the core's snapshot at %s to name its "
                          "providers", config->upstream_snapshot);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    if (!done) {
        snprintf (err, err_size, "interrupted while waiting for the core at %s",
                  config->upstream_snapshot);
        return -1;
    }
    return 0;
}

//  ------------------------------------------------------------------------------------------
//  The actor

static self_t *
s_self_new (zsock_t *pipe, const tm_config_t *config)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->config = config;
    self->demand = zsock_new (ZMQ_ROUTER);
    self->norm = zsock_new (ZMQ_PUB);
    self->md = zsock_new (ZMQ_PUB);
    self->local = tm_bus_pub_new ();
    assert (self->demand && self->norm && self->md);
    zsock_set_rcvhwm (self->demand, TM_DEMAND_HWM);
    zsock_set_sndhwm (self->norm, S_HWM);
    zsock_set_sndhwm (self->md, S_HWM);
    self->wanted = zhashx_new ();
    zhashx_set_destructor (self->wanted, tm_bus_item_free);
    self->requests = zlistx_new ();
    zlistx_set_destructor (self->requests, tm_bus_item_free);
    self->statuses = zhashx_new ();
    zhashx_set_destructor (self->statuses, tm_bus_frame_free);
    self->symbols = calloc (TM_STATUS_SYMBOLS_MAX, TM_SYMBOL_MAX);
    assert (self->symbols);
    self->poller = zpoller_new (pipe, self->demand, NULL);
    zpoller_set_nonstop (self->poller, true);
    msgpack_sbuffer_init (&self->buf);
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (self) {
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->sub);
        zsock_destroy (&self->snapshot);
        zsock_destroy (&self->demand);
        zsock_destroy (&self->norm);
        zsock_destroy (&self->md);
        zsock_destroy (&self->local);
        zhashx_destroy (&self->wanted);
        zlistx_destroy (&self->requests);
        zhashx_destroy (&self->statuses);
        free (self->symbols);
        msgpack_sbuffer_destroy (&self->buf);
        free (self);
        *self_p = NULL;
    }
}

//  Our figures to the gateway: once a second, and at once when what it shows changes
static void
s_report (self_t *self)
{
    self->figures.ts = tm_clock_now_ns ();
    msgpack_sbuffer_clear (&self->buf);
    tm_upstream_encode (&self->figures, &self->buf);
    (void) tm_bus_send (self->local, TM_TOPIC_UPSTREAM, self->buf.data, self->buf.size);
    self->next_report = tm_clock_mono_ns () + S_REPORT_NS;
}

//  The bus link a topic of the core's feed goes out on: ALL and its events as the arbiter
//  publishes them, the rest as the normalizer does
static zsock_t *
s_link_of (self_t *self, zframe_t *topic)
{
    if (tm_bus_topic_is (topic, TM_TOPIC_MD TM_STREAM_ALL ".") || tm_bus_topic_is (topic, TM_TOPIC_EVENT))
        return self->md;
    return self->norm;
}

//  Ask the core's snapshot for a prefix; its answer comes in the order asked
static void
s_request (self_t *self, const char *prefix)
{
    if (!self->snapshot || zstr_sendx (self->snapshot, "SNAPSHOT", prefix, NULL)) {
        zsys_warning ("upstream: cannot ask for a snapshot of %s", prefix);
        return;
    }
    zlistx_add_end (self->requests, strdup (prefix));
    self->figures.snapshots++;
    s_want_t *want = (s_want_t *) zhashx_lookup (self->wanted, prefix);
    if (want)
        want->pending++;
}

//  A fresh snapshot socket, and every wanted topic and every status asked for again: the
//  core restarted (its seqs start again) or came back after a silence
static void
s_snapshot_all (self_t *self)
{
    if (self->snapshot)
        zpoller_remove (self->poller, self->snapshot);
    zsock_destroy (&self->snapshot);
    zlistx_purge (self->requests);
    self->snapshot = s_core_socket (self->config, ZMQ_DEALER, self->config->upstream_snapshot);
    if (!self->snapshot)
        return;
    zpoller_add (self->poller, self->snapshot);
    s_request (self, TM_TOPIC_STATUS);
    zlistx_t *keys = zhashx_keys (self->wanted);
    for (const char *key = (const char *) zlistx_first (keys); key;
         key = (const char *) zlistx_next (keys)) {
        s_want_t *want = (s_want_t *) zhashx_lookup (self->wanted, key);
        want->live_seq = 0;
        want->pending = 0;
        s_request (self, key);
    }
    zlistx_destroy (&keys);
}

//  [id][WANT|DROP][stream][symbol]... from the gateway: subscriptions on the core's feed
static void
s_handle_demand (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->demand);
    if (!msg)
        return;
    zframe_t *id = zmsg_pop (msg);
    char *verb = zmsg_popstr (msg);
    bool want = verb && streq (verb, "WANT");
    bool drop = verb && streq (verb, "DROP");
    if (verb && streq (verb, "LOGIN"))
        zsys_warning ("upstream: a broker login reached this edge gateway; its callback URL "
                      "must point at the core's gateway");
    while ((want || drop) && zmsg_size (msg) >= 2) {
        char *stream = zmsg_popstr (msg);
        char *symbol = zmsg_popstr (msg);
        char topic [TM_TOPIC_MAX], event [TM_TOPIC_MAX];
        if (stream && symbol && tm_bus_topic (topic, sizeof topic, TM_TOPIC_MD, stream,
                                              symbol) > 0) {
            //  FAILOVER and GAP of an ALL symbol come with it
            event [0] = '\0';
            if (streq (stream, TM_STREAM_ALL)
            &&  tm_bus_topic (event, sizeof event, TM_TOPIC_EVENT, stream, symbol) < 0)
                event [0] = '\0';
            bool held = zhashx_lookup (self->wanted, topic) != NULL;
            if (want && !held) {
                zhashx_insert (self->wanted, topic, zmalloc (sizeof (s_want_t)));
                zsock_set_subscribe (self->sub, topic);
                if (event [0])
                    zsock_set_subscribe (self->sub, event);
                s_request (self, topic);
            }
            else
            if (drop && held) {
                zhashx_delete (self->wanted, topic);
                zsock_set_unsubscribe (self->sub, topic);
                if (event [0])
                    zsock_set_unsubscribe (self->sub, event);
            }
        }
        free (stream);
        free (symbol);
    }
    self->figures.subscriptions = zhashx_size (self->wanted);
    s_report (self);
    free (verb);
    zframe_destroy (&id);
    zmsg_destroy (&msg);
}

//  A topic frame as a string, or false when it cannot be one of ours
static bool
s_topic_copy (zframe_t *frame, char *out, size_t size)
{
    if (zframe_size (frame) == 0 || zframe_size (frame) >= size)
        return false;
    memcpy (out, zframe_data (frame), zframe_size (frame));
    out [zframe_size (frame)] = '\0';
    return true;
}

//  The seq of a one-tick body, or 0 when it does not decode
static uint64_t
s_tick_seq (self_t *self, zframe_t *body)
{
    size_t count;
    if (tm_tick_decode (zframe_data (body), zframe_size (body), &self->tick, 1, &count)
    ||  count != 1)
        return 0;
    return self->tick.seq;
}

//  Report every provider DISCONNECTED: the core has gone quiet, so nothing it said holds
static void
s_report_silent (self_t *self)
{
    for (zframe_t *body = (zframe_t *) zhashx_first (self->statuses); body;
         body = (zframe_t *) zhashx_next (self->statuses)) {
        tm_status_t st;
        if (tm_status_decode (zframe_data (body), zframe_size (body), &st, NULL))
            continue;
        st.state = TM_STATE_DISCONNECTED;
        snprintf (st.reason, sizeof st.reason, "%s", S_SILENT_REASON);
        st.ts = tm_clock_now_ns ();
        st.symbols_total = st.symbols_count = st.symbols_offset = 0;
        if (tm_status_publish (self->norm, &st, &self->buf))
            self->figures.malformed++;
    }
}

//  A provider's last status, to report it DISCONNECTED when the core goes quiet. One this
//  edge did not learn at start (a core restarted with another configuration) is not served.
static void
s_keep_status (self_t *self, const char *key, zframe_t *body)
{
    const char *provider = key + strlen (TM_TOPIC_STATUS);
    if (!zhashx_lookup (self->statuses, key)
    &&  tm_config_provider_index (self->config, provider) < 0)
        zsys_warning ("upstream: the core reports provider %s, which it did not have when this "
                      "edge started; restart the edge to serve it", provider);
    zhashx_update (self->statuses, key, zframe_dup (body));
}

//  The core's heartbeat: alive, and the same core as before unless its seq started again
static void
s_handle_heartbeat (self_t *self, zframe_t *body)
{
    tm_heartbeat_t hb;
    if (tm_heartbeat_decode (zframe_data (body), zframe_size (body), &hb)) {
        self->figures.malformed++;
        return;
    }
    bool restarted = self->hb_seq && hb.seq <= self->hb_seq;
    bool back = self->figures.state == TM_UPSTREAM_SILENT;
    if (restarted || back) {
        zsys_info ("upstream: the core %s (heartbeat %" PRIu64 " after %" PRIu64 "): a fresh "
                   "snapshot of %zu topics", restarted ? "restarted" : "is back", hb.seq,
                   self->hb_seq, zhashx_size (self->wanted));
        self->figures.restarts++;
        s_snapshot_all (self);
    }
    else
    if (self->figures.state == TM_UPSTREAM_CONNECTING)
        zsys_info ("upstream: the core's feed is live at %s", self->config->upstream);
    bool changed = self->figures.state != TM_UPSTREAM_LIVE;
    self->figures.state = TM_UPSTREAM_LIVE;
    self->hb_seq = hb.seq;
    self->hb_mono = tm_clock_mono_ns ();
    if (changed)
        s_report (self);
    (void) tm_bus_send (self->local, TM_TOPIC_HEARTBEAT, zframe_data (body), zframe_size (body));
}

//  A live message of the core's feed, passed on to its link
static void
s_handle_feed (self_t *self)
{
    for (int i = 0; i < 256 && (zsock_events (self->sub) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv (self->sub);
        if (!msg)
            return;
        self->figures.messages++;
        zframe_t *topic = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        if (!body || zmsg_size (msg) != 2) {
            self->figures.malformed++;
            zmsg_destroy (&msg);
            continue;
        }
        if (tm_bus_topic_is (topic, TM_TOPIC_HEARTBEAT)) {
            s_handle_heartbeat (self, body);
            zmsg_destroy (&msg);
            continue;
        }
        char key [TM_TOPIC_MAX];
        if (tm_bus_topic_is (topic, TM_TOPIC_MD) && s_topic_copy (topic, key, sizeof key)) {
            //  While a snapshot of it is on its way, remember where the live stream is
            s_want_t *want = (s_want_t *) zhashx_lookup (self->wanted, key);
            if (want && want->pending)
                want->live_seq = s_tick_seq (self, body);
        }
        else
        if (tm_bus_topic_is (topic, TM_TOPIC_STATUS) && s_topic_copy (topic, key, sizeof key))
            s_keep_status (self, key, body);
        zsock_t *link = s_link_of (self, topic);
        if (zmsg_send (&msg, link) == -1)
            zmsg_destroy (&msg);
    }
}

//  The core's snapshot: [topic][body]... then [END][count], in the order asked
static void
s_handle_snapshot (self_t *self)
{
    for (int i = 0; i < 256 && (zsock_events (self->snapshot) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv (self->snapshot);
        if (!msg)
            return;
        zframe_t *topic = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        char key [TM_TOPIC_MAX];
        if (!body || !s_topic_copy (topic, key, sizeof key)) {
            self->figures.malformed++;
            zmsg_destroy (&msg);
            continue;
        }
        bool pass = false;
        if (streq (key, "END")) {
            char *prefix = (char *) zlistx_first (self->requests);
            s_want_t *want = prefix ? (s_want_t *) zhashx_lookup (self->wanted, prefix) : NULL;
            if (want && want->pending)
                want->pending--;
            if (prefix)
                zlistx_delete (self->requests, zlistx_cursor (self->requests));
        }
        else
        if (tm_bus_topic_is (topic, TM_TOPIC_STATUS)) {
            s_keep_status (self, key, body);
            pass = true;
        }
        else {
            //  A tick the live stream has overtaken goes no further; one of a topic no
            //  longer wanted is dropped
            s_want_t *want = (s_want_t *) zhashx_lookup (self->wanted, key);
            uint64_t seq = want ? s_tick_seq (self, body) : 0;
            if (want && seq > want->live_seq) {
                want->live_seq = seq;
                pass = true;
            }
            else
            if (want && seq)
                self->figures.stale++;
            else
            if (want)
                self->figures.malformed++;
        }
        if (pass && zmsg_send (&msg, s_link_of (self, topic)) == 0)
            continue;
        zmsg_destroy (&msg);
    }
}

static void
s_check (self_t *self)
{
    int64_t now = tm_clock_mono_ns ();
    if (self->figures.state == TM_UPSTREAM_LIVE
    &&  now - self->hb_mono > (int64_t) TM_UPSTREAM_SILENT_MS * 1000000) {
        zsys_warning ("upstream: the core's feed at %s is silent (no heartbeat for %d ms)",
                      self->config->upstream, TM_UPSTREAM_SILENT_MS);
        self->figures.state = TM_UPSTREAM_SILENT;
        s_report_silent (self);
        s_report (self);
    }
    if (now >= self->next_report)
        s_report (self);
}

static int
s_start (void *args)
{
    self_t *self = (self_t *) args;
    if (zsock_bind (self->norm, "%s", TM_BUS_NORM) || zsock_bind (self->md, "%s", TM_BUS_MD)
    ||  zsock_bind (self->local, "%s", TM_BUS_FEED)
    ||  zsock_bind (self->demand, "%s", TM_BUS_DEMAND)) {
        zsys_error ("upstream: cannot bind the bus: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    self->sub = s_core_socket (self->config, ZMQ_SUB, self->config->upstream);
    if (!self->sub)
        return -1;
    zsock_set_subscribe (self->sub, TM_TOPIC_HEARTBEAT);
    zsock_set_subscribe (self->sub, TM_TOPIC_STATUS);
    zsock_set_subscribe (self->sub, TM_TOPIC_ORDER);
    zpoller_add (self->poller, self->sub);
    s_snapshot_all (self);
    if (!self->snapshot)
        return -1;
    zsys_info ("upstream: reading the core's feed at %s, snapshots from %s%s",
               self->config->upstream, self->config->upstream_snapshot,
               self->config->upstream_curve_cert [0] ? " (CURVE)" : "");
    return 0;
}

void
tm_upstream_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const tm_config_t *) args);
    if (tm_actor_handshake (pipe, s_start, self))
        self->terminated = true;
    self->next_report = tm_clock_mono_ns ();
    while (!self->terminated) {
        void *which = zpoller_wait (self->poller, S_POLL_MS);
        if (which == self->pipe)
            free (tm_actor_command (self->pipe, &self->terminated));
        else
        if (which == self->demand)
            s_handle_demand (self);
        else
        if (which && which == self->sub)
            s_handle_feed (self);
        else
        if (which && which == self->snapshot)
            s_handle_snapshot (self);
        s_check (self);
    }
    zsys_info ("upstream: stopped messages=%" PRIu64 " snapshots=%" PRIu64 " restarts=%" PRIu64
               " stale=%" PRIu64 " malformed=%" PRIu64, self->figures.messages,
               self->figures.snapshots, self->figures.restarts, self->figures.stale,
               self->figures.malformed);
    s_self_destroy (&self);
}
