//  arbiter - picks one provider per symbol and publishes the ALL stream (see arbiter.h)

#include "tickmux.h"
#include "arbiter.h"

#define S_CHECK_NS      (10 * 1000000)  //  How often every symbol is judged again

typedef struct {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *norm;                  //  SUB to the normalizer: ticks and status
    zsock_t *md;                    //  PUB, bound: the ALL stream
    zsock_t *demand;                //  ROUTER, bound: the gateway's wants, the connectors
    zhashx_t *refs [TM_PROVIDERS_MAX];  //  Per provider: symbol -> size_t * wants (owned)
    zframe_t *peers [TM_PROVIDERS_MAX]; //  Per provider: its connector's routing id, or NULL
    zpoller_t *poller;              //  Pipe and norm
    const tm_config_t *config;      //  Borrowed from main
    tm_state_t states [TM_PROVIDERS_MAX];   //  Last reported state per provider
    tm_failover_t *failover;        //  Which provider feeds each symbol, what goes out
    int64_t next_check;             //  Monotonic ns of the next tm_failover_check
    zhashx_t *seqs;                 //  symbol -> uint64_t * last ALL seq (owned)
    tm_tick_t in [TM_BATCH_MAX];    //  Decoded batch
    msgpack_sbuffer buf;            //  Scratch for encoding
    uint64_t events;                //  FAILOVER and GAP events published
    uint64_t ticks_out;             //  Ticks published on ALL
    uint64_t malformed;             //  Messages that did not decode
    uint64_t send_failures;         //  Messages the PUB refused
    bool terminated;                //  $TERM received
} self_t;

static self_t *
s_self_new (zsock_t *pipe, const tm_config_t *config)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->config = config;
    self->norm = tm_bus_sub_new (TM_TOPIC_MD, TM_TOPIC_STATUS, NULL);
    self->md = tm_bus_pub_new ();
    self->demand = zsock_new (ZMQ_ROUTER);
    assert (self->demand);
    zsock_set_sndhwm (self->demand, TM_DEMAND_HWM);
    zsock_set_rcvhwm (self->demand, TM_DEMAND_HWM);
    zsock_set_sndtimeo (self->demand, 0);
    for (size_t i = 0; i < config->providers_count; i++)
        self->refs [i] = tm_seqs_new ();
    for (size_t i = 0; i < TM_PROVIDERS_MAX; i++)
        self->states [i] = TM_STATE_CONNECTING;
    self->seqs = tm_seqs_new ();
    self->failover = tm_failover_new (config->routes, &config->failover);
    self->poller = zpoller_new (pipe, self->norm, self->demand, NULL);
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
        zsock_destroy (&self->norm);
        zsock_destroy (&self->md);
        zsock_destroy (&self->demand);
        for (size_t i = 0; i < TM_PROVIDERS_MAX; i++) {
            zhashx_destroy (&self->refs [i]);
            zframe_destroy (&self->peers [i]);
        }
        zhashx_destroy (&self->seqs);
        tm_failover_destroy (&self->failover);
        msgpack_sbuffer_destroy (&self->buf);
        free (self);
        *self_p = NULL;
    }
}

static void
s_publish_ticks (self_t *self, tm_tick_t *ticks, size_t count)
{
    for (size_t at = 0; at < count; at += TM_BATCH_MAX) {
        size_t n = count - at < TM_BATCH_MAX ? count - at : TM_BATCH_MAX;
        if (tm_tick_publish (self->md, TM_TOPIC_MD, ticks + at, n, &self->buf))
            self->send_failures++;
        else
            self->ticks_out += n;
    }
}

//  Publish what the failover table released: ticks on ALL with the stream's own gap-free
//  seq, in batches of TM_BATCH_MAX, each event in its place among them
static void
s_flush (self_t *self)
{
    size_t count;
    tm_tick_t *out = tm_failover_output (self->failover, &count);
    int64_t now = tm_clock_now_ns ();
    for (size_t i = 0; i < count; i++) {
        snprintf (out [i].stream, sizeof out [i].stream, "%s", TM_STREAM_ALL);
        out [i].seq = tm_seqs_next (self->seqs, out [i].symbol);
        out [i].pub_ts = now;
    }
    size_t sent = 0;
    tm_failover_event_t event;
    while (tm_failover_next_event (self->failover, &event)) {
        size_t upto = event.out_at < count ? event.out_at : count;
        if (upto > sent) {
            s_publish_ticks (self, out + sent, upto - sent);
            sent = upto;
        }
        if (event.kind == TM_FAILOVER_EVENT_SWITCH)
            zsys_info ("arbiter: %s from %s to %s (%s)", event.symbol, event.from, event.to,
                       event.reason);
        if (tm_event_publish (self->md, &event, now, &self->buf))
            self->send_failures++;
        else
            self->events++;
    }
    s_publish_ticks (self, out + sent, count - sent);
    tm_failover_output_clear (self->failover);
}

