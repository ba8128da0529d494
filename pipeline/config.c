//  config - built-in default, ZPL file and environment, validated (see config.h)
//
//  The command line is applied by main on top of what this returns (it beats everything).

#include "tickmux.h"
#include <ctype.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

typedef struct {
    const char *name;               //  Key within its section
    const char *help;               //  What it takes, for the error message
} s_key_t;

static const s_key_t s_tickmux_keys [] = {
    { "state_dir", "a directory path" }, { "fake_time", "a clock start, tests only" },
    { "role", "core or gateway" }, { NULL, NULL }
};
static const s_key_t s_gateway_keys [] = {
    { "port", "0..65535" }, { "interface", "an IPv4/IPv6 address" },
    { "max_subscriptions", "1..1000000" }, { "max_message", "256..16777216 bytes" },
    { "queue_bytes", "65536..1073741824 bytes" }, { "www_dir", "a directory path" },
    { "max_connections", "1..1000000" }, { "max_connections_per_ip", "1..1000000" },
    { "max_rate", "messages a second per client" }, { "health", "open or token" },
    { "slow_policy", "conflate, drop_oldest or disconnect" },
    { "socket_buffer", "bytes, 0 for the kernel's autotuning" },
    { "tls_cert", "a PEM certificate chain's path" }, { "tls_key", "its PEM private key's path" },
    { NULL, NULL }
};
static const s_key_t s_provider_keys [] = {
    { "name", "an instance name" }, { "kind", "SIM, ZERODHA or TRUEDATA" },
    { "seed", "an integer" }, { "rate", "ticks per second" }, { "symbols", "a count" },
    { "connect_delay", "milliseconds" }, { "exchange_delay", "milliseconds" },
    { "hang_after", "milliseconds (tests of the watchdog)" },
    { "bad_share", "a share of bad ticks, 0 to 1" },
    { "ws_url", "a ws:// or wss:// URL" },
    { "api_url", "an http:// or https:// URL" },
    { NULL, NULL }
};
static const s_key_t s_feed_keys [] = {
    { "bind", "a ZeroMQ endpoint (tcp://ADDRESS:PORT, PORT * for any) or off" },
    { "snapshot", "a ZeroMQ endpoint for the snapshot ROUTER" },
    { "curve_cert", "the server certificate's path (its secret beside it as PATH_secret)" },
    { "curve_clients", "a directory of allowed client certificates, or * for any" },
    { NULL, NULL }
};
static const s_key_t s_token_keys [] = {
    { "name", "a name for logs (A-Z a-z 0-9 _ -)" },
    { "sha256", "the token's SHA-256, 64 hex digits" },
    { "credential", "an environment variable or systemd credential holding the token" },
    { "symbols", "a comma-separated list of symbols, X* for a prefix" },
    { "providers", "a comma-separated list of streams (ALL, provider instances)" },
    { "orders", "0 or 1: may take the ORDERS channel" },
    { "slow_policy", "conflate, drop_oldest or disconnect" },
    { NULL, NULL }
};
static const s_key_t s_upstream_keys [] = {
    { "feed", "the core's feed endpoint (tcp://HOST:PORT)" },
    { "snapshot", "the core's snapshot endpoint (default: the feed's port + 1)" },
    { "curve_cert", "our client certificate's path (its secret beside it as PATH_secret)" },
    { "curve_server", "the core's public certificate's path" },
    { NULL, NULL }
};
static const s_key_t s_arbiter_keys [] = {
    { "hold_down", "milliseconds" }, { "stale_floor", "milliseconds" },
    { "stale_factor", "a number of mean intervals" }, { "error_rate", "a share, 0 to 1" },
    { NULL, NULL }
};
static const s_key_t s_option_keys [] = {
    { "name", "an option root, as option symbols begin" },
    { "underlying", "the symbol carrying the underlying's price" },
    { "step", "rupees between strikes" }, { NULL, NULL }
};
//  The index chains every Indian provider lists, so GET_OPTION_CHAIN works with no config
static const tm_option_root_t s_default_options [] = {
    { "NIFTY", "NIFTY 50", 50 }, { "BANKNIFTY", "NIFTY BANK", 100 },
    { "FINNIFTY", "NIFTY FIN SERVICE", 50 }
};
static const s_key_t s_route_keys [] = {
    { "symbol", "a symbol or *" }, { "providers", "a comma-separated list" }, { NULL, NULL }
};

