//  protocol - the JSON client protocol: parse what clients send, format what they receive
//
//  Parsing uses jansson (client messages are small and irregular); ticks are formatted by
//  tm_tick_to_json, not here. A request is validated fully here (type, fields, lengths), so
//  the gateway only checks what needs its state: known symbols and subscription limits.

#ifndef TM_PROTOCOL_H_INCLUDED
#define TM_PROTOCOL_H_INCLUDED

#include <jansson.h>

#define TM_REQ_SYMBOLS_MAX  1000    //  Symbols in one SUBSCRIBE / UNSUBSCRIBE
#define TM_CHANNEL_MAX      16

typedef enum {
    TM_REQ_SUBSCRIBE = 1,
    TM_REQ_UNSUBSCRIBE,
    TM_REQ_PING,
    TM_REQ_OPTION_CHAIN
} tm_req_type_t;

#define TM_EXPIRY_MAX       11      //  "YYYY-MM-DD" and its NUL
#define TM_CHAIN_STRIKES_DEFAULT 20 //  GET_OPTION_CHAIN without "strikes"

typedef struct {
    tm_req_type_t type;                         //  What the client asks
    char provider [TM_PROVIDER_MAX];            //  Stream asked for: "ALL" (default) or an instance
    char channel [TM_CHANNEL_MAX];              //  Non-symbol channel ("STATUS"), "" for symbols
    bool option_chain;                          //  UNSUBSCRIBE of an option chain (symbols [0])
    char expiry [TM_EXPIRY_MAX];                //  Option chain expiry, YYYY-MM-DD (checked)
    size_t strikes;                             //  GET_OPTION_CHAIN: strikes wanted
    size_t symbols_count;                       //  Entries in symbols
    char symbols [TM_REQ_SYMBOLS_MAX][TM_SYMBOL_MAX];  //  Symbols asked for, in request order
    json_t *id;                                 //  Client's "id", echoed in replies (owned), or NULL
    json_t *root;                               //  The whole request, for ERROR.request (owned)
} tm_request_t;

//  Error codes, the same in schemas/client-out.schema.json and the README
#define TM_E_BAD_JSON           "BAD_JSON"
#define TM_E_NOT_AN_OBJECT      "NOT_AN_OBJECT"
#define TM_E_MISSING_TYPE       "MISSING_TYPE"
#define TM_E_UNKNOWN_TYPE       "UNKNOWN_TYPE"
#define TM_E_BAD_FIELD          "BAD_FIELD"
#define TM_E_UNKNOWN_SYMBOL     "UNKNOWN_SYMBOL"
#define TM_E_UNKNOWN_PROVIDER   "UNKNOWN_PROVIDER"
#define TM_E_UNKNOWN_CHANNEL    "UNKNOWN_CHANNEL"
#define TM_E_CHANNEL_UNAVAILABLE "CHANNEL_UNAVAILABLE"
#define TM_E_NOT_SUBSCRIBED     "NOT_SUBSCRIBED"
#define TM_E_SUBSCRIPTION_LIMIT "SUBSCRIPTION_LIMIT"
#define TM_E_NOT_ALLOWED        "NOT_ALLOWED"       //  The client's token does not allow it
#define TM_E_RATE_LIMITED       "RATE_LIMITED"      //  Past gateway/max_rate: dropped
#define TM_E_BINARY             "BINARY_NOT_SUPPORTED"
#define TM_E_CHAIN_UNAVAILABLE  "OPTION_CHAIN_UNAVAILABLE"

//  Close codes
#define TM_CLOSE_TOO_BIG        1009    //  Message larger than max_message
#define TM_CLOSE_SLOW           4008    //  A slow consumer, under slow_policy disconnect
#define TM_CLOSE_REVOKED        4401    //  After SIGHUP: its token is gone, or one is now required

//  Parse one client text message. On success returns 0 with *req filled (free it with
//  tm_request_clear). On failure returns -1, with code set to one of TM_E_* and message to
//  a sentence naming what is wrong; req->root and req->id may still be set (the ERROR
//  echoes them), so call tm_request_clear either way.
int
    tm_request_parse (const char *text, size_t len, tm_request_t *req,
                      const char **code, char *message, size_t message_size);

//  Release what a parsed request owns. Safe to repeat.
void
    tm_request_clear (tm_request_t *req);

//  Format {"type":"ERROR","code","message","request"?,"id"?,"symbol"?} into a new string.
//  request, id and symbol may be NULL; message and symbol are cut back to whole UTF-8
//  characters, so the reply is never refused for a character cut in two. Caller owns return value (free with free ()).
char *
    tm_protocol_error (const char *code, const char *message, json_t *request, json_t *id,
                       const char *symbol);

//  Name of a request type ("SUBSCRIBE"); the out type of its reply ("SUBSCRIBED").
const char *
    tm_request_type_name (tm_req_type_t type);

#endif