static void
s_handle_ticks (self_t *self, zframe_t *body)
{
    size_t count;
    if (tm_tick_decode (zframe_data (body), zframe_size (body), self->in, TM_BATCH_MAX, &count)) {
        self->malformed++;
        return;
    }
    int64_t mono = tm_clock_mono_ns ();
    for (size_t i = 0; i < count; i++)
        tm_failover_tick (self->failover, &self->in [i], mono);
    s_flush (self);
}

static void
s_handle_status (self_t *self, zframe_t *body)
{
    tm_status_t status;
    if (tm_status_decode (zframe_data (body), zframe_size (body), &status, NULL)) {
        self->malformed++;
        return;
    }
    int provider = tm_routes_provider_index (self->config->routes, status.provider);
    if (provider < 0)
        return;
    if (self->states [provider] != status.state)
        zsys_info ("arbiter: provider=%s state=%s", status.provider, tm_state_name (status.state));
    self->states [provider] = status.state;
    tm_failover_status (self->failover, (size_t) provider, status.state, status.messages,
                        status.errors, tm_clock_mono_ns ());
    s_flush (self);
}

static void
s_handle_norm (self_t *self)
{
    for (int i = 0; i < 64 && (zsock_events (self->norm) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv (self->norm);
        if (!msg)
            return;
        zframe_t *topic = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        if (!body)
            self->malformed++;
        else
        if (tm_bus_topic_is (topic, TM_TOPIC_STATUS))
            s_handle_status (self, body);
        else
            s_handle_ticks (self, body);
        zmsg_destroy (&msg);
    }
}

//  What one demand message changes, per provider: [peer][WANT|DROP][symbol]... messages
//  being built, sent together by s_changes_send.
typedef struct {
    zmsg_t *want [TM_PROVIDERS_MAX];    //  New wants per provider, or NULL
    zmsg_t *drop [TM_PROVIDERS_MAX];    //  New drops per provider, or NULL
} s_changes_t;

static void
s_changes_add (self_t *self, zmsg_t **msg_p, size_t provider, const char *verb,
               const char *symbol)
{
    if (!self->peers [provider])
        return;                     //  Its HELLO will carry the whole set
    if (!*msg_p) {
        *msg_p = zmsg_new ();
        zmsg_addmem (*msg_p, zframe_data (self->peers [provider]),
                     zframe_size (self->peers [provider]));
        zmsg_addstr (*msg_p, verb);
    }
    zmsg_addstr (*msg_p, symbol);
}

static void
s_send_demand (self_t *self, zmsg_t **msg_p)
{
    if (*msg_p && zmsg_send (msg_p, self->demand) == -1) {
        zsys_warning ("arbiter: a demand message to a connector was not sent");
        zmsg_destroy (msg_p);
    }
}

static void
s_changes_send (self_t *self, s_changes_t *changes)
{
    for (size_t i = 0; i < TM_PROVIDERS_MAX; i++) {
        s_send_demand (self, &changes->want [i]);
        s_send_demand (self, &changes->drop [i]);
    }
}

//  A client took (+1) or left (-1) a stream of a symbol. The ALL stream wants every provider
//  on the symbol's route, so the secondary stays subscribed as a hot standby (DESIGN.md 1).
static void
s_want (self_t *self, const char *stream, const char *symbol, int delta, s_changes_t *changes)
{
    size_t order [TM_PROVIDERS_MAX];
    size_t count;
    if (streq (stream, TM_STREAM_ALL))
        count = tm_routes_lookup (self->config->routes, symbol, order, TM_PROVIDERS_MAX);
    else {
        int index = tm_routes_provider_index (self->config->routes, stream);
        if (index < 0)
            return;
        order [0] = (size_t) index;
        count = 1;
    }
    for (size_t i = 0; i < count; i++) {
        size_t p = order [i];
        uint64_t *wants = (uint64_t *) zhashx_lookup (self->refs [p], symbol);
        if (delta > 0) {
            if (tm_seqs_next (self->refs [p], symbol) == 1)
                s_changes_add (self, &changes->want [p], p, "WANT", symbol);
        }
        else
        if (wants && --*wants == 0) {
            zhashx_delete (self->refs [p], symbol);
            s_changes_add (self, &changes->drop [p], p, "DROP", symbol);
        }
    }
}

//  Send [peer][LOGIN][request_token] to a provider's connector.
static void
s_tell_login (self_t *self, size_t provider, const char *request_token)
{
    zmsg_t *msg = NULL;
    s_changes_add (self, &msg, provider, "LOGIN", request_token);
    s_send_demand (self, &msg);
}

static void
s_handle_demand (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->demand);
    if (!msg)
        return;
    zframe_t *peer = zmsg_pop (msg);
    char *verb = zmsg_popstr (msg);
    char *name = zmsg_popstr (msg);
    if (verb && name && (streq (verb, "WANT") || streq (verb, "DROP"))) {
        s_changes_t changes = { { NULL }, { NULL } };
        char *symbol;
        while ((symbol = zmsg_popstr (msg))) {
            s_want (self, name, symbol, streq (verb, "WANT") ? 1 : -1, &changes);
            free (symbol);
        }
        s_changes_send (self, &changes);
    }
    else
    if (verb && name && streq (verb, "LOGIN")) {
        //  A login callback's request_token, for that provider's connector (never logged)
        char *token = zmsg_popstr (msg);
        int index = tm_routes_provider_index (self->config->routes, name);
        if (index >= 0 && token)
            s_tell_login (self, (size_t) index, token);
        free (token);
    }
    else
    if (verb && name && streq (verb, "HELLO")) {
        int index = tm_routes_provider_index (self->config->routes, name);
        if (index >= 0) {
            zframe_destroy (&self->peers [index]);
            self->peers [index] = zframe_dup (peer);
            //  Everything wanted of it so far, in one message
            zmsg_t *want = NULL;
            zhashx_t *refs = self->refs [index];
            for (void *item = zhashx_first (refs); item; item = zhashx_next (refs))
                s_changes_add (self, &want, (size_t) index, "WANT",
                               (const char *) zhashx_cursor (refs));
            s_send_demand (self, &want);
        }
    }
    else
        zsys_warning ("arbiter: malformed demand message '%s'", verb ? verb : "");
    zframe_destroy (&peer);
    free (verb);
    free (name);
    zmsg_destroy (&msg);
}

