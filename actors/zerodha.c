//  zerodha - the Zerodha Kite connector (see zerodha.h)
//
//  One thread owns an lws client context; the actor pipe, the demand DEALER and the REST
//  actor's pipe join its loop as dup()s of their ZMQ_FD (STYLE.md 7), drained on every wake-up
//  and by a 100 ms safety timer. Frames are decoded by kite_frame.c, instruments resolved by
//  kite_instruments.c; this file owns connections, subscriptions, timers and the bus.

#include "tickmux.h"
#include <libwebsockets.h>
#include "lwsbus.h"
#include <unistd.h>
#include "rest.h"
#include "kite_frame.h"
#include "kite_instruments.h"
#include "kite_session.h"
#include "zerodha.h"

#define S_TICK_US           (100 * 1000)    //  Housekeeping: staleness, status, drains
#define S_WS_DEFAULT        "wss://ws.kite.trade"
#define S_API_DEFAULT       "https://api.kite.trade"

typedef struct _self_t self_t;

typedef enum { S_IDLE, S_CONNECTING, S_OPEN } s_conn_state_t;

typedef struct {
    self_t *self;                   //  Our actor
    int index;                      //  0..TM_ZERODHA_CONNECTIONS-1
    struct lws *wsi;                //  The ticker connection, NULL when closed
    s_conn_state_t state;           //  Where it is
    uint32_t tokens [TM_KITE_TOKENS_MAX];   //  Instruments this connection carries
    size_t tokens_count;            //  Entries in tokens
    uint32_t subscribe [TM_KITE_TOKENS_MAX];    //  Added since the last flush, to subscribe
    size_t subscribe_count;         //  Entries in subscribe
    uint32_t unsubscribe [TM_KITE_TOKENS_MAX];  //  Removed since the last flush
    size_t unsubscribe_count;       //  Entries in unsubscribe
    zlistx_t *outbox;               //  char * text frames to send (owned)
    uint8_t *rx;                    //  Binary message being reassembled (owned)
    size_t rx_len;                  //  Bytes in rx
    bool rx_text;                   //  Current message is text
    int64_t last_rx_mono;           //  Last frame of any kind (ns)
    int64_t retry_at_mono;          //  When to connect again (ns), 0 = not scheduled
    unsigned attempts;              //  Consecutive failed connects, for the backoff
    int last_http;                  //  HTTP status of the last refused upgrade
    bool opened_before;             //  It was open once: the next open is a reconnect
} s_conn_t;

struct _self_t {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *pub;                   //  Raw ticks, status, orders -> normalizer
    zsock_t *demand;                //  DEALER to the arbiter's demand ROUTER
    zactor_t *rest;                 //  REST calls (libcurl multi)
    const tm_provider_config_t *config; //  Borrowed from main
    struct lws_context *context;    //  Our lws loop (client only)
    struct lws_vhost *vhost;        //  For adopting the fds
    s_conn_t conns [TM_ZERODHA_CONNECTIONS];
    tm_kite_instruments_t *instruments; //  The dump, once loaded
    bool instruments_loaded;        //  tm_kite_instruments_load succeeded
    int64_t instruments_retry_mono; //  When to fetch the dump again after a failure
    int64_t refresh_at;             //  Next daily refresh of the dump (injectable clock, ns)
    zhashx_t *wanted;               //  Canonical symbol -> (void *) 1: what the arbiter wants
    zhashx_t *orders;               //  order_id -> "status/filled" we last reported (owned)
    char api_key [128];             //  From the environment; never logged
    char access_token [TM_KITE_KEY_MAX];    //  Environment, else the token file; never logged
    char api_secret [TM_KITE_KEY_MAX];  //  For the request_token exchange; never logged
    char token_path [TM_PATH_MAX + 64];     //  Where a login keeps the access token
    bool token_from_env;            //  ZERODHA_ACCESS_TOKEN overrides the file
    int64_t next_token_check_mono;  //  When to look at the token file again (AUTH_FAILED)
    char ws_url [TM_PATH_MAX];      //  Ticker URL
    char api_url [TM_PATH_MAX];     //  REST root
    tm_status_t status;             //  What we report
    int64_t next_status_mono;       //  Next status heartbeat
    tm_tick_t ticks [TM_BATCH_MAX]; //  Ticks being published
    tm_kite_packet_t *packets;      //  Decode buffer (TM_KITE_PACKETS_MAX)
    msgpack_sbuffer buf;            //  Scratch for encoding
    lws_sorted_usec_list_t tick_sul;    //  Housekeeping timer
    lws_sorted_usec_list_t drain_sul;   //  Continue a drain that hit its batch limit
    uint64_t request_seq;           //  Ids for REST requests
    uint64_t unknown_tokens;        //  Packets for tokens we cannot name
    bool terminated;                //  $TERM received
};

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

