//  protocol - the JSON client protocol (see protocol.h)

#include "tickmux.h"
#include "protocol.h"
#include "chain.h"

static const char *s_channels [] = { "STATUS", "ANALYTICS", "ORDERS", "PORTFOLIO", "ACCOUNT", NULL };

const char *
tm_request_type_name (tm_req_type_t type)
{
    switch (type) {
        case TM_REQ_SUBSCRIBE:      return "SUBSCRIBE";
        case TM_REQ_UNSUBSCRIBE:    return "UNSUBSCRIBE";
        case TM_REQ_PING:           return "PING";
        case TM_REQ_OPTION_CHAIN:   return "GET_OPTION_CHAIN";
    }
    return "UNKNOWN";
}

void
tm_request_clear (tm_request_t *req)
{
    assert (req);
    if (req->root)
        json_decref (req->root);
    if (req->id)
        json_decref (req->id);
    req->root = NULL;
    req->id = NULL;
    req->symbols_count = 0;
    req->channel [0] = '\0';
    req->provider [0] = '\0';
    req->option_chain = false;
    req->expiry [0] = '\0';
    req->strikes = 0;
}

#define FAIL(c, ...) do { *code = (c); snprintf (message, message_size, __VA_ARGS__); \
                          return -1; } while (0)

//  Copy a symbol string after checking it: 1..TM_SYMBOL_MAX-1 bytes, printable, no '|'.
static int
s_symbol_ok (const char *s, size_t len)
{
    if (len == 0 || len >= TM_SYMBOL_MAX)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) s [i] < 0x20 || s [i] == TM_SYMBOL_END || s [i] == 0x7f)
            return 0;
    return 1;
}

//  The option chain parts of GET_OPTION_CHAIN, or of an UNSUBSCRIBE of one: the root in
//  'symbol' (or 'option_chain'), 'expiry' as YYYY-MM-DD, 'strikes' 1..TM_CHAIN_STRIKES_MAX.
static int
s_parse_chain (json_t *root, json_t *symbol, tm_request_t *req,
               const char **code, char *message, size_t message_size)
{
    const char *field = req->type == TM_REQ_OPTION_CHAIN ? "symbol" : "option_chain";
    if (!json_is_string (symbol)
    ||  !s_symbol_ok (json_string_value (symbol), json_string_length (symbol)))
        FAIL (TM_E_BAD_FIELD, "'%s' must be an option root such as NIFTY, 1 to %d printable "
              "bytes", field, TM_SYMBOL_MAX - 1);
    strcpy (req->symbols [0], json_string_value (symbol));
    req->symbols_count = 1;
    req->option_chain = true;
    json_t *expiry = json_object_get (root, "expiry");
    int year, month, day;
    if (!json_is_string (expiry) || json_string_length (expiry) >= TM_EXPIRY_MAX
    ||  tm_option_expiry_parse (json_string_value (expiry), &year, &month, &day))
        FAIL (TM_E_BAD_FIELD, "'expiry' must be a date, YYYY-MM-DD");
    strcpy (req->expiry, json_string_value (expiry));
    json_t *strikes = json_object_get (root, "strikes");
    if (req->type != TM_REQ_OPTION_CHAIN) {
        if (strikes)
            FAIL (TM_E_BAD_FIELD, "UNSUBSCRIBE of an option chain takes no 'strikes'");
        return 0;
    }
    req->strikes = TM_CHAIN_STRIKES_DEFAULT;
    if (strikes) {
        if (!json_is_integer (strikes) || json_integer_value (strikes) < 1
        ||  json_integer_value (strikes) > TM_CHAIN_STRIKES_MAX)
            FAIL (TM_E_BAD_FIELD, "'strikes' must be an integer from 1 to %d",
                  TM_CHAIN_STRIKES_MAX);
        req->strikes = (size_t) json_integer_value (strikes);
    }
    return 0;
}

