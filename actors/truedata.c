//  truedata - the TrueData connector (see truedata.h)
//
//  One thread owns an lws client context; the actor pipe and the demand DEALER join its loop
//  through tm_lws_adopt. Messages are decoded by truedata_msg.c; this file owns the one feed
//  connection, the symbol ids of the session, each symbol's tick state, timers and the bus.

#include "tickmux.h"
#include <libwebsockets.h>
#include "lwsbus.h"
#include "truedata_msg.h"
#include "truedata.h"

#define S_TICK_US           (100 * 1000)    //  Housekeeping: staleness, status, retries
#define S_DEFAULT_HOST      "push.truedata.in"

typedef enum { S_IDLE, S_CONNECTING, S_WAITING_WELCOME, S_OPEN } s_link_t;

typedef struct {
    tm_tick_t tick;                 //  The symbol's whole state, from its snapshot on
    bool live;                      //  A snapshot arrived this session
} s_symbol_t;

typedef struct {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *pub;                   //  Raw ticks and status -> normalizer
    zsock_t *demand;                //  DEALER to the arbiter's demand ROUTER
    const tm_provider_config_t *config; //  Borrowed from main
    struct lws_context *context;    //  Our lws loop (client only)
    struct lws_vhost *vhost;        //  For adopting the fds
    struct lws *wsi;                //  The feed connection, NULL when closed
    s_link_t link;                  //  Where the connection is
    char user [128];                //  TRUEDATA_USERNAME; never logged
    char password [128];            //  TRUEDATA_PASSWORD; never logged
    char url [TM_PATH_MAX];         //  Feed URL without the credentials
    zhashx_t *wanted;               //  Symbol -> s_symbol_t * (owned): what the arbiter wants
    zhashx_t *ids;                  //  Session id (decimal text) -> s_symbol_t * (borrowed)
    zlistx_t *outbox;               //  char * text frames to send (owned)
    char *rx;                       //  Message being reassembled (owned, TM_TD_TEXT_MAX)
    size_t rx_len;                  //  Bytes in rx
    bool rx_binary;                 //  Current message is binary
    tm_td_row_t *rows;              //  Decode buffer for snapshot rows (TM_TD_ROWS_MAX)
    tm_td_msg_t msg;                //  Decode buffer
    int64_t last_rx_mono;           //  Last message of any kind (ns)
    int64_t retry_at_mono;          //  When to connect again (ns), 0 = not scheduled
    unsigned attempts;              //  Consecutive failed connects, for the backoff
    bool refused;                   //  The last login was refused: retry slowly
    tm_status_t status;             //  What we report
    int64_t next_status_mono;       //  Next status heartbeat
    msgpack_sbuffer buf;            //  Scratch for encoding
    lws_sorted_usec_list_t tick_sul;    //  Housekeeping timer
    lws_sorted_usec_list_t drain_sul;   //  Continue a drain that hit its batch limit
    uint64_t unknown;               //  Messages of kinds we do not know
    uint64_t binary;                //  Binary (compressed-mode) frames
    uint64_t invalid_symbols;       //  Symbols the server refused
    bool terminated;                //  $TERM received
} self_t;

//  ------------------------------------------------------------------------------------------
//  Status

static void
s_publish_status (self_t *self)
{
    self->next_status_mono = tm_status_report (self->pub, &self->status, &self->buf);
}

static void
s_set_state (self_t *self, tm_state_t state, const char *reason)
{
    tm_status_change (self->pub, &self->status, &self->buf, state, reason,
                      &self->next_status_mono);
}

//  ------------------------------------------------------------------------------------------
//  Requests

static void
s_queue (self_t *self, char *text)
{
    if (!text)
        return;
    zlistx_add_end (self->outbox, text);
    if (self->wsi && self->link == S_OPEN)
        lws_callback_on_writable (self->wsi);
}

//  addsymbol / removesymbol for a list of symbols, in messages of at most TM_TD_BATCH_MAX
static void
s_request (self_t *self, const char *method, zlistx_t *symbols)
{
    const char *batch [TM_TD_BATCH_MAX];
    size_t count = 0;
    for (const char *symbol = (const char *) zlistx_first (symbols); symbol;
         symbol = (const char *) zlistx_next (symbols)) {
        batch [count++] = symbol;
        if (count == TM_TD_BATCH_MAX) {
            s_queue (self, tm_td_request (method, batch, count));
            count = 0;
        }
    }
    if (count)
        s_queue (self, tm_td_request (method, batch, count));
}