//  The provider is CONNECTED when every connection that carries instruments is open (the
//  first one always counts: it carries the order updates).
static void
s_update_state (self_t *self)
{
    if (self->status.state == TM_STATE_AUTH_FAILED && self->conns [0].state != S_OPEN)
        return;
    bool all_open = true;
    for (int i = 0; i < TM_ZERODHA_CONNECTIONS; i++) {
        s_conn_t *conn = &self->conns [i];
        if ((i == 0 || conn->tokens_count) && conn->state != S_OPEN)
            all_open = false;
    }
    if (all_open && self->instruments_loaded)
        s_set_state (self, TM_STATE_CONNECTED, "");
    else
    if (self->status.state == TM_STATE_CONNECTED)
        s_set_state (self, TM_STATE_DISCONNECTED, "ticker connection lost");
}

//  Announce the universe in parts of TM_STATUS_SYMBOLS_MAX, each with its offset.
static void
s_symbol_collect (const char *symbol, void *arg)
{
    zlistx_add_end ((zlistx_t *) arg, (void *) symbol);
}

static void
s_announce_universe (self_t *self)
{
    zlistx_t *names = zlistx_new ();
    tm_kite_instruments_each_symbol (self->instruments, s_symbol_collect, names);
    char (*part) [TM_SYMBOL_MAX] = calloc (TM_STATUS_SYMBOLS_MAX, TM_SYMBOL_MAX);
    assert (part);
    tm_status_t st = self->status;
    st.symbols_total = 0;
    //  Only names that fit a canonical symbol are offered
    for (const char *name = (const char *) zlistx_first (names); name;
         name = (const char *) zlistx_next (names))
        if (strlen (name) < TM_SYMBOL_MAX && !strchr (name, TM_SYMBOL_END))
            st.symbols_total++;
    st.symbols = part;
    st.symbols_count = 0;
    st.symbols_offset = 0;
    uint32_t offset = 0;
    for (const char *name = (const char *) zlistx_first (names); name;
         name = (const char *) zlistx_next (names)) {
        if (strlen (name) >= TM_SYMBOL_MAX || strchr (name, TM_SYMBOL_END))
            continue;
        snprintf (part [st.symbols_count++], TM_SYMBOL_MAX, "%s", name);
        if (st.symbols_count == TM_STATUS_SYMBOLS_MAX) {
            st.symbols_offset = offset;
            st.ts = tm_clock_now_ns ();
            tm_status_publish (self->pub, &st, &self->buf);
            offset += st.symbols_count;
            st.symbols_count = 0;
        }
    }
    if (st.symbols_count || st.symbols_total == 0) {
        st.symbols_offset = offset;
        st.ts = tm_clock_now_ns ();
        tm_status_publish (self->pub, &st, &self->buf);
    }
    free (part);
    zlistx_destroy (&names);
}

//  ------------------------------------------------------------------------------------------
//  REST

static void
s_rest (self_t *self, const char *id, const char *method, const char *path, const char *body,
        bool auth)
{
    char url [TM_PATH_MAX + 256];
    snprintf (url, sizeof url, "%s%s", self->api_url, path);
    char headers [512];
    if (auth)
        snprintf (headers, sizeof headers, "X-Kite-Version: 3\nAuthorization: token %s:%s",
                  self->api_key, self->access_token);
    else
        snprintf (headers, sizeof headers, "X-Kite-Version: 3");
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "REQUEST");
    zmsg_addstr (msg, id);
    zmsg_addstr (msg, method);
    zmsg_addstr (msg, url);
    zmsg_addstr (msg, headers);
    zmsg_addstr (msg, body ? body : "");
    if (zmsg_send (&msg, self->rest) == -1)
        zmsg_destroy (&msg);
}

static void s_connect (s_conn_t *conn);
static void s_assign (self_t *self, const char *symbol);
static void s_flush (self_t *self);
static void s_handle_session (self_t *self, long status, zframe_t *body, const char *error);

