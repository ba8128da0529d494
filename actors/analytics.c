//  analytics - live per-provider figures (see analytics.h)

#include "tickmux.h"
#include "analytics.h"

#define S_PUBLISH_NS    1000000000LL    //  A stats record per provider this often

typedef struct {
    tm_window_t *latency [TM_STAGES];   //  Samples per stage
    tm_window_t *ticks;             //  Tally of its ticks
    tm_window_t *messages;          //  Tally of its upstream messages (status deltas)
    tm_window_t *errors;            //  Tally of its errors (status deltas, disconnects)
    uint64_t ticks_total;
    uint64_t messages_total;        //  As of its last status
    uint64_t errors_total;          //  Connector's count as of its last status
    uint64_t disconnects;           //  Times it left CONNECTED
    tm_state_t state;               //  Last reported
    bool reported;                  //  A status arrived
} s_provider_t;

typedef struct {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *norm;                  //  SUB: providers' streams and status
    zsock_t *md;                    //  SUB: the ALL stream
    zsock_t *pub;                   //  PUB, bound: stats.<PROVIDER>
    zpoller_t *poller;
    const tm_config_t *config;      //  Borrowed from main
    s_provider_t providers [TM_PROVIDERS_MAX];
    tm_tick_t ticks [TM_BATCH_MAX]; //  Decode buffer
    msgpack_sbuffer buf;            //  Scratch for encoding
    int64_t next_publish;           //  Monotonic ns
    uint64_t malformed;             //  Bus messages that did not decode
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
    self->md = tm_bus_sub_new (TM_TOPIC_MD, NULL);
    self->pub = tm_bus_pub_new ();
    for (size_t i = 0; i < config->providers_count; i++) {
        s_provider_t *p = &self->providers [i];
        for (int s = 0; s < TM_STAGES; s++)
            p->latency [s] = tm_window_new ();
        p->ticks = tm_window_new ();
        p->messages = tm_window_new ();
        p->errors = tm_window_new ();
        p->state = TM_STATE_CONNECTING;
    }
    self->poller = zpoller_new (pipe, self->norm, self->md, NULL);
    zpoller_set_nonstop (self->poller, true);
    msgpack_sbuffer_init (&self->buf);
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (self) {
        for (size_t i = 0; i < TM_PROVIDERS_MAX; i++) {
            s_provider_t *p = &self->providers [i];
            for (int s = 0; s < TM_STAGES; s++)
                tm_window_destroy (&p->latency [s]);
            tm_window_destroy (&p->ticks);
            tm_window_destroy (&p->messages);
            tm_window_destroy (&p->errors);
        }
        zpoller_destroy (&self->poller);
        zsock_destroy (&self->norm);
        zsock_destroy (&self->md);
        zsock_destroy (&self->pub);
        msgpack_sbuffer_destroy (&self->buf);
        free (self);
        *self_p = NULL;
    }
}

static void
s_handle_status (self_t *self, zframe_t *body, int64_t now)
{
    tm_status_t st;
    if (tm_status_decode (zframe_data (body), zframe_size (body), &st, NULL)) {
        self->malformed++;
        return;
    }
    int index = tm_config_provider_index (self->config, st.provider);
    if (index < 0)
        return;
    s_provider_t *p = &self->providers [index];
    //  Counters only grow within a connector's life; a smaller one starts them again
    uint64_t messages = p->reported && st.messages >= p->messages_total
                      ? st.messages - p->messages_total : 0;
    uint64_t errors = p->reported && st.errors >= p->errors_total
                    ? st.errors - p->errors_total : 0;
    if (p->reported && p->state == TM_STATE_CONNECTED && st.state != TM_STATE_CONNECTED) {
        p->disconnects++;
        errors++;
    }
    tm_window_tally (p->messages, messages, now);
    tm_window_tally (p->errors, errors, now);
    p->messages_total = st.messages;
    p->errors_total = st.errors;
    p->state = st.state;
    p->reported = true;
}