//  Everything wanted, once the login is through (after every reconnect: the server keeps no
//  subscriptions across sessions).
static void
s_subscribe_all (self_t *self)
{
    zlistx_t *all = zlistx_new ();
    for (void *item = zhashx_first (self->wanted); item; item = zhashx_next (self->wanted))
        zlistx_add_end (all, (void *) zhashx_cursor (self->wanted));
    s_request (self, "addsymbol", all);
    zlistx_destroy (&all);
}

static void
s_free_symbol (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_handle_demand (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->demand);
    if (!msg)
        return;
    char *verb = zmsg_popstr (msg);
    bool want = verb && streq (verb, "WANT");
    bool drop = verb && streq (verb, "DROP");
    zlistx_t *changed = zlistx_new ();
    zlistx_set_destructor (changed, (zlistx_destructor_fn *) zstr_free);
    char *symbol;
    while ((want || drop) && (symbol = zmsg_popstr (msg))) {
        s_symbol_t *state = (s_symbol_t *) zhashx_lookup (self->wanted, symbol);
        if (want && !state && strlen (symbol) < TM_SYMBOL_MAX) {
            state = (s_symbol_t *) zmalloc (sizeof (s_symbol_t));
            assert (state);
            zhashx_insert (self->wanted, symbol, state);
            zlistx_add_end (changed, symbol);
            symbol = NULL;
        }
        else
        if (drop && state) {
            //  Forget the id too, so a late message for it is not published
            zhashx_delete (self->ids, state->tick.token);
            zhashx_delete (self->wanted, symbol);
            zlistx_add_end (changed, symbol);
            symbol = NULL;
        }
        free (symbol);
    }
    if (self->link == S_OPEN && zlistx_size (changed))
        s_request (self, want ? "addsymbol" : "removesymbol", changed);
    zlistx_destroy (&changed);
    free (verb);
    zmsg_destroy (&msg);
}

//  ------------------------------------------------------------------------------------------
//  Messages from the feed

static void
s_publish (self_t *self, s_symbol_t *state)
{
    tm_tick_t *tick = &state->tick;
    memcpy (tick->stream, self->config->name, sizeof tick->stream);
    memcpy (tick->provider, self->config->name, sizeof tick->provider);
    tick->recv_ts = tm_clock_now_ns ();
    tick->seq = 0;
    tick->norm_ts = tick->pub_ts = 0;
    if (tick->exchange_ts == 0)
        tick->exchange_ts = tick->recv_ts;
    if (tm_tick_publish (self->pub, TM_TOPIC_RAW, tick, 1, &self->buf))
        self->status.errors++;
}

static void
s_handle_rows (self_t *self)
{
    for (size_t i = 0; i < self->msg.rows_count; i++) {
        tm_td_row_t *row = &self->rows [i];
        s_symbol_t *state = (s_symbol_t *) zhashx_lookup (self->wanted, row->symbol);
        if (row->invalid || !state) {
            if (row->invalid && self->invalid_symbols++ < 10)
                zsys_warning ("truedata %s: the server refused symbol=%s", self->config->name,
                              row->symbol);
            continue;
        }
        tm_td_row_to_tick (row, &state->tick);
        state->live = true;
        zhashx_update (self->ids, state->tick.token, state);
        s_publish (self, state);
    }
}