static void
s_handle_instruments (self_t *self, long status, zframe_t *body, const char *error)
{
    char err [256] = "";
    size_t rejected = 0;
    if (status != 200)
        snprintf (err, sizeof err, "GET /instruments: %s%ld %s", status ? "HTTP " : "",
                  status, status ? "" : error);
    else
    if (tm_kite_instruments_load (self->instruments, (const char *) zframe_data (body),
                                  zframe_size (body), tm_clock_now_ns (), &rejected,
                                  err, sizeof err) == 0) {
        bool reload = self->instruments_loaded;
        self->instruments_loaded = true;
        self->refresh_at = tm_kite_instruments_next_refresh (tm_clock_now_ns ());
        zsys_info ("zerodha %s: instruments=%zu rejected=%zu", self->config->name,
                   tm_kite_instruments_size (self->instruments), rejected);
        s_announce_universe (self);
        if (reload) {
            //  Tokens may have moved (NIFTY-I rolls to the next expiry): take every
            //  subscription back and give each wanted symbol its token of today.
            for (int i = 0; i < TM_ZERODHA_CONNECTIONS; i++) {
                s_conn_t *conn = &self->conns [i];
                if (conn->state == S_OPEN) {
                    memcpy (conn->unsubscribe, conn->tokens, conn->tokens_count * sizeof (uint32_t));
                    conn->unsubscribe_count = conn->tokens_count;
                }
                conn->tokens_count = conn->subscribe_count = 0;
            }
        }
        //  What the arbiter asked for before the dump arrived gets its tokens now.
        for (void *item = zhashx_first (self->wanted); item; item = zhashx_next (self->wanted))
            s_assign (self, (const char *) zhashx_cursor (self->wanted));
        s_flush (self);
        for (int i = 0; i < TM_ZERODHA_CONNECTIONS; i++)
            if ((i == 0 || self->conns [i].tokens_count) && self->conns [i].state == S_IDLE)
                s_connect (&self->conns [i]);
        return;
    }
    if (self->instruments_loaded) {
        //  A failed daily refresh keeps yesterday's dump, which still names today's trading
        zsys_warning ("zerodha %s: refresh failed: %s; keeping the loaded dump, retrying in "
                      "10 min", self->config->name, err);
        self->refresh_at = tm_clock_now_ns () + 600 * 1000000000LL;
        return;
    }
    zsys_warning ("zerodha %s: %s; retrying in 10 s", self->config->name, err);
    s_set_state (self, TM_STATE_DISCONNECTED, err);
    self->instruments_retry_mono = tm_clock_mono_ns () + 10000000000LL;
}

//  Publish an order if its status or filled quantity differs from what we last reported.
static void
s_report_order (self_t *self, json_t *order)
{
    const char *id = json_string_value (json_object_get (order, "order_id"));
    const char *status = json_string_value (json_object_get (order, "status"));
    if (!id || !status)
        return;
    char key [160];
    snprintf (key, sizeof key, "%s/%" JSON_INTEGER_FORMAT, status,
              json_integer_value (json_object_get (order, "filled_quantity")));
    const char *known = (const char *) zhashx_lookup (self->orders, id);
    if (known && streq (known, key))
        return;
    zhashx_update (self->orders, id, strdup (key));
    char *text = json_dumps (order, JSON_COMPACT);
    if (text && tm_order_publish (self->pub, self->config->name, text, strlen (text), &self->buf))
        self->status.errors++;
    free (text);
}

static void
s_handle_orders (self_t *self, long status, zframe_t *body, bool report)
{
    if (status != 200) {
        zsys_warning ("zerodha %s: GET /orders answered %ld", self->config->name, status);
        return;
    }
    json_t *doc = json_loadb ((const char *) zframe_data (body), zframe_size (body), 0, NULL);
    json_t *list = json_object_get (doc, "data");
    size_t index;
    json_t *order;
    json_array_foreach (list, index, order) {
        if (!json_is_object (order))
            continue;
        if (report)
            s_report_order (self, order);
        else {
            //  The first list after start: remember it, report nothing (not news)
            const char *id = json_string_value (json_object_get (order, "order_id"));
            const char *st = json_string_value (json_object_get (order, "status"));
            if (id && st) {
                char key [160];
                snprintf (key, sizeof key, "%s/%" JSON_INTEGER_FORMAT, st,
                          json_integer_value (json_object_get (order, "filled_quantity")));
                zhashx_update (self->orders, id, strdup (key));
            }
        }
    }
    json_decref (doc);
}

static void
s_handle_rest (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->rest);
    if (!msg)
        return;
    char *verb = zmsg_popstr (msg);
    char *id = zmsg_popstr (msg);
    char *status = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    char *error = zmsg_popstr (msg);
    if (verb && streq (verb, "RESPONSE") && id && status && body) {
        long code = strtol (status, NULL, 10);
        if (strncmp (id, "instruments", 11) == 0) {
            if (code == 403) {
                s_set_state (self, TM_STATE_AUTH_FAILED, "Kite refused the access token (HTTP "
                             "403): log in again at /login/zerodha");
                self->instruments_retry_mono = tm_clock_mono_ns ()
                                             + TM_ZERODHA_AUTH_RETRY_MS * 1000000LL;
            }
            else
                s_handle_instruments (self, code, body, error ? error : "");
        }
        else
        if (strncmp (id, "session", 7) == 0)
            s_handle_session (self, code, body, error ? error : "");
        else
        if (strncmp (id, "orders-seed", 11) == 0)
            s_handle_orders (self, code, body, false);
        else
        if (strncmp (id, "orders", 6) == 0)
            s_handle_orders (self, code, body, true);
    }
    free (verb);
    free (id);
    free (status);
    free (error);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
}

//  ------------------------------------------------------------------------------------------
//  Subscriptions

static s_conn_t *
s_conn_of (self_t *self, uint32_t token, size_t *at)
{
    for (int i = 0; i < TM_ZERODHA_CONNECTIONS; i++)
        for (size_t k = 0; k < self->conns [i].tokens_count; k++)
            if (self->conns [i].tokens [k] == token) {
                if (at)
                    *at = k;
                return &self->conns [i];
            }
    return NULL;
}