static void
s_handle_pipe (self_t *self)
{
    char *command = tm_actor_command (self->pipe, &self->terminated);
    if (command)
        zsys_error ("arbiter: unknown pipe command '%s'", command);
    free (command);
}

static int
s_start (void *args)
{
    self_t *self = (self_t *) args;
    if (zsock_bind (self->md, "%s", TM_BUS_MD) || zsock_connect (self->norm, "%s", TM_BUS_NORM)
    ||  zsock_bind (self->demand, "%s", TM_BUS_DEMAND)) {
        zsys_error ("arbiter: cannot join the bus: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

void
tm_arbiter_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const tm_config_t *) args);
    if (tm_actor_handshake (pipe, s_start, self))
        self->terminated = true;
    self->next_check = tm_clock_mono_ns () + S_CHECK_NS;
    while (!self->terminated) {
        int64_t wait_ms = (self->next_check - tm_clock_mono_ns ()) / 1000000;
        void *which = zpoller_wait (self->poller, wait_ms > 0 ? (int) wait_ms : 0);
        int64_t mono = tm_clock_mono_ns ();
        if (mono >= self->next_check) {
            tm_failover_check (self->failover, mono);
            s_flush (self);
            self->next_check = mono + S_CHECK_NS;
        }
        if (which == self->pipe)
            s_handle_pipe (self);
        else
        if (which == self->norm)
            s_handle_norm (self);
        else
        if (which == self->demand)
            s_handle_demand (self);
    }
    zsys_info ("arbiter: stopped ticks_out=%" PRIu64 " dropped=%" PRIu64 " switches=%" PRIu64
               " resyncs=%" PRIu64 " malformed=%" PRIu64, self->ticks_out,
               tm_failover_dropped (self->failover), tm_failover_switches (self->failover),
               tm_failover_resyncs (self->failover), self->malformed);
    s_self_destroy (&self);
}