int
tm_request_parse (const char *text, size_t len, tm_request_t *req,
                  const char **code, char *message, size_t message_size)
{
    assert (text && req && code && message);
    memset (req, 0, offsetof (tm_request_t, symbols));
    req->id = NULL;
    req->root = NULL;
    json_error_t error;
    json_t *root = json_loadb (text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &error);
    if (!root)
        FAIL (TM_E_BAD_JSON, "not valid JSON at line %d column %d: %s",
              error.line, error.column, error.text);
    if (!json_is_object (root)) {
        const char *what = json_is_array (root) ? "an array" : json_is_string (root) ? "a string"
                         : json_is_number (root) ? "a number" : "a literal";
        json_decref (root);
        FAIL (TM_E_NOT_AN_OBJECT, "a request must be a JSON object, not %s", what);
    }
    req->root = root;
    json_t *id = json_object_get (root, "id");
    if (id) {
        if (!json_is_string (id) && !json_is_number (id))
            FAIL (TM_E_BAD_FIELD, "'id' must be a string or a number");
        if (json_is_string (id) && json_string_length (id) > 128)
            FAIL (TM_E_BAD_FIELD, "'id' is longer than 128 bytes");
        req->id = json_incref (id);
    }
    json_t *type = json_object_get (root, "type");
    if (!json_is_string (type))
        FAIL (TM_E_MISSING_TYPE, "a request needs a string 'type' (SUBSCRIBE, UNSUBSCRIBE, "
              "GET_OPTION_CHAIN, PING)");
    const char *name = json_string_value (type);
    if (streq (name, "PING")) {
        req->type = TM_REQ_PING;
        return 0;
    }
    if (streq (name, "SUBSCRIBE"))
        req->type = TM_REQ_SUBSCRIBE;
    else
    if (streq (name, "UNSUBSCRIBE"))
        req->type = TM_REQ_UNSUBSCRIBE;
    else
    if (streq (name, "GET_OPTION_CHAIN"))
        req->type = TM_REQ_OPTION_CHAIN;
    else
        FAIL (TM_E_UNKNOWN_TYPE, "unknown type '%.64s' (expected SUBSCRIBE, UNSUBSCRIBE, "
              "GET_OPTION_CHAIN or PING)", name);

    json_t *provider = json_object_get (root, "provider");
    json_t *symbol = json_object_get (root, "symbol");
    json_t *symbols = json_object_get (root, "symbols");
    json_t *channel = json_object_get (root, "channel");
    json_t *chain = json_object_get (root, "option_chain");
    if (req->type == TM_REQ_OPTION_CHAIN) {
        if (!symbol || symbols || channel || chain)
            FAIL (TM_E_BAD_FIELD, "GET_OPTION_CHAIN needs 'symbol' (an option root such as "
                  "NIFTY) and 'expiry', and takes no 'symbols', 'channel' or 'option_chain'");
    }
    else {
        int forms = (symbol != NULL) + (symbols != NULL) + (channel != NULL) + (chain != NULL);
        if (forms != 1 || (chain && req->type != TM_REQ_UNSUBSCRIBE))
            FAIL (TM_E_BAD_FIELD, "%s needs exactly one of 'symbol', 'symbols'%s", name,
                  req->type == TM_REQ_UNSUBSCRIBE ? ", 'channel' or 'option_chain'"
                                                  : " or 'channel'");
    }
    if (channel) {
        if (!json_is_string (channel))
            FAIL (TM_E_BAD_FIELD, "'channel' must be a string");
        const char *value = json_string_value (channel);
        for (const char **c = s_channels; *c; c++)
            if (streq (*c, value)) {
                snprintf (req->channel, sizeof req->channel, "%s", value);
                return 0;
            }
        FAIL (TM_E_UNKNOWN_CHANNEL, "unknown channel '%.64s' (expected STATUS, ANALYTICS, ORDERS, "
              "PORTFOLIO or ACCOUNT)", value);
    }
    if (provider) {
        if (!json_is_string (provider))
            FAIL (TM_E_BAD_FIELD, "'provider' must be a string");
        if (json_string_length (provider) == 0 || json_string_length (provider) >= TM_PROVIDER_MAX)
            FAIL (TM_E_UNKNOWN_PROVIDER, "unknown provider '%.64s'", json_string_value (provider));
        snprintf (req->provider, sizeof req->provider, "%s", json_string_value (provider));
    }
    else
        strcpy (req->provider, TM_STREAM_ALL);
    if (req->type == TM_REQ_OPTION_CHAIN || chain)
        return s_parse_chain (root, chain ? chain : symbol, req, code, message, message_size);
    if (symbol) {
        if (!json_is_string (symbol))
            FAIL (TM_E_BAD_FIELD, "'symbol' must be a string");
        if (!s_symbol_ok (json_string_value (symbol), json_string_length (symbol)))
            FAIL (TM_E_BAD_FIELD, "'symbol' must be 1 to %d printable bytes without '%c'",
                  TM_SYMBOL_MAX - 1, TM_SYMBOL_END);
        strcpy (req->symbols [0], json_string_value (symbol));
        req->symbols_count = 1;
        return 0;
    }
    if (!json_is_array (symbols) || json_array_size (symbols) == 0)
        FAIL (TM_E_BAD_FIELD, "'symbols' must be a non-empty array of strings");
    if (json_array_size (symbols) > TM_REQ_SYMBOLS_MAX)
        FAIL (TM_E_BAD_FIELD, "'symbols' holds %zu entries, more than %d",
              json_array_size (symbols), TM_REQ_SYMBOLS_MAX);
    size_t index;
    json_t *item;
    json_array_foreach (symbols, index, item) {
        if (!json_is_string (item)
        ||  !s_symbol_ok (json_string_value (item), json_string_length (item)))
            FAIL (TM_E_BAD_FIELD, "'symbols' entry %zu must be 1 to %d printable bytes without '%c'",
                  index, TM_SYMBOL_MAX - 1, TM_SYMBOL_END);
        strcpy (req->symbols [req->symbols_count++], json_string_value (item));
    }
    return 0;
}

//  Copy text, cut back to the last whole UTF-8 character: messages quote client text with
//  %.64s, which can cut a character in two, and jansson refuses invalid UTF-8.
static void
s_utf8_copy (char *dest, size_t size, const char *text)
{
    size_t len = strnlen (text, size - 1);
    memcpy (dest, text, len);
    while (len && !tm_utf8_valid ((const unsigned char *) dest, len))
        len--;
    dest [len] = '\0';
}

char *
tm_protocol_error (const char *code, const char *message, json_t *request, json_t *id,
                   const char *symbol)
{
    char clean [512];
    s_utf8_copy (clean, sizeof clean, message);
    json_t *out = json_pack ("{s:s, s:s, s:s}", "type", "ERROR", "code", code, "message", clean);
    if (!out)
        return NULL;
    if (symbol) {
        char clean_symbol [TM_SYMBOL_MAX];
        s_utf8_copy (clean_symbol, sizeof clean_symbol, symbol);
        json_object_set_new (out, "symbol", json_string (clean_symbol));
    }
    if (id)
        json_object_set (out, "id", id);
    if (request && json_is_object (request))
        json_object_set (out, "request", request);
    char *text = json_dumps (out, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref (out);
    return text;
}