static void
s_queue_text (s_conn_t *conn, char *text)
{
    if (!text)
        return;
    zlistx_add_end (conn->outbox, text);
    if (conn->wsi && conn->state == S_OPEN)
        lws_callback_on_writable (conn->wsi);
}

//  Give a wanted symbol's instrument a place on a connection and subscribe it there.
static void
s_assign (self_t *self, const char *symbol)
{
    if (!self->instruments_loaded)
        return;                     //  Done when the dump arrives
    const tm_kite_instrument_t *instrument = tm_kite_instruments_resolve (self->instruments,
                                                                          symbol);
    if (!instrument) {
        zsys_warning ("zerodha %s: no instrument for symbol=%s", self->config->name, symbol);
        return;
    }
    uint32_t token = instrument->instrument_token;
    if (s_conn_of (self, token, NULL))
        return;
    for (int i = 0; i < TM_ZERODHA_CONNECTIONS; i++) {
        s_conn_t *conn = &self->conns [i];
        if (conn->tokens_count == TM_KITE_TOKENS_MAX)
            continue;
        conn->tokens [conn->tokens_count++] = token;
        if (conn->state == S_OPEN)
            conn->subscribe [conn->subscribe_count++] = token;     //  Sent by s_flush
        else
        if (conn->state == S_IDLE && conn->retry_at_mono == 0)
            s_connect (conn);
        return;
    }
    zsys_warning ("zerodha %s: every connection holds %d instruments; symbol=%s not subscribed",
                  self->config->name, TM_KITE_TOKENS_MAX, symbol);
}

static void
s_release (self_t *self, const char *symbol)
{
    if (!self->instruments_loaded)
        return;
    const tm_kite_instrument_t *instrument = tm_kite_instruments_resolve (self->instruments,
                                                                          symbol);
    if (!instrument)
        return;
    uint32_t token = instrument->instrument_token;
    size_t at;
    s_conn_t *conn = s_conn_of (self, token, &at);
    if (!conn)
        return;
    conn->tokens [at] = conn->tokens [--conn->tokens_count];
    for (size_t k = 0; k < conn->subscribe_count; k++)
        if (conn->subscribe [k] == token) {
            conn->subscribe [k] = conn->subscribe [--conn->subscribe_count];
            return;                 //  Never sent: nothing to take back
        }
    if (conn->state == S_OPEN && conn->unsubscribe_count < TM_KITE_TOKENS_MAX)
        conn->unsubscribe [conn->unsubscribe_count++] = token;
}

//  Send a connection's pending changes: subscribe then mode full in requests of up to 500
//  tokens (one frame per request, as the clients do), and the unsubscribes.
#define S_REQUEST_TOKENS    500

static void
s_queue_tokens (s_conn_t *conn, const char *action, const char *mode, const uint32_t *tokens,
                size_t count)
{
    for (size_t at = 0; at < count; at += S_REQUEST_TOKENS) {
        size_t n = count - at < S_REQUEST_TOKENS ? count - at : S_REQUEST_TOKENS;
        s_queue_text (conn, tm_kite_request (action, mode, tokens + at, n));
    }
}

static void
s_flush (self_t *self)
{
    for (int i = 0; i < TM_ZERODHA_CONNECTIONS; i++) {
        s_conn_t *conn = &self->conns [i];
        if (conn->state == S_OPEN) {
            //  Unsubscribe first: after a refresh a token can be in both lists
            s_queue_tokens (conn, "unsubscribe", NULL, conn->unsubscribe, conn->unsubscribe_count);
            s_queue_tokens (conn, "subscribe", NULL, conn->subscribe, conn->subscribe_count);
            s_queue_tokens (conn, "mode", "full", conn->subscribe, conn->subscribe_count);
        }
        conn->subscribe_count = conn->unsubscribe_count = 0;
    }
}

//  A request_token from the gateway's login callback: exchange it (kite.md 2).
static void
s_login (self_t *self, const char *request_token)
{
    if (!request_token || !*request_token || strlen (request_token) >= TM_KITE_KEY_MAX) {
        s_set_state (self, TM_STATE_AUTH_FAILED, "login: no usable request_token");
        return;
    }
    if (!self->api_secret [0]) {
        s_set_state (self, TM_STATE_AUTH_FAILED, "login: ZERODHA_API_SECRET is not set");
        return;
    }
    char *body = tm_kite_session_body (self->api_key, request_token, self->api_secret);
    s_rest (self, "session", "POST", "/session/token", body, false);
    free (body);
}

