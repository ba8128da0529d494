//  normalizer - raw provider ticks to normalized ticks (see normalizer.h)
//
//  Does not know any provider's wire format: connectors decode their frames into tm_tick_t
//  already. What it owns is what must be the same for every provider: the canonical symbol,
//  the sanity checks, the per-(provider, symbol) sequence numbers and the norm timestamp.

#include "tickmux.h"
#include "normalizer.h"

typedef struct {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *raw;                   //  SUB, bound: every connector connects
    zsock_t *norm;                  //  PUB, bound: arbiter and gateway connect
    zpoller_t *poller;              //  Pipe and raw
    const tm_config_t *config;      //  Borrowed from main
    zhashx_t *seqs [TM_PROVIDERS_MAX];  //  Per provider: symbol -> uint64_t * last seq (owned)
    tm_tick_t in [TM_BATCH_MAX];    //  Decoded raw batch
    tm_tick_t out [TM_BATCH_MAX];   //  Accepted ticks, to publish
    msgpack_sbuffer buf;            //  Scratch for encoding
    uint64_t ticks_in;              //  Raw ticks decoded
    uint64_t ticks_out;             //  Ticks published
    uint64_t rejected;              //  Ticks dropped by the checks
    uint64_t rejected_of [TM_PROVIDERS_MAX];    //  Of which per provider
    char (*symbols) [TM_SYMBOL_MAX];    //  Decode buffer of a status's symbols
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
    self->symbols = calloc (TM_STATUS_SYMBOLS_MAX, TM_SYMBOL_MAX);
    assert (self->symbols);
    self->config = config;
    self->raw = tm_bus_sub_new ("", NULL);
    self->norm = tm_bus_pub_new ();
    for (size_t i = 0; i < config->providers_count; i++)
        self->seqs [i] = tm_seqs_new ();
    self->poller = zpoller_new (pipe, self->raw, NULL);
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
        zsock_destroy (&self->raw);
        zsock_destroy (&self->norm);
        for (size_t i = 0; i < TM_PROVIDERS_MAX; i++)
            zhashx_destroy (&self->seqs [i]);
        msgpack_sbuffer_destroy (&self->buf);
        free (self->symbols);
        free (self);
        *self_p = NULL;
    }
}

static bool
s_price_ok (double price)
{
    return isfinite (price) && price > 0;
}

static void
s_handle_ticks (self_t *self, zframe_t *body)
{
    size_t count;
    if (tm_tick_decode (zframe_data (body), zframe_size (body), self->in, TM_BATCH_MAX, &count)) {
        if (self->malformed++ == 0)
            zsys_warning ("normalizer: malformed raw tick body size=%zu (logged once)",
                          zframe_size (body));
        return;
    }
    self->ticks_in += count;
    int64_t now = tm_clock_now_ns ();
    size_t accepted = 0;
    for (size_t i = 0; i < count; i++) {
        tm_tick_t *tick = &self->in [i];
        int provider = tm_config_provider_index (self->config, tick->provider);
        if (provider < 0 || !s_price_ok (tick->last_price)
        ||  tick->volume < 0 || tick->last_quantity < 0) {
            if (provider >= 0)
                self->rejected_of [provider]++;
            if (self->rejected++ == 0)
                zsys_warning ("normalizer: rejected tick provider=%s symbol=%s price=%g "
                              "(logged once)", tick->provider, tick->symbol, tick->last_price);
            continue;
        }
        tm_tick_t *out = &self->out [accepted++];
        *out = *tick;
        //  The provider's own stream: named after the instance, numbered per symbol.
        memcpy (out->stream, out->provider, sizeof out->stream);
        out->seq = tm_seqs_next (self->seqs [provider], out->symbol);
        out->norm_ts = now;
        out->pub_ts = now;
    }
    if (accepted == 0)
        return;
    if (tm_tick_publish (self->norm, TM_TOPIC_MD, self->out, accepted, &self->buf))
        self->send_failures++;
    else
        self->ticks_out += accepted;
}

static void
s_handle_raw (self_t *self)
{
    //  A bounded batch per wake-up, so the pipe is never starved.
    for (int i = 0; i < 64 && (zsock_events (self->raw) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv (self->raw);
        if (!msg)
            return;
        zframe_t *topic = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        if (!body || zmsg_size (msg) != 2) {
            self->malformed++;
        }
        else
        if (tm_bus_topic_is (topic, TM_TOPIC_RAW))
            s_handle_ticks (self, body);
        else
        if (tm_bus_topic_is (topic, TM_TOPIC_STATUS)) {
            //  Status passes through once it decodes; symbols are canonical for SIM already.
            //  The ticks of the provider we rejected count among its errors (the analytics'
            //  error rate, the arbiter's health), so a status then goes out with them added.
            tm_status_t status;
            if (tm_status_decode (zframe_data (body), zframe_size (body), &status,
                                  self->symbols) == 0) {
                int provider = tm_config_provider_index (self->config, status.provider);
                if (provider >= 0 && self->rejected_of [provider]) {
                    status.errors += self->rejected_of [provider];
                    if (tm_status_publish (self->norm, &status, &self->buf))
                        self->send_failures++;
                }
                else
                if (zmsg_send (&msg, self->norm) == -1)
                    self->send_failures++;
            }
            else
                self->malformed++;
        }
        else
        if (tm_bus_topic_is (topic, TM_TOPIC_ORDER)) {
            //  Order updates are the provider's own objects: checked, then passed on as they are.
            char provider [TM_PROVIDER_MAX];
            const char *json;
            size_t len;
            if (tm_order_decode (zframe_data (body), zframe_size (body), provider,
                                 sizeof provider, &json, &len) == 0) {
                if (zmsg_send (&msg, self->norm) == -1)
                    self->send_failures++;
            }
            else
                self->malformed++;
        }
        else
            self->malformed++;
        zmsg_destroy (&msg);
    }
}

static void
s_handle_pipe (self_t *self)
{
    char *command = tm_actor_command (self->pipe, &self->terminated);
    if (!command)
        return;
    if (streq (command, "STATS")) {
        char json [256];
        snprintf (json, sizeof json, "{\"ticks_in\":%" PRIu64 ",\"ticks_out\":%" PRIu64
                  ",\"rejected\":%" PRIu64 ",\"malformed\":%" PRIu64 "}", self->ticks_in,
                  self->ticks_out, self->rejected, self->malformed);
        zsock_send (self->pipe, "ss", "STATS", json);
    }
    else
        zsys_error ("normalizer: unknown pipe command '%s'", command);
    free (command);
}

static int
s_start (void *args)
{
    self_t *self = (self_t *) args;
    if (zsock_bind (self->raw, "%s", TM_BUS_RAW) || zsock_bind (self->norm, "%s", TM_BUS_NORM)) {
        zsys_error ("normalizer: cannot bind the bus: %s", zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
}

void
tm_normalizer_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const tm_config_t *) args);
    if (tm_actor_handshake (pipe, s_start, self))
        self->terminated = true;
    while (!self->terminated) {
        void *which = zpoller_wait (self->poller, -1);
        if (which == self->pipe)
            s_handle_pipe (self);
        else
        if (which == self->raw)
            s_handle_raw (self);
    }
    zsys_info ("normalizer: stopped ticks_in=%" PRIu64 " ticks_out=%" PRIu64 " rejected=%"
               PRIu64 " malformed=%" PRIu64, self->ticks_in, self->ticks_out, self->rejected,
               self->malformed);
    s_self_destroy (&self);
}