//  Ticks of the providers' own streams (norm) or of ALL (md)
static void
s_handle_ticks (self_t *self, zframe_t *body, bool all, int64_t now)
{
    size_t count;
    if (tm_tick_decode (zframe_data (body), zframe_size (body), self->ticks, TM_BATCH_MAX,
                        &count)) {
        self->malformed++;
        return;
    }
    for (size_t i = 0; i < count; i++) {
        const tm_tick_t *tick = &self->ticks [i];
        int index = tm_config_provider_index (self->config, tick->provider);
        if (index < 0)
            continue;
        s_provider_t *p = &self->providers [index];
        if (all)
            tm_window_add (p->latency [TM_STAGE_RECEIVE_TO_PUBLISH], tick->pub_ts - tick->recv_ts,
                           now);
        else {
            p->ticks_total++;
            tm_window_tally (p->ticks, 1, now);
            if (tick->exchange_ts > 0)
                tm_window_add (p->latency [TM_STAGE_EXCHANGE_TO_RECEIVE],
                               tick->recv_ts - tick->exchange_ts, now);
        }
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
        int64_t now = tm_clock_mono_ns ();
        if (!body)
            self->malformed++;
        else
        if (tm_bus_topic_is (topic, TM_TOPIC_STATUS))
            s_handle_status (self, body, now);
        else
            s_handle_ticks (self, body, sock == self->md, now);
        zmsg_destroy (&msg);
    }
}

static void
s_publish (self_t *self, int64_t now)
{
    for (size_t i = 0; i < self->config->providers_count; i++) {
        s_provider_t *p = &self->providers [i];
        tm_stats_t st;
        memset (&st, 0, sizeof st);
        snprintf (st.provider, sizeof st.provider, "%s", self->config->providers [i].name);
        st.ts = tm_clock_now_ns ();
        for (int w = 0; w < TM_WINDOWS; w++) {
            int seconds = tm_window_seconds [w];
            for (int s = 0; s < TM_STAGES; s++)
                tm_window_quantiles (p->latency [s], seconds, now, &st.latency [s][w]);
            tm_quantiles_t ticks, messages, errors;
            tm_window_quantiles (p->ticks, seconds, now, &ticks);
            tm_window_quantiles (p->messages, seconds, now, &messages);
            tm_window_quantiles (p->errors, seconds, now, &errors);
            st.message_rate [w] = (double) ticks.count / seconds;
            st.error_rate [w] = messages.count + errors.count
                              ? (double) errors.count / (double) (messages.count > errors.count
                                                                  ? messages.count : errors.count)
                              : 0;
        }
        for (int s = 0; s < TM_STAGES; s++)
            tm_window_histogram (p->latency [s], st.hist [s], &st.hist_count [s],
                                 &st.hist_sum [s]);
        st.ticks = p->ticks_total;
        st.messages = p->messages_total;
        st.errors = p->errors_total + p->disconnects;
        st.disconnects = p->disconnects;
        char topic [TM_TOPIC_MAX];
        snprintf (topic, sizeof topic, "%s%s", TM_TOPIC_STATS, st.provider);
        msgpack_sbuffer_clear (&self->buf);
        tm_stats_encode (&st, &self->buf);
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, topic);
        zmsg_addmem (msg, self->buf.data, self->buf.size);
        if (zmsg_send (&msg, self->pub) == -1)
            zmsg_destroy (&msg);
    }
}

static int
s_start (void *args)
{
    self_t *self = (self_t *) args;
    if (zsock_bind (self->pub, "%s", TM_BUS_STATS) || zsock_connect (self->norm, "%s", TM_BUS_NORM)
    ||  zsock_connect (self->md, "%s", TM_BUS_MD)) {
        zsys_error ("analytics: cannot join the bus: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

void
tm_analytics_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const tm_config_t *) args);
    if (tm_actor_handshake (pipe, s_start, self))
        self->terminated = true;
    //  On a whole second, so each record's 1 s window has just been completed
    int64_t now = tm_clock_mono_ns ();
    self->next_publish = (now / S_PUBLISH_NS + 1) * S_PUBLISH_NS + 1000000;
    while (!self->terminated) {
        int64_t wait_ms = (self->next_publish - tm_clock_mono_ns ()) / 1000000;
        void *which = zpoller_wait (self->poller, wait_ms > 0 ? (int) wait_ms : 0);
        if (which == self->pipe) {
            char *command = tm_actor_command (self->pipe, &self->terminated);
            free (command);
        }
        else
        if (which == self->norm || which == self->md)
            s_handle_bus (self, which);
        now = tm_clock_mono_ns ();
        if (now >= self->next_publish) {
            s_publish (self, now);
            self->next_publish = (now / S_PUBLISH_NS + 1) * S_PUBLISH_NS + 1000000;
        }
    }
    s_self_destroy (&self);
}