//  A new access token (from a login, or the token file): use it from now on.
static void
s_use_token (self_t *self, const char *token)
{
    snprintf (self->access_token, sizeof self->access_token, "%s", token);
    zsys_info ("zerodha %s: new access token in use", self->config->name);
    s_set_state (self, TM_STATE_CONNECTING, "");
    if (!self->instruments_loaded)
        s_rest (self, "instruments", "GET", "/instruments", NULL, true);
    for (int i = 0; i < TM_ZERODHA_CONNECTIONS; i++) {
        s_conn_t *conn = &self->conns [i];
        if (conn->state == S_OPEN && conn->wsi)
            lws_set_timeout (conn->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        else
        if (conn->state == S_IDLE && (i == 0 || conn->tokens_count))
            conn->retry_at_mono = tm_clock_mono_ns ();
    }
}

static void
s_handle_session (self_t *self, long status, zframe_t *body, const char *error)
{
    char token [TM_KITE_KEY_MAX], err [256];
    if (status == 0)
        snprintf (err, sizeof err, "login: %s", error);
    else
    if (tm_kite_session_parse ((const char *) zframe_data (body), zframe_size (body), token,
                               sizeof token, err, sizeof err) == 0) {
        if (tm_kite_token_save (self->token_path, token))
            zsys_warning ("zerodha %s: cannot save the access token in %s: %s",
                          self->config->name, self->token_path, strerror (errno));
        s_use_token (self, token);
        return;
    }
    char reason [TM_REASON_MAX];
    snprintf (reason, sizeof reason, "login failed (HTTP %ld): %.90s", status, err);
    s_set_state (self, TM_STATE_AUTH_FAILED, reason);
}

static void
s_handle_demand (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->demand);
    if (!msg)
        return;
    char *verb = zmsg_popstr (msg);
    if (verb && streq (verb, "LOGIN")) {
        char *request_token = zmsg_popstr (msg);
        s_login (self, request_token);
        free (request_token);
        free (verb);
        zmsg_destroy (&msg);
        return;
    }
    bool want = verb && streq (verb, "WANT");
    bool drop = verb && streq (verb, "DROP");
    char *symbol;
    while ((want || drop) && (symbol = zmsg_popstr (msg))) {
        if (want && !zhashx_lookup (self->wanted, symbol)) {
            zhashx_insert (self->wanted, symbol, (void *) 1);
            s_assign (self, symbol);
        }
        else
        if (drop && zhashx_lookup (self->wanted, symbol)) {
            zhashx_delete (self->wanted, symbol);
            s_release (self, symbol);
        }
        free (symbol);
    }
    free (verb);
    zmsg_destroy (&msg);
    s_flush (self);
    s_update_state (self);
}

//  ------------------------------------------------------------------------------------------
//  Ticker connections

static void
s_schedule_retry (s_conn_t *conn, int64_t delay_ms)
{
    conn->state = S_IDLE;
    conn->wsi = NULL;
    conn->retry_at_mono = tm_clock_mono_ns () + delay_ms * 1000000;
}

static void
s_connect (s_conn_t *conn)
{
    self_t *self = conn->self;
    conn->retry_at_mono = 0;
    char url [TM_PATH_MAX];
    snprintf (url, sizeof url, "%s", self->ws_url);
    const char *scheme, *address, *path;
    int port;
    if (lws_parse_uri (url, &scheme, &address, &port, &path)) {
        s_set_state (self, TM_STATE_DISCONNECTED, "ZERODHA_WS_URL does not parse");
        s_schedule_retry (conn, TM_ZERODHA_AUTH_RETRY_MS);
        return;
    }
    //  lws_parse_uri drops the leading '/' of the path; the query authenticates (kite.md 6.1).
    char full [TM_PATH_MAX + 512];
    snprintf (full, sizeof full, "/%s%sapi_key=%s&access_token=%s", path,
              strchr (path, '?') ? "&" : "?", self->api_key, self->access_token);
    struct lws_client_connect_info info;
    memset (&info, 0, sizeof info);
    info.context = self->context;
    info.address = address;
    info.port = port;
    info.path = full;
    info.host = address;
    info.origin = address;
    info.ssl_connection = streq (scheme, "wss") ? LCCSCF_USE_SSL : 0;
    info.protocol = NULL;
    info.ietf_version_or_minus_one = -1;
    info.userdata = conn;
    info.pwsi = &conn->wsi;
    conn->state = S_CONNECTING;
    if (!lws_client_connect_via_info (&info)) {
        conn->attempts++;
        s_schedule_retry (conn, tm_backoff_ms (conn->attempts, 500, TM_ZERODHA_BACKOFF_MAX_MS));
    }
}