static int
s_check_keys (zconfig_t *section, const s_key_t *keys, char *err, size_t err_size)
{
    for (zconfig_t *item = zconfig_child (section); item; item = zconfig_next (item)) {
        bool known = false;
        for (const s_key_t *k = keys; k->name && !known; k++)
            known = strcmp (k->name, zconfig_name (item)) == 0;
        if (!known) {
            char list [256] = "";
            for (const s_key_t *k = keys; k->name; k++) {
                size_t used = strlen (list);
                snprintf (list + used, sizeof list - used, "%s%s", k == keys ? "" : ", ", k->name);
            }
            snprintf (err, err_size, "config: unknown key '%s/%s' (expected one of: %s)",
                      zconfig_name (section), zconfig_name (item), list);
            return -1;
        }
    }
    return 0;
}

//  Parse an unsigned integer in [min, max]. Returns 0 or -1 with err naming key and value.
static int
s_parse_uint (const char *section, const char *key, const char *value, uint64_t min,
              uint64_t max, uint64_t *out, char *err, size_t err_size)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull (value, &end, 10);
    if (!*value || *end || errno || value [0] == '-' || v < min || v > max) {
        snprintf (err, err_size, "config: %s/%s = '%s': expected an integer from %" PRIu64
                  " to %" PRIu64, section, key, value, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

//  Parse a number in [min, max]. Returns 0 or -1 with err naming key and value.
static int
s_parse_double (const char *section, const char *key, const char *value, double min,
                double max, double *out, char *err, size_t err_size)
{
    char *end;
    double v = strtod (value, &end);
    if (!*value || *end || !(v >= min) || !(v <= max)) {
        snprintf (err, err_size, "config: %s/%s = '%s': expected a number from %g to %g",
                  section, key, value, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int
s_copy (const char *section, const char *key, const char *value, char *dest, size_t size,
        char *err, size_t err_size)
{
    if (strlen (value) >= size) {
        snprintf (err, err_size, "config: %s/%s: value is longer than %zu bytes",
                  section, key, size - 1);
        return -1;
    }
    strcpy (dest, value);
    return 0;
}

static int
s_load_provider (tm_config_t *self, zconfig_t *section, char *err, size_t err_size)
{
    if (self->providers_count == TM_PROVIDERS_MAX) {
        snprintf (err, err_size, "config: more than %d providers", TM_PROVIDERS_MAX);
        return -1;
    }
    if (s_check_keys (section, s_provider_keys, err, err_size))
        return -1;
    tm_provider_config_t *p = &self->providers [self->providers_count];
    memset (p, 0, sizeof *p);
    p->seed = TM_DEFAULT_SIM_SEED;
    p->rate = TM_DEFAULT_SIM_RATE;
    const char *kind = zconfig_get (section, "kind", NULL);
    if (!kind) {
        snprintf (err, err_size, "config: provider block %zu has no kind "
                  "(expected SIM, ZERODHA or TRUEDATA)", self->providers_count + 1);
        return -1;
    }
    if (strcmp (kind, "SIM") != 0 && strcmp (kind, "ZERODHA") != 0
    &&  strcmp (kind, "TRUEDATA") != 0) {
        snprintf (err, err_size, "config: provider/kind = '%s': unknown kind (expected SIM, "
                  "ZERODHA or TRUEDATA)", kind);
        return -1;
    }
    strcpy (p->kind, kind);
    const char *name = zconfig_get (section, "name", kind);
    size_t len = strlen (name);
    bool valid = len > 0 && len < TM_PROVIDER_MAX && strcmp (name, TM_STREAM_ALL) != 0;
    for (size_t i = 0; i < len && valid; i++)
        valid = (name [i] >= 'A' && name [i] <= 'Z') || (name [i] >= '0' && name [i] <= '9')
             || name [i] == '_' || name [i] == '-';
    if (!valid) {
        snprintf (err, err_size, "config: provider/name = '%s': expected 1 to %d of A-Z 0-9 _ - "
                  "and not ALL", name, TM_PROVIDER_MAX - 1);
        return -1;
    }
    if (tm_config_provider_index (self, name) >= 0) {
        snprintf (err, err_size, "config: provider/name = '%s': configured twice", name);
        return -1;
    }
    strcpy (p->name, name);
    uint64_t v;
    const char *value;
    if ((value = zconfig_get (section, "seed", NULL))) {
        if (s_parse_uint ("provider", "seed", value, 0, UINT64_MAX, &v, err, err_size))
            return -1;
        p->seed = v;
    }
    if ((value = zconfig_get (section, "rate", NULL))) {
        char *end;
        double rate = strtod (value, &end);
        if (!*value || *end || !(rate > 0) || rate > TM_SIM_RATE_MAX) {
            snprintf (err, err_size, "config: provider/rate = '%s': expected ticks per second, "
                      "more than 0 and at most %.0f", value, TM_SIM_RATE_MAX);
            return -1;
        }
        p->rate = rate;
    }
    if ((value = zconfig_get (section, "symbols", NULL))) {
        if (s_parse_uint ("provider", "symbols", value, 1, 1000000, &v, err, err_size))
            return -1;
        p->symbols = (size_t) v;
    }
    if ((value = zconfig_get (section, "ws_url", NULL))
    &&  s_copy ("provider", "ws_url", value, p->ws_url, sizeof p->ws_url, err, err_size))
        return -1;
    if ((value = zconfig_get (section, "api_url", NULL))
    &&  s_copy ("provider", "api_url", value, p->api_url, sizeof p->api_url, err, err_size))
        return -1;
    if ((value = zconfig_get (section, "hang_after", NULL))) {
        if (s_parse_uint ("provider", "hang_after", value, 1, 86400000, &v, err, err_size))
            return -1;
        p->hang_after_ms = (int64_t) v;
    }
    if ((value = zconfig_get (section, "connect_delay", NULL))) {
        if (s_parse_uint ("provider", "connect_delay", value, 0, 86400000, &v, err, err_size))
            return -1;
        p->connect_delay_ms = (int64_t) v;
    }
    if ((value = zconfig_get (section, "exchange_delay", NULL))) {
        if (s_parse_uint ("provider", "exchange_delay", value, 0, 600000, &v, err, err_size))
            return -1;
        p->exchange_delay_ms = (int64_t) v;
    }
    if ((value = zconfig_get (section, "bad_share", NULL))
    &&  s_parse_double ("provider", "bad_share", value, 0, 1, &p->bad_share, err, err_size))
        return -1;
    self->providers_count++;
    return 0;
}

static int
s_load_arbiter (tm_config_t *self, zconfig_t *section, char *err, size_t err_size)
{
    if (s_check_keys (section, s_arbiter_keys, err, err_size))
        return -1;
    tm_failover_config_t *f = &self->failover;
    const char *value;
    uint64_t v;
    if ((value = zconfig_get (section, "hold_down", NULL))) {
        if (s_parse_uint ("arbiter", "hold_down", value, 0, 3600000, &v, err, err_size))
            return -1;
        f->hold_down_ns = (int64_t) v * 1000000;
    }
    if ((value = zconfig_get (section, "stale_floor", NULL))) {
        if (s_parse_uint ("arbiter", "stale_floor", value, 10, 600000, &v, err, err_size))
            return -1;
        f->stale_floor_ns = (int64_t) v * 1000000;
    }
    if ((value = zconfig_get (section, "stale_factor", NULL))
    &&  s_parse_double ("arbiter", "stale_factor", value, 1, 1000, &f->stale_factor,
                        err, err_size))
        return -1;
    if ((value = zconfig_get (section, "error_rate", NULL))
    &&  s_parse_double ("arbiter", "error_rate", value, 0, 1, &f->error_rate, err, err_size))
        return -1;
    return 0;
}

//  An option block: a new root, or new values for one already known (a default included)
static int
s_load_option (tm_config_t *self, zconfig_t *section, char *err, size_t err_size)
{
    if (s_check_keys (section, s_option_keys, err, err_size))
        return -1;
    const char *name = zconfig_get (section, "name", NULL);
    const char *underlying = zconfig_get (section, "underlying", NULL);
    const char *step = zconfig_get (section, "step", NULL);
    if (!name || !underlying || !step) {
        snprintf (err, err_size, "config: an option block needs name, underlying and step");
        return -1;
    }
    size_t len = strlen (name);
    bool valid = len > 0 && len < TM_SYMBOL_MAX - 16;
    for (size_t i = 0; i < len && valid; i++)
        valid = (name [i] >= 'A' && name [i] <= 'Z') || (name [i] >= '0' && name [i] <= '9')
             || name [i] == '&' || name [i] == '-';
    if (!valid) {
        snprintf (err, err_size, "config: option/name = '%s': expected 1 to %d of A-Z 0-9 & -",
                  name, TM_SYMBOL_MAX - 17);
        return -1;
    }
    if (!*underlying || strlen (underlying) >= TM_SYMBOL_MAX
    ||  strchr (underlying, TM_SYMBOL_END)) {
        snprintf (err, err_size, "config: option/underlying = '%s': expected a symbol of 1 to "
                  "%d bytes", underlying, TM_SYMBOL_MAX - 1);
        return -1;
    }
    char *end;
    double value = strtod (step, &end);
    if (!*step || *end || !(value >= 0.01) || value > 100000) {
        snprintf (err, err_size, "config: option/step = '%s': expected rupees between strikes, "
                  "from 0.01 to 100000", step);
        return -1;
    }
    tm_option_root_t *root = (tm_option_root_t *) tm_config_option (self, name);
    if (!root) {
        if (self->options_count == TM_OPTION_ROOTS_MAX) {
            snprintf (err, err_size, "config: more than %d option roots", TM_OPTION_ROOTS_MAX);
            return -1;
        }
        root = &self->options [self->options_count++];
    }
    snprintf (root->name, sizeof root->name, "%s", name);
    snprintf (root->underlying, sizeof root->underlying, "%s", underlying);
    root->step = value;
    return 0;
}

//  Split a comma-separated list into entries of at most size - 1 bytes, blanks trimmed. Calls
//  add for each; returns -1 (why in err) on an empty or too long entry.
static int
s_list (const char *key, const char *value, size_t size, int (*add) (void *, const char *),
        void *arg, char *err, size_t err_size)
{
    const char *p = value;
    while (true) {
        while (*p == ' ')
            p++;
        size_t len = strcspn (p, ",");
        size_t trimmed = len;
        while (trimmed && p [trimmed - 1] == ' ')
            trimmed--;
        char item [TM_SYMBOL_MAX];
        if (trimmed == 0 || trimmed >= size || trimmed >= sizeof item) {
            snprintf (err, err_size, "config: token/%s = '%s': expected a comma-separated list "
                      "of non-empty entries of at most %zu bytes", key, value, size - 1);
            return -1;
        }
        memcpy (item, p, trimmed);
        item [trimmed] = '\0';
        if (add (arg, item)) {
            snprintf (err, err_size, "config: token/%s = '%s': too many entries", key, value);
            return -1;
        }
        if (!p [len])
            return 0;
        p += len + 1;
    }
}

static int
s_token_add_symbol (void *arg, const char *item)
{
    tm_token_t *t = (tm_token_t *) arg;
    char (*more) [TM_SYMBOL_MAX] = realloc (t->symbols, (t->symbols_count + 1) * TM_SYMBOL_MAX);
    assert (more);
    t->symbols = more;
    snprintf (t->symbols [t->symbols_count++], TM_SYMBOL_MAX, "%s", item);
    return 0;
}

static int
s_token_add_stream (void *arg, const char *item)
{
    tm_token_t *t = (tm_token_t *) arg;
    if (t->streams_count == TM_PROVIDERS_MAX + 1)
        return -1;
    snprintf (t->streams [t->streams_count++], TM_PROVIDER_MAX, "%s", item);
    return 0;
}

static int
s_hex_byte (char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int
s_load_token (tm_config_t *self, zconfig_t *section, char *err, size_t err_size)
{
    if (self->tokens_count == TM_TOKENS_MAX) {
        snprintf (err, err_size, "config: more than %d tokens", TM_TOKENS_MAX);
        return -1;
    }
    if (s_check_keys (section, s_token_keys, err, err_size))
        return -1;
    tm_token_t *t = &self->tokens [self->tokens_count];
    memset (t, 0, sizeof *t);
    t->orders = true;
    self->tokens_count++;               //  So that destroy frees what we allocate
    const char *name = zconfig_get (section, "name", NULL);
    size_t len = name ? strlen (name) : 0;
    bool valid = len > 0 && len < TM_TOKEN_NAME_MAX;
    for (size_t i = 0; i < len && valid; i++)
        valid = isalnum ((unsigned char) name [i]) || name [i] == '_' || name [i] == '-';
    if (!valid) {
        snprintf (err, err_size, "config: token/name = '%s': expected 1 to %d of A-Z a-z 0-9 _ -",
                  name ? name : "", TM_TOKEN_NAME_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i + 1 < self->tokens_count; i++)
        if (streq (self->tokens [i].name, name)) {
            snprintf (err, err_size, "config: token/name = '%s': configured twice", name);
            return -1;
        }
    strcpy (t->name, name);
    const char *hex = zconfig_get (section, "sha256", NULL);
    const char *credential = zconfig_get (section, "credential", NULL);
    if (!hex == !credential) {
        snprintf (err, err_size, "config: token '%s' needs one of sha256 (the token's SHA-256) "
                  "or credential (where the token is)", name);
        return -1;
    }
    if (hex) {
        bool ok = strlen (hex) == 64;
        for (size_t i = 0; ok && i < 32; i++) {
            int hi = s_hex_byte (hex [2 * i]), lo = s_hex_byte (hex [2 * i + 1]);
            ok = hi >= 0 && lo >= 0;
            t->hash [i] = (unsigned char) (hi << 4 | lo);
        }
        if (!ok) {
            snprintf (err, err_size, "config: token/sha256 of '%s': expected 64 hex digits "
                      "(printf %%s TOKEN | sha256sum)", name);
            return -1;
        }
    }
    else {
        char buf [TM_SECRET_MAX];
        const char *token = tm_config_secret (credential, buf, sizeof buf);
        if (!token || !*token || strlen (token) > TM_API_TOKEN_MAX) {
            snprintf (err, err_size, "config: token '%s': credential %s is not set (an "
                      "environment variable or a systemd credential of that name, at most %d "
                      "bytes)", name, credential, TM_API_TOKEN_MAX);
            OPENSSL_cleanse (buf, sizeof buf);
            return -1;
        }
        tm_config_hash_token (token, strlen (token), t->hash);
        OPENSSL_cleanse (buf, sizeof buf);
    }
    const char *value;
    if ((value = zconfig_get (section, "symbols", NULL))
    &&  s_list ("symbols", value, TM_SYMBOL_MAX, s_token_add_symbol, t, err, err_size))
        return -1;
    if ((value = zconfig_get (section, "providers", NULL))
    &&  s_list ("providers", value, TM_PROVIDER_MAX, s_token_add_stream, t, err, err_size))
        return -1;
    uint64_t v;
    if ((value = zconfig_get (section, "orders", NULL))) {
        if (s_parse_uint ("token", "orders", value, 0, 1, &v, err, err_size))
            return -1;
        t->orders = v == 1;
    }
    if ((value = zconfig_get (section, "slow_policy", NULL))) {
        if (tm_slow_policy_parse (value, &t->slow_policy)) {
            snprintf (err, err_size, "config: token/slow_policy = '%s': expected conflate, "
                      "drop_oldest or disconnect", value);
            return -1;
        }
        t->has_slow_policy = true;
    }
    return 0;
}

static const char *s_slow_policies [TM_SLOW_POLICIES] = { "conflate", "drop_oldest", "disconnect" };

const char *
tm_slow_policy_name (tm_slow_policy_t policy)
{
    return policy >= 0 && policy < TM_SLOW_POLICIES ? s_slow_policies [policy] : "unknown";
}

int
tm_slow_policy_parse (const char *name, tm_slow_policy_t *policy)
{
    for (int i = 0; i < TM_SLOW_POLICIES; i++)
        if (streq (name, s_slow_policies [i])) {
            *policy = (tm_slow_policy_t) i;
            return 0;
        }
    return -1;
}

void
tm_config_hash_token (const char *token, size_t len, unsigned char hash [32])
{
    unsigned int size = 32;
    int rc = EVP_Digest (token, len, hash, &size, EVP_sha256 (), NULL);
    assert (rc == 1 && size == 32);
}

static tm_config_t *
s_config_from (zconfig_t *root, char *err, size_t err_size)
{
    tm_config_t *self = (tm_config_t *) zmalloc (sizeof (tm_config_t));
    assert (self);
    strcpy (self->role, "core");
    self->port = TM_DEFAULT_PORT;
    strcpy (self->interface, TM_DEFAULT_INTERFACE);
    self->max_subscriptions = TM_DEFAULT_MAX_SUBS;
    self->max_message = TM_DEFAULT_MAX_MESSAGE;
    self->queue_bytes = TM_DEFAULT_QUEUE_BYTES;
    self->max_connections = TM_DEFAULT_MAX_CONNECTIONS;
    self->socket_buffer = TM_DEFAULT_SOCKET_BUFFER;
    self->max_connections_per_ip = TM_DEFAULT_MAX_PER_IP;
    self->max_rate = TM_DEFAULT_MAX_RATE;
    strcpy (self->feed_bind, TM_DEFAULT_FEED_BIND);
    strcpy (self->feed_snapshot, TM_DEFAULT_FEED_SNAPSHOT);
    self->failover = (tm_failover_config_t) {
        (int64_t) TM_FAILOVER_HOLD_DOWN_MS * 1000000, (int64_t) TM_FAILOVER_STALE_FLOOR_MS * 1000000,
        TM_FAILOVER_STALE_FACTOR, TM_FAILOVER_ERROR_RATE
    };
    self->options_count = sizeof s_default_options / sizeof s_default_options [0];
    memcpy (self->options, s_default_options, sizeof s_default_options);
    zconfig_t *section;
    const char *value;
    uint64_t v;

    for (section = root ? zconfig_child (root) : NULL; section; section = zconfig_next (section)) {
        const char *name = zconfig_name (section);
        if (strcmp (name, "tickmux") == 0) {
            if (s_check_keys (section, s_tickmux_keys, err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "state_dir", NULL))
            &&  s_copy (name, "state_dir", value, self->state_dir, sizeof self->state_dir,
                        err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "fake_time", NULL))
            &&  s_copy (name, "fake_time", value, self->fake_time, sizeof self->fake_time,
                        err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "role", NULL))
            &&  s_copy (name, "role", value, self->role, sizeof self->role, err, err_size))
                goto failed;
        }
        else
        if (strcmp (name, "upstream") == 0) {
            if (s_check_keys (section, s_upstream_keys, err, err_size))
                goto failed;
            const struct { const char *key; char *dest; } keys [] = {
                { "feed", self->upstream }, { "snapshot", self->upstream_snapshot },
                { "curve_cert", self->upstream_curve_cert },
                { "curve_server", self->upstream_curve_server }
            };
            for (size_t k = 0; k < sizeof keys / sizeof keys [0]; k++)
                if ((value = zconfig_get (section, keys [k].key, NULL))
                &&  s_copy (name, keys [k].key, value, keys [k].dest, TM_PATH_MAX, err, err_size))
                    goto failed;
        }
        else
        if (strcmp (name, "gateway") == 0) {
            if (s_check_keys (section, s_gateway_keys, err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "port", NULL))) {
                if (s_parse_uint (name, "port", value, 0, 65535, &v, err, err_size))
                    goto failed;
                self->port = (int) v;
            }
            if ((value = zconfig_get (section, "interface", NULL))
            &&  s_copy (name, "interface", value, self->interface, sizeof self->interface,
                        err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "www_dir", NULL))
            &&  s_copy (name, "www_dir", value, self->www_dir, sizeof self->www_dir,
                        err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "max_subscriptions", NULL))) {
                if (s_parse_uint (name, "max_subscriptions", value, 1, 1000000, &v, err, err_size))
                    goto failed;
                self->max_subscriptions = (size_t) v;
            }
            if ((value = zconfig_get (section, "max_message", NULL))) {
                if (s_parse_uint (name, "max_message", value, 256, 16777216, &v, err, err_size))
                    goto failed;
                self->max_message = (size_t) v;
            }
            if ((value = zconfig_get (section, "max_connections", NULL))) {
                if (s_parse_uint (name, "max_connections", value, 1, 1000000, &v, err, err_size))
                    goto failed;
                self->max_connections = (size_t) v;
            }
            if ((value = zconfig_get (section, "max_connections_per_ip", NULL))) {
                if (s_parse_uint (name, "max_connections_per_ip", value, 1, 1000000, &v,
                                  err, err_size))
                    goto failed;
                self->max_connections_per_ip = (size_t) v;
            }
            if ((value = zconfig_get (section, "max_rate", NULL))) {
                char *end;
                double rate = strtod (value, &end);
                if (!*value || *end || !(rate >= 1) || rate > 1e6) {
                    snprintf (err, err_size, "config: gateway/max_rate = '%s': expected messages "
                              "a second per client, 1 to 1000000", value);
                    goto failed;
                }
                self->max_rate = rate;
            }
            if ((value = zconfig_get (section, "socket_buffer", NULL))) {
                if (s_parse_uint (name, "socket_buffer", value, 0, 64 * 1024 * 1024, &v,
                                  err, err_size))
                    goto failed;
                self->socket_buffer = (size_t) v;
            }
            if ((value = zconfig_get (section, "slow_policy", NULL))
            &&  tm_slow_policy_parse (value, &self->slow_policy)) {
                snprintf (err, err_size, "config: gateway/slow_policy = '%s': expected conflate, "
                          "drop_oldest or disconnect", value);
                goto failed;
            }
            if ((value = zconfig_get (section, "health", NULL))) {
                if (!streq (value, "open") && !streq (value, "token")) {
                    snprintf (err, err_size, "config: gateway/health = '%s': expected open or "
                              "token", value);
                    goto failed;
                }
                self->protect_health = streq (value, "token");
            }
            if ((value = zconfig_get (section, "tls_cert", NULL))
            &&  s_copy (name, "tls_cert", value, self->tls_cert, sizeof self->tls_cert,
                        err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "tls_key", NULL))
            &&  s_copy (name, "tls_key", value, self->tls_key, sizeof self->tls_key,
                        err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "queue_bytes", NULL))) {
                if (s_parse_uint (name, "queue_bytes", value, 65536, 1073741824, &v,
                                  err, err_size))
                    goto failed;
                self->queue_bytes = (size_t) v;
            }
        }
        else
        if (strcmp (name, "provider") == 0) {
            if (s_load_provider (self, section, err, err_size))
                goto failed;
        }
        else
        if (strcmp (name, "token") == 0) {
            if (s_load_token (self, section, err, err_size))
                goto failed;
        }
        else
        if (strcmp (name, "option") == 0) {
            if (s_load_option (self, section, err, err_size))
                goto failed;
        }
        else
        if (strcmp (name, "feed") == 0) {
            if (s_check_keys (section, s_feed_keys, err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "bind", NULL))
            &&  s_copy (name, "bind", value, self->feed_bind, sizeof self->feed_bind,
                        err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "snapshot", NULL))
            &&  s_copy (name, "snapshot", value, self->feed_snapshot,
                        sizeof self->feed_snapshot, err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "curve_cert", NULL))
            &&  s_copy (name, "curve_cert", value, self->feed_curve_cert,
                        sizeof self->feed_curve_cert, err, err_size))
                goto failed;
            if ((value = zconfig_get (section, "curve_clients", NULL))
            &&  s_copy (name, "curve_clients", value, self->feed_curve_clients,
                        sizeof self->feed_curve_clients, err, err_size))
                goto failed;
        }
        else
        if (strcmp (name, "arbiter") == 0) {
            if (s_load_arbiter (self, section, err, err_size))
                goto failed;
        }
        else
        if (strcmp (name, "route") != 0) {
            snprintf (err, err_size, "config: unknown section '%s' (expected one of: tickmux, "
                      "gateway, token, provider, feed, upstream, arbiter, option, route)", name);
            goto failed;
        }
    }
    //  No provider configured: a real provider whose credentials are in the environment, and
    //  the simulator only when there is none or TICKMUX_SIM=1 asks (DESIGN.md 9).
    if (self->providers_count == 0) {
        char key_buf [TM_SECRET_MAX], user_buf [TM_SECRET_MAX], password_buf [TM_SECRET_MAX];
        const char *key = tm_config_secret ("ZERODHA_API_KEY", key_buf, sizeof key_buf);
        const char *sim = getenv ("TICKMUX_SIM");
        //  An api key is enough: the access token may come from a login (/login/zerodha)
        if (key && *key) {
            tm_provider_config_t *p = &self->providers [self->providers_count++];
            strcpy (p->name, "ZERODHA");
            strcpy (p->kind, "ZERODHA");
        }
        const char *user = tm_config_secret ("TRUEDATA_USERNAME", user_buf, sizeof user_buf);
        const char *password = tm_config_secret ("TRUEDATA_PASSWORD", password_buf,
                                                 sizeof password_buf);
        if (user && *user && password && *password) {
            tm_provider_config_t *p = &self->providers [self->providers_count++];
            strcpy (p->name, "TRUEDATA");
            strcpy (p->kind, "TRUEDATA");
        }
        if (self->providers_count == 0 || (sim && streq (sim, "1"))) {
            tm_provider_config_t *p = &self->providers [self->providers_count++];
            strcpy (p->name, "SIM");
            strcpy (p->kind, "SIM");
            p->seed = TM_DEFAULT_SIM_SEED;
            p->rate = TM_DEFAULT_SIM_RATE;
        }
    }
    const char *names [TM_PROVIDERS_MAX];
    for (size_t i = 0; i < self->providers_count; i++)
        names [i] = self->providers [i].name;
    self->routes = tm_routes_new (names, self->providers_count);
    for (section = root ? zconfig_child (root) : NULL; section; section = zconfig_next (section)) {
        if (strcmp (zconfig_name (section), "route") != 0)
            continue;
        if (s_check_keys (section, s_route_keys, err, err_size))
            goto failed;
        const char *symbol = zconfig_get (section, "symbol", NULL);
        const char *providers = zconfig_get (section, "providers", NULL);
        if (!symbol || !providers) {
            snprintf (err, err_size, "config: a route needs both symbol and providers");
            goto failed;
        }
        char why [512];
        if (tm_routes_add (self->routes, symbol, providers, why, sizeof why)) {
            snprintf (err, err_size, "config: %s", why);
            goto failed;
        }
    }
    //  Environment beats the file
    if ((value = getenv ("TICKMUX_FEED_BIND")) && *value
    &&  s_copy ("env", "TICKMUX_FEED_BIND", value, self->feed_bind, sizeof self->feed_bind,
                err, err_size))
        goto failed;
    if ((value = getenv ("TICKMUX_FEED_SNAPSHOT")) && *value
    &&  s_copy ("env", "TICKMUX_FEED_SNAPSHOT", value, self->feed_snapshot,
                sizeof self->feed_snapshot, err, err_size))
        goto failed;
    if ((value = getenv ("TICKMUX_FEED_CURVE_CERT")) && *value
    &&  s_copy ("env", "TICKMUX_FEED_CURVE_CERT", value, self->feed_curve_cert,
                sizeof self->feed_curve_cert, err, err_size))
        goto failed;
    if (streq (self->feed_bind, "off"))
        self->feed_bind [0] = '\0';
    if (self->feed_curve_cert [0] && !self->feed_curve_clients [0]) {
        snprintf (err, err_size, "config: feed/curve_cert is set but feed/curve_clients is not "
                  "(a directory of allowed client certificates, or * for any)");
        goto failed;
    }
    if (!self->tls_cert [0] != !self->tls_key [0]) {
        snprintf (err, err_size, "config: gateway/tls_cert and gateway/tls_key go together");
        goto failed;
    }
    if (self->protect_health && self->tokens_count == 0) {
        snprintf (err, err_size, "config: gateway/health = token, but no token block");
        goto failed;
    }
    if (!streq (self->role, "core") && !streq (self->role, "gateway")) {
        snprintf (err, err_size, "config: tickmux/role '%s': expected core or gateway",
                  self->role);
        goto failed;
    }
    if (!self->upstream_curve_cert [0] != !self->upstream_curve_server [0]) {
        snprintf (err, err_size, "config: upstream/curve_cert and upstream/curve_server go "
                  "together (our certificate, and the core's public one)");
        goto failed;
    }
    if ((value = getenv ("TICKMUX_FAKE_TIME")) && *value
    &&  s_copy ("env", "TICKMUX_FAKE_TIME", value, self->fake_time, sizeof self->fake_time,
                err, err_size))
        goto failed;
    //  STATE_DIRECTORY may list several directories separated by ':'; the first is ours.
    if ((value = getenv ("STATE_DIRECTORY")) && *value) {
        size_t len = strcspn (value, ":");
        if (len >= sizeof self->state_dir) {
            snprintf (err, err_size, "config: STATE_DIRECTORY is too long");
            goto failed;
        }
        memcpy (self->state_dir, value, len);
        self->state_dir [len] = '\0';
    }
    if (!self->state_dir [0]) {
        const char *home = getenv ("HOME");
        if (geteuid () == 0 || !home || !*home)
            strcpy (self->state_dir, "/var/lib/tickmux");
        else
            snprintf (self->state_dir, sizeof self->state_dir, "%.400s/.local/state/tickmux", home);
    }
    //  The dashboard: where make install put it, else the source tree we were built from, so
    //  ./tickmux in a checkout serves it too.
    if (!self->www_dir [0]) {
        const char *candidates [] = { TM_WWW_DIR, TM_SRC_WWW_DIR };
        for (size_t i = 0; i < 2 && !self->www_dir [0]; i++)
            if (access (candidates [i], R_OK | X_OK) == 0)
                snprintf (self->www_dir, sizeof self->www_dir, "%s", candidates [i]);
    }
    for (size_t i = 0; i < self->providers_count; i++)
        snprintf (self->providers [i].state_dir, TM_PATH_MAX, "%s", self->state_dir);
    if (self->fake_time [0]) {
        int64_t ns;
        if (tm_clock_parse (self->fake_time, &ns)) {
            snprintf (err, err_size, "config: fake_time = '%s': expected seconds since the epoch "
                      "or YYYY-MM-DDTHH:MM:SS followed by Z or +HH:MM", self->fake_time);
            goto failed;
        }
    }
    return self;