static void
s_handle_message (self_t *self, const char *text, size_t len)
{
    self->status.messages++;
    tm_td_msg_t *msg = &self->msg;
    if (tm_td_decode (text, len, msg, self->rows, TM_TD_ROWS_MAX)) {
        if (self->status.errors++ < 10)
            zsys_warning ("truedata %s: malformed message len=%zu", self->config->name, len);
        return;
    }
    //  Before the welcome, any refusal is the login's verdict (truedata.md errata)
    if (self->link == S_WAITING_WELCOME && msg->kind == TM_TD_REFUSED)
        msg->kind = TM_TD_WELCOME;
    switch (msg->kind) {
        case TM_TD_WELCOME:
            if (msg->success) {
                self->link = S_OPEN;
                self->attempts = 0;
                self->refused = false;
                zhashx_purge (self->ids);   //  Ids are session-scoped (truedata.md 3.2)
                s_subscribe_all (self);
                lws_callback_on_writable (self->wsi);
                s_set_state (self, TM_STATE_CONNECTED, "");
            }
            else {
                char reason [TM_REASON_MAX];
                snprintf (reason, sizeof reason, "login refused: %.100s", msg->reason);
                self->refused = true;
                s_set_state (self, TM_STATE_AUTH_FAILED, reason);
                lws_set_timeout (self->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            }
            break;
        case TM_TD_ADDED:
        case TM_TD_TOUCHLINE:
            s_handle_rows (self);
            break;
        case TM_TD_TRADE:
        case TM_TD_BIDASK:
        case TM_TD_BIDASK_L2:
        case TM_TD_GREEKS: {
            char id [24];
            snprintf (id, sizeof id, "%" PRIu64, msg->id);
            s_symbol_t *state = (s_symbol_t *) zhashx_lookup (self->ids, id);
            if (state && state->live && tm_td_apply (msg, &state->tick) == 0)
                s_publish (self, state);
            break;
        }
        case TM_TD_MARKETSTATUS: {
            char reason [TM_REASON_MAX];
            snprintf (reason, sizeof reason, "market: %.100s", msg->reason);
            s_set_state (self, self->status.state, reason);
            break;
        }
        case TM_TD_REFUSED:
            zsys_warning ("truedata %s: server says %s", self->config->name, msg->reason);
            break;
        case TM_TD_UNKNOWN:
            if (self->unknown++ == 0)
                zsys_warning ("truedata %s: a message of an unknown kind (counted, logged once)",
                              self->config->name);
            break;
        default:                    //  HeartBeat, removals, bars: liveness only here
            break;
    }
}

static int
s_receive (self_t *self, struct lws *wsi, const void *in, size_t len)
{
    self->last_rx_mono = tm_clock_mono_ns ();
    if (lws_is_first_fragment (wsi)) {
        self->rx_len = 0;
        self->rx_binary = lws_frame_is_binary (wsi);
    }
    if (self->rx_len + len > TM_TD_TEXT_MAX) {
        self->status.errors++;
        zsys_warning ("truedata %s: message larger than %d bytes; reconnecting",
                      self->config->name, TM_TD_TEXT_MAX);
        return -1;
    }
    memcpy (self->rx + self->rx_len, in, len);
    self->rx_len += len;
    if (!lws_is_final_fragment (wsi) || lws_remaining_packet_payload (wsi))
        return 0;
    if (self->rx_binary) {
        //  Compressed mode (truedata.md 8) is chosen by TrueData per account: say so, go on
        self->status.errors++;
        if (self->binary++ == 0)
            s_set_state (self, self->status.state, "compressed mode not supported: ask "
                         "TrueData for the JSON feed");
    }
    else
        s_handle_message (self, self->rx, self->rx_len);
    self->rx_len = 0;
    return 0;
}

//  ------------------------------------------------------------------------------------------
//  The connection

static void
s_connect (self_t *self)
{
    self->retry_at_mono = 0;
    char url [TM_PATH_MAX];
    snprintf (url, sizeof url, "%s", self->url);
    const char *scheme, *address, *path;
    int port;
    if (lws_parse_uri (url, &scheme, &address, &port, &path)) {
        s_set_state (self, TM_STATE_DISCONNECTED, "TRUEDATA_URL does not parse");
        self->retry_at_mono = tm_clock_mono_ns () + TM_TRUEDATA_AUTH_RETRY_MS * 1000000LL;
        return;
    }
    char full [TM_PATH_MAX + 1024];
    snprintf (full, sizeof full, "/%s%suser=", path, strchr (path, '?') ? "&" : "?");
    tm_url_append (full, sizeof full, self->user);
    strcat (full, "&password=");
    tm_url_append (full, sizeof full, self->password);
    struct lws_client_connect_info info;
    memset (&info, 0, sizeof info);
    info.context = self->context;
    info.address = address;
    info.port = port;
    info.path = full;
    info.host = address;
    info.origin = address;
    info.ssl_connection = streq (scheme, "wss") ? LCCSCF_USE_SSL : 0;
    info.ietf_version_or_minus_one = -1;
    info.userdata = self;
    info.pwsi = &self->wsi;
    self->link = S_CONNECTING;
    if (!lws_client_connect_via_info (&info)) {
        self->link = S_IDLE;
        self->retry_at_mono = tm_clock_mono_ns ()
            + tm_backoff_ms (++self->attempts, 1000, TM_TRUEDATA_BACKOFF_MAX_MS) * 1000000LL;
    }
}

static void
s_closed (self_t *self, const char *why, int http)
{
    bool was_open = self->link == S_OPEN;
    self->link = S_IDLE;
    self->wsi = NULL;
    self->rx_len = 0;
    zlistx_purge (self->outbox);
    if (self->terminated)
        return;
    if (http == 401 || http == 403) {
        self->refused = true;
        s_set_state (self, TM_STATE_AUTH_FAILED, "login refused (HTTP 401/403 on the upgrade)");
    }
    int64_t delay = self->refused ? TM_TRUEDATA_AUTH_RETRY_MS
                  : was_open ? 0 : tm_backoff_ms (++self->attempts, 1000, TM_TRUEDATA_BACKOFF_MAX_MS);
    self->retry_at_mono = tm_clock_mono_ns () + delay * 1000000LL;
    if (!self->refused)
        s_set_state (self, TM_STATE_DISCONNECTED, why);
}

//  ------------------------------------------------------------------------------------------
//  Loop

static void
s_handle_pipe (self_t *self)
{
    char *command = tm_actor_command (self->pipe, &self->terminated);
    if (command)
        zsys_error ("truedata %s: unknown pipe command '%s'", self->config->name, command);
    free (command);
}

static bool
s_drain (self_t *self, zsock_t *sock)
{
    for (int i = 0; i < 256; i++) {
        if (self->terminated || !(zsock_events (sock) & ZMQ_POLLIN))
            return false;
        if (sock == self->pipe)
            s_handle_pipe (self);
        else
            s_handle_demand (self);
    }
    return !self->terminated && (zsock_events (sock) & ZMQ_POLLIN);
}

static void
s_drain_all (lws_sorted_usec_list_t *sul)
{
    self_t *self = lws_container_of (sul, self_t, drain_sul);
    bool more = s_drain (self, self->pipe);
    more |= s_drain (self, self->demand);
    if (more)
        lws_sul_schedule (self->context, 0, &self->drain_sul, s_drain_all, 0);
}

static void
s_housekeeping (lws_sorted_usec_list_t *sul)
{
    self_t *self = lws_container_of (sul, self_t, tick_sul);
    int64_t now = tm_clock_mono_ns ();
    s_drain_all (&self->drain_sul);
    if (self->terminated)
        return;
    if ((self->link == S_OPEN || self->link == S_WAITING_WELCOME)
    &&  now - self->last_rx_mono > TM_TRUEDATA_STALE_MS * 1000000LL) {
        //  Connected but mute: two heartbeats missed. Say so, then reconnect.
        s_set_state (self, TM_STATE_STALE, "no message for 12 s");
        lws_set_timeout (self->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        self->link = S_CONNECTING;  //  Until CLOSED arrives
    }
    else
    if (self->link == S_IDLE && self->retry_at_mono && now >= self->retry_at_mono)
        s_connect (self);
    if (now >= self->next_status_mono)
        s_publish_status (self);
    lws_sul_schedule (self->context, 0, &self->tick_sul, s_housekeeping, S_TICK_US);
}

static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    self_t *self = (self_t *) lws_context_user (lws_get_context (wsi));
    switch (reason) {
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            self->link = S_WAITING_WELCOME;     //  The login verdict is the first message
            self->last_rx_mono = tm_clock_mono_ns ();
            break;
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
            char why [TM_REASON_MAX];
            snprintf (why, sizeof why, "feed connect failed: %s",
                      in ? (const char *) in : "unknown error");
            s_closed (self, why, (int) lws_http_client_http_response (wsi));
            break;
        }
        case LWS_CALLBACK_CLIENT_RECEIVE:
            return s_receive (self, wsi, in, len);
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return tm_lws_write_next (self->wsi, self->outbox);
        case LWS_CALLBACK_CLIENT_CLOSED:
            s_closed (self, "feed connection closed", 0);
            break;
        case LWS_CALLBACK_RAW_RX_FILE: {
            zsock_t *sock = (zsock_t *) lws_get_opaque_user_data (wsi);
            if (sock && s_drain (self, sock))
                lws_sul_schedule (self->context, 0, &self->drain_sul, s_drain_all, 0);
            break;
        }
        default:
            break;
    }
    (void) user;
    return 0;
}