static void
s_conn_opened (s_conn_t *conn)
{
    self_t *self = conn->self;
    conn->state = S_OPEN;
    conn->attempts = 0;
    conn->last_rx_mono = tm_clock_mono_ns ();
    //  The server keeps nothing across connections: subscribe everything again, then modes.
    zlistx_purge (conn->outbox);
    conn->subscribe_count = conn->unsubscribe_count = 0;
    s_queue_tokens (conn, "subscribe", NULL, conn->tokens, conn->tokens_count);
    s_queue_tokens (conn, "mode", "full", conn->tokens, conn->tokens_count);
    lws_callback_on_writable (conn->wsi);
    zsys_info ("zerodha %s: ticker %d open tokens=%zu", self->config->name, conn->index,
               conn->tokens_count);
    //  Order updates are not replayed after a gap: ask for the order book (kite.md 9).
    char id [32];
    snprintf (id, sizeof id, "%s-%" PRIu64, conn->opened_before ? "orders" : "orders-seed",
              ++self->request_seq);
    if (conn->index == 0)
        s_rest (self, id, "GET", "/orders", NULL, true);
    conn->opened_before = true;
    s_update_state (self);
}

static void
s_conn_closed (s_conn_t *conn, const char *why)
{
    self_t *self = conn->self;
    bool was_open = conn->state == S_OPEN;
    conn->state = S_IDLE;
    conn->wsi = NULL;
    conn->rx_len = 0;
    if (self->terminated)
        return;
    if (conn->last_http == 403) {
        s_set_state (self, TM_STATE_AUTH_FAILED, "ticker refused the access token (HTTP 403): "
                     "log in again at /login/zerodha");
        s_schedule_retry (conn, TM_ZERODHA_AUTH_RETRY_MS);
    }
    else
    if (conn->last_http == 429) {
        zsys_warning ("zerodha %s: ticker %d refused with 429 (too many connections); "
                      "retrying in %d s", self->config->name, conn->index,
                      TM_ZERODHA_LIMIT_RETRY_MS / 1000);
        s_schedule_retry (conn, TM_ZERODHA_LIMIT_RETRY_MS);
    }
    else {
        conn->attempts++;
        s_schedule_retry (conn, was_open ? 0 : tm_backoff_ms (conn->attempts, 500, TM_ZERODHA_BACKOFF_MAX_MS));
        if (conn->index == 0 || conn->tokens_count)
            s_set_state (self, TM_STATE_DISCONNECTED, why);
    }
    conn->last_http = 0;
}

static void
s_handle_binary (s_conn_t *conn, const uint8_t *data, size_t size)
{
    self_t *self = conn->self;
    size_t count = 0, skipped = 0;
    int rc = tm_kite_frame_decode (data, size, self->packets, TM_KITE_PACKETS_MAX, &count,
                                   &skipped);
    self->status.messages++;
    if (rc || skipped) {
        if (self->status.errors++ == 0 || rc)
            zsys_warning ("zerodha %s: %s frame size=%zu packets=%zu skipped=%zu",
                          self->config->name, rc ? "malformed" : "odd", size, count, skipped);
    }
    int64_t now = tm_clock_now_ns ();
    size_t batch = 0;
    for (size_t i = 0; i < count; i++) {
        const char *symbol = tm_kite_instruments_symbol (self->instruments,
                                                         self->packets [i].token);
        if (!symbol || strlen (symbol) >= TM_SYMBOL_MAX) {
            self->unknown_tokens++;
            continue;
        }
        tm_tick_t *tick = &self->ticks [batch++];
        tm_kite_packet_to_tick (&self->packets [i], tick);
        //  Kite numbers nothing; the normalizer gives the provider stream its sequence.
        tick->seq = tick->src_seq = 0;
        tick->norm_ts = tick->pub_ts = 0;
        snprintf (tick->symbol, sizeof tick->symbol, "%s", symbol);
        memcpy (tick->stream, self->config->name, sizeof tick->stream);
        memcpy (tick->provider, self->config->name, sizeof tick->provider);
        tick->recv_ts = now;
        if (tick->exchange_ts == 0)
            tick->exchange_ts = now;    //  Quote packets carry no time (kite.md 7.6)
        if (batch == TM_BATCH_MAX || i + 1 == count) {
            if (tm_tick_publish (self->pub, TM_TOPIC_RAW, self->ticks, batch, &self->buf))
                self->status.errors++;
            batch = 0;
        }
    }
    if (batch && tm_tick_publish (self->pub, TM_TOPIC_RAW, self->ticks, batch, &self->buf))
        self->status.errors++;
}

static void
s_handle_text (s_conn_t *conn, const char *text, size_t len)
{
    self_t *self = conn->self;
    tm_kite_text_kind_t kind;
    json_t *data = NULL;
    self->status.messages++;
    if (tm_kite_text_parse (text, len, &kind, &data)) {
        self->status.errors++;
        zsys_warning ("zerodha %s: malformed text message len=%zu", self->config->name, len);
        return;
    }
    if (kind == TM_KITE_TEXT_ORDER)
        s_report_order (self, data);
    else
    if (kind == TM_KITE_TEXT_ERROR || kind == TM_KITE_TEXT_MESSAGE) {
        char reason [TM_REASON_MAX];
        snprintf (reason, sizeof reason, "%s: %s", kind == TM_KITE_TEXT_ERROR ? "error"
                  : "message", json_string_value (data));
        zsys_info ("zerodha %s: ticker says %s", self->config->name, reason);
        s_set_state (self, self->status.state, reason);
    }
    json_decref (data);
}