failed:
    tm_config_destroy (&self);
    return NULL;
}

tm_config_t *
tm_config_load_text (const char *text, char *err, size_t err_size)
{
    zconfig_t *root = NULL;
    if (text && *text) {
        root = zconfig_str_load (text);
        if (!root) {
            snprintf (err, err_size, "config: not valid ZPL (indent by 4 spaces, key = value)");
            return NULL;
        }
    }
    tm_config_t *self = s_config_from (root, err, err_size);
    zconfig_destroy (&root);
    return self;
}

tm_config_t *
tm_config_load (const char *path, char *err, size_t err_size)
{
    zconfig_t *root = NULL;
    if (path) {
        if (access (path, R_OK) != 0) {
            snprintf (err, err_size, "config: cannot read '%s': %s", path, strerror (errno));
            return NULL;
        }
        root = zconfig_load (path);
        if (!root) {
            snprintf (err, err_size, "config: '%s' is not valid ZPL (indent by 4 spaces, "
                      "key = value)", path);
            return NULL;
        }
    }
    tm_config_t *self = s_config_from (root, err, err_size);
    zconfig_destroy (&root);
    return self;
}

void
tm_config_destroy (tm_config_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        tm_config_t *self = *self_p;
        tm_routes_destroy (&self->routes);
        for (size_t i = 0; i < self->tokens_count; i++)
            free (self->tokens [i].symbols);
        free (self);
        *self_p = NULL;
    }
}

const tm_option_root_t *
tm_config_option (const tm_config_t *self, const char *name)
{
    for (size_t i = 0; i < self->options_count; i++)
        if (strcmp (self->options [i].name, name) == 0)
            return &self->options [i];
    return NULL;
}

int
tm_config_provider_index (const tm_config_t *self, const char *name)
{
    for (size_t i = 0; i < self->providers_count; i++)
        if (strcmp (self->providers [i].name, name) == 0)
            return (int) i;
    return -1;
}

const char *
tm_config_secret (const char *name, char *buf, size_t size)
{
    assert (name && buf && size);
    const char *value = getenv (name);
    if (value && *value) {
        if (strlen (value) >= size)
            return NULL;
        strcpy (buf, value);
        return buf;
    }
    const char *dir = getenv ("CREDENTIALS_DIRECTORY");
    if (!dir || !*dir)
        return NULL;
    char path [TM_PATH_MAX + 64];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    bool got = fgets (buf, (int) size, file) != NULL;
    fclose (file);
    if (!got)
        return NULL;
    buf [strcspn (buf, "\r\n")] = '\0';
    return buf [0] ? buf : NULL;
}