static struct lws_protocols s_protocols [] = {
    { "truedata-feed", s_callback, 0, 4096, 0, NULL, 0 },
    { "truedata-bus", s_callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

//  The feed URL: the config's, else TRUEDATA_URL (a whole URL, or a host) with TRUEDATA_PORT
//  (8084, or 8086 with TRUEDATA_SANDBOX=true: truedata.md 1, ports are per account)
static void
s_resolve_url (self_t *self)
{
    const char *url = self->config->ws_url [0] ? self->config->ws_url : getenv ("TRUEDATA_URL");
    if (url && strstr (url, "://")) {
        snprintf (self->url, sizeof self->url, "%s", url);
        return;
    }
    const char *sandbox = getenv ("TRUEDATA_SANDBOX");
    const char *port = getenv ("TRUEDATA_PORT");
    bool test = sandbox && (streq (sandbox, "true") || streq (sandbox, "1"));
    snprintf (self->url, sizeof self->url, "wss://%.200s:%.8s", url && *url ? url : S_DEFAULT_HOST,
              port && *port ? port : test ? "8086" : "8084");
}

static self_t *
s_self_new (zsock_t *pipe, const tm_provider_config_t *config)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    assert (self);
    self->pipe = pipe;
    self->config = config;
    self->pub = tm_bus_pub_new ();
    self->demand = zsock_new (ZMQ_DEALER);
    assert (self->demand);
    zsock_set_rcvhwm (self->demand, TM_DEMAND_HWM);
    zsock_set_sndhwm (self->demand, TM_DEMAND_HWM);
    self->wanted = zhashx_new ();
    zhashx_set_destructor (self->wanted, s_free_symbol);
    self->ids = zhashx_new ();
    self->outbox = zlistx_new ();
    zlistx_set_destructor (self->outbox, (zlistx_destructor_fn *) zstr_free);
    self->rx = (char *) malloc (TM_TD_TEXT_MAX);
    self->rows = (tm_td_row_t *) calloc (TM_TD_ROWS_MAX, sizeof (tm_td_row_t));
    assert (self->rx && self->rows);
    msgpack_sbuffer_init (&self->buf);
    //  The environment, else systemd credentials of the same names
    if (!tm_config_secret ("TRUEDATA_USERNAME", self->user, sizeof self->user))
        self->user [0] = '\0';
    if (!tm_config_secret ("TRUEDATA_PASSWORD", self->password, sizeof self->password))
        self->password [0] = '\0';
    s_resolve_url (self);
    snprintf (self->status.provider, sizeof self->status.provider, "%s", config->name);
    snprintf (self->status.kind, sizeof self->status.kind, "%s", config->kind);
    self->status.state = TM_STATE_CONNECTING;
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    if (self->context) {
        lws_sul_cancel (&self->tick_sul);
        lws_sul_cancel (&self->drain_sul);
        lws_context_destroy (self->context);
    }
    zhashx_destroy (&self->ids);
    zhashx_destroy (&self->wanted);
    zlistx_destroy (&self->outbox);
    free (self->rx);
    free (self->rows);
    msgpack_sbuffer_destroy (&self->buf);
    zsock_destroy (&self->pub);
    zsock_destroy (&self->demand);
    free (self);
    *self_p = NULL;
}

static int
s_start (void *args)
{
    self_t *self = (self_t *) args;
    if (!self->user [0] || !self->password [0]) {
        zsys_error ("truedata %s: TRUEDATA_USERNAME and TRUEDATA_PASSWORD must be set",
                    self->config->name);
        return -1;
    }
    if (zsock_connect (self->pub, "%s", TM_BUS_RAW)
    ||  zsock_connect (self->demand, "%s", TM_BUS_DEMAND))
        return -1;
    self->context = tm_lws_client_new (s_protocols, self, &self->vhost);
    if (!self->context
    ||  tm_lws_adopt (self->vhost, self->pipe, "truedata-bus")
    ||  tm_lws_adopt (self->vhost, self->demand, "truedata-bus"))
        return -1;
    zstr_sendx (self->demand, "HELLO", self->config->name, NULL);
    s_publish_status (self);
    s_connect (self);
    lws_sul_schedule (self->context, 0, &self->tick_sul, s_housekeeping, S_TICK_US);
    return 0;
}

void
tm_truedata_actor (zsock_t *pipe, void *args)
{
    self_t *self = s_self_new (pipe, (const tm_provider_config_t *) args);
    if (tm_actor_handshake (pipe, s_start, self) == 0)
        s_drain_all (&self->drain_sul);
    else
        self->terminated = true;
    while (!self->terminated)
        if (lws_service (self->context, 0) < 0)
            break;
    s_self_destroy (&self);
}