static int
s_receive (s_conn_t *conn, struct lws *wsi, const void *in, size_t len)
{
    conn->last_rx_mono = tm_clock_mono_ns ();
    if (lws_is_first_fragment (wsi)) {
        conn->rx_len = 0;
        conn->rx_text = !lws_frame_is_binary (wsi);
    }
    size_t limit = conn->rx_text ? TM_KITE_TEXT_MAX : TM_KITE_FRAME_MAX;
    if (conn->rx_len + len > limit) {
        conn->self->status.errors++;
        zsys_warning ("zerodha %s: ticker message larger than %zu bytes; reconnecting",
                      conn->self->config->name, limit);
        return -1;
    }
    memcpy (conn->rx + conn->rx_len, in, len);
    conn->rx_len += len;
    if (!lws_is_final_fragment (wsi) || lws_remaining_packet_payload (wsi))
        return 0;
    if (conn->rx_text)
        s_handle_text (conn, (const char *) conn->rx, conn->rx_len);
    else
        s_handle_binary (conn, conn->rx, conn->rx_len);
    conn->rx_len = 0;
    return 0;
}

//  ------------------------------------------------------------------------------------------
//  Loop

static void s_handle_pipe (self_t *self);

static bool
s_drain (self_t *self, zsock_t *sock)
{
    for (int i = 0; i < 256; i++) {
        if (self->terminated || !(zsock_events (sock) & ZMQ_POLLIN))
            return false;
        if (sock == self->pipe)
            s_handle_pipe (self);
        else
        if (sock == zactor_sock (self->rest))
            s_handle_rest (self);
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
    more |= s_drain (self, zactor_sock (self->rest));
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
    for (int i = 0; i < TM_ZERODHA_CONNECTIONS && !self->terminated; i++) {
        s_conn_t *conn = &self->conns [i];
        if (conn->state == S_OPEN && now - conn->last_rx_mono > TM_ZERODHA_STALE_MS * 1000000LL) {
            //  Connected but mute: the link is dead (kite.md 10). Say so, then reconnect.
            s_set_state (self, TM_STATE_STALE, "no frame for 5 s");
            lws_set_timeout (conn->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
            conn->state = S_CONNECTING;     //  Until CLOSED arrives
        }
        else
        if (conn->state == S_IDLE && conn->retry_at_mono && now >= conn->retry_at_mono
        &&  self->instruments_loaded && (i == 0 || conn->tokens_count))
            s_connect (conn);
    }
    //  While the token is refused or missing, a login from a terminal (tickmux login
    //  zerodha) may write a new one: look at the file every 5 s.
    if (self->status.state == TM_STATE_AUTH_FAILED && !self->token_from_env
    &&  now >= self->next_token_check_mono) {
        self->next_token_check_mono = now + 5000000000LL;
        char token [TM_KITE_KEY_MAX];
        if (tm_kite_token_load (self->token_path, token, sizeof token) == 0
        &&  !streq (token, self->access_token))
            s_use_token (self, token);
    }
    //  The daily dump: fetch it again after 08:30 IST (a failure keeps yesterday's)
    if (self->instruments_loaded && self->refresh_at && tm_clock_now_ns () >= self->refresh_at) {
        self->refresh_at = tm_kite_instruments_next_refresh (tm_clock_now_ns ());
        s_rest (self, "instruments-refresh", "GET", "/instruments", NULL, true);
    }
    if (!self->instruments_loaded && self->instruments_retry_mono
    &&  now >= self->instruments_retry_mono) {
        self->instruments_retry_mono = 0;
        s_rest (self, "instruments", "GET", "/instruments", NULL, true);
    }
    if (now >= self->next_status_mono)
        s_publish_status (self);
    if (!self->terminated)
        lws_sul_schedule (self->context, 0, &self->tick_sul, s_housekeeping, S_TICK_US);
}

static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    self_t *self = (self_t *) lws_context_user (lws_get_context (wsi));
    //  A ticker connection carries its s_conn_t as user (connect info's userdata); an adopted
    //  bus fd carries its zsock_t as opaque user data.
    s_conn_t *conn = (s_conn_t *) user;
    switch (reason) {
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            if (conn)
                s_conn_opened (conn);
            break;
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            if (conn) {
                conn->last_http = (int) lws_http_client_http_response (wsi);
                char why [TM_REASON_MAX];
                snprintf (why, sizeof why, "ticker connect failed: %s",
                          in ? (const char *) in : "unknown error");
                s_conn_closed (conn, why);
            }
            break;
        case LWS_CALLBACK_CLIENT_RECEIVE:
            if (conn)
                return s_receive (conn, wsi, in, len);
            break;
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            if (conn)
                return tm_lws_write_next (conn->wsi, conn->outbox);
            break;
        case LWS_CALLBACK_CLIENT_CLOSED:
            if (conn)
                s_conn_closed (conn, "ticker connection closed");
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
    return 0;
}

static struct lws_protocols s_protocols [] = {
    { "kite-ticker", s_callback, 0, 4096, 0, NULL, 0 },
    { "zerodha-bus", s_callback, 0, 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
s_handle_pipe (self_t *self)
{
    char *command = tm_actor_command (self->pipe, &self->terminated);
    if (command)
        zsys_error ("zerodha %s: unknown pipe command '%s'", self->config->name, command);
    free (command);
}

static void
s_copy_setting (char *dest, size_t size, const char *config, const char *env, const char *fallback)
{
    const char *value = config && *config ? config : getenv (env);
    snprintf (dest, size, "%s", value && *value ? value : fallback);
    //  A trailing '/' would double up with the paths we append
    size_t len = strlen (dest);
    while (len > 3 && dest [len - 1] == '/' && !(dest [len - 2] == '/' && dest [len - 3] == ':'))
        dest [--len] = '\0';
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
    self->instruments = tm_kite_instruments_new ();
    self->wanted = zhashx_new ();
    self->orders = zhashx_new ();
    zhashx_set_destructor (self->orders, (zhashx_destructor_fn *) zstr_free);
    self->packets = (tm_kite_packet_t *) calloc (TM_KITE_PACKETS_MAX, sizeof (tm_kite_packet_t));
    assert (self->packets);
    msgpack_sbuffer_init (&self->buf);
    for (int i = 0; i < TM_ZERODHA_CONNECTIONS; i++) {
        self->conns [i].self = self;
        self->conns [i].index = i;
        self->conns [i].outbox = zlistx_new ();
        zlistx_set_destructor (self->conns [i].outbox, (zlistx_destructor_fn *) zstr_free);
        self->conns [i].rx = (uint8_t *) malloc (TM_KITE_FRAME_MAX);
        assert (self->conns [i].rx);
    }
    //  The environment, else systemd credentials of the same names
    if (!tm_config_secret ("ZERODHA_API_KEY", self->api_key, sizeof self->api_key))
        self->api_key [0] = '\0';
    if (!tm_config_secret ("ZERODHA_API_SECRET", self->api_secret, sizeof self->api_secret))
        self->api_secret [0] = '\0';
    tm_kite_token_path (config->state_dir, config->name, self->token_path, sizeof self->token_path);
    self->token_from_env = tm_config_secret ("ZERODHA_ACCESS_TOKEN", self->access_token,
                                             sizeof self->access_token) != NULL;
    if (!self->token_from_env)
        tm_kite_token_load (self->token_path, self->access_token, sizeof self->access_token);
    s_copy_setting (self->ws_url, sizeof self->ws_url, config->ws_url, "ZERODHA_WS_URL",
                    S_WS_DEFAULT);
    s_copy_setting (self->api_url, sizeof self->api_url, config->api_url, "ZERODHA_API_URL",
                    S_API_DEFAULT);
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
    zactor_destroy (&self->rest);
    for (int i = 0; i < TM_ZERODHA_CONNECTIONS; i++) {
        zlistx_destroy (&self->conns [i].outbox);
        free (self->conns [i].rx);
    }
    tm_kite_instruments_destroy (&self->instruments);
    zhashx_destroy (&self->wanted);
    zhashx_destroy (&self->orders);
    free (self->packets);
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
    if (!self->api_key [0]) {
        zsys_error ("zerodha %s: ZERODHA_API_KEY is not set", self->config->name);
        return -1;
    }
    if (zsock_connect (self->pub, "%s", TM_BUS_RAW)
    ||  zsock_connect (self->demand, "%s", TM_BUS_DEMAND))
        return -1;
    self->rest = zactor_new (tm_rest_actor, NULL);
    self->context = tm_lws_client_new (s_protocols, self, &self->vhost);
    if (!self->context
    ||  tm_lws_adopt (self->vhost, self->pipe, "zerodha-bus")
    ||  tm_lws_adopt (self->vhost, zactor_sock (self->rest), "zerodha-bus")
    ||  tm_lws_adopt (self->vhost, self->demand, "zerodha-bus"))
        return -1;
    //  Tell the arbiter who we are; it answers with everything it wants of us.
    zstr_sendx (self->demand, "HELLO", self->config->name, NULL);
    s_publish_status (self);
    if (self->access_token [0])
        s_rest (self, "instruments", "GET", "/instruments", NULL, true);
    else
        s_set_state (self, TM_STATE_AUTH_FAILED, "no access token: open /login/zerodha on the "
                     "gateway, run `tickmux login zerodha`, or set ZERODHA_ACCESS_TOKEN");
    lws_sul_schedule (self->context, 0, &self->tick_sul, s_housekeeping, S_TICK_US);
    return 0;
}

void
tm_zerodha_actor (zsock_t *pipe, void *args)
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
