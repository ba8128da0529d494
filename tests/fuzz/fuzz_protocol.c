//  fuzz_protocol - libFuzzer target for the client protocol parser and its ERROR replies
//
//  Client text is the gateway's most exposed input. Besides what the sanitizers catch, this
//  aborts when a parse breaks its contract: a request outside the limits, a failure without
//  a code or message, or a failure whose ERROR reply cannot be formed (the client would get
//  no answer at all).

#include "tickmux.h"
#include "protocol.h"
#include "chain.h"

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static tm_request_t s_req;          //  32 KB: static, not on the fuzzer's stack

//  The reply must exist and be one JSON object with type ERROR and the code given.
static void
s_check_reply (const char *code, const char *message, const char *symbol)
{
    char *reply = tm_protocol_error (code, message, s_req.root, s_req.id, symbol);
    if (!reply)
        abort ();
    json_error_t error;
    json_t *root = json_loads (reply, 0, &error);
    if (!json_is_object (root)
    ||  strcmp (json_string_value (json_object_get (root, "type")), "ERROR") != 0
    ||  strcmp (json_string_value (json_object_get (root, "code")), code) != 0)
        abort ();
    json_decref (root);
    free (reply);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const char *text = data ? (const char *) data : "";
    const char *code = NULL;
    char message [256];
    message [0] = '\0';
    int rc = tm_request_parse (text, size, &s_req, &code, message, sizeof message);
    if (rc == 0) {
        if (s_req.type != TM_REQ_SUBSCRIBE && s_req.type != TM_REQ_UNSUBSCRIBE
        &&  s_req.type != TM_REQ_PING && s_req.type != TM_REQ_OPTION_CHAIN)
            abort ();
        //  An option chain request names one root, a real date and, to get one, a width
        int year, month, day;
        if (s_req.option_chain
        &&  (s_req.symbols_count != 1
             || tm_option_expiry_parse (s_req.expiry, &year, &month, &day) != 0))
            abort ();
        if ((s_req.type == TM_REQ_OPTION_CHAIN) != (s_req.option_chain && s_req.strikes > 0)
        ||  s_req.strikes > TM_CHAIN_STRIKES_MAX)
            abort ();
        if (s_req.symbols_count > TM_REQ_SYMBOLS_MAX || !s_req.root)
            abort ();
        for (size_t i = 0; i < s_req.symbols_count; i++) {
            size_t len = strnlen (s_req.symbols [i], TM_SYMBOL_MAX);
            if (len == 0 || len >= TM_SYMBOL_MAX)
                abort ();
        }
        if (strnlen (s_req.provider, TM_PROVIDER_MAX) >= TM_PROVIDER_MAX
        ||  strnlen (s_req.channel, TM_CHANNEL_MAX) >= TM_CHANNEL_MAX)
            abort ();
        //  What the gateway sends when a symbol of a valid request is unknown
        if (s_req.symbols_count)
            s_check_reply (TM_E_UNKNOWN_SYMBOL, "unknown symbol", s_req.symbols [0]);
    }
    else {
        if (rc != -1 || !code || !message [0])
            abort ();
        s_check_reply (code, message, NULL);
    }
    tm_request_clear (&s_req);
    tm_request_clear (&s_req);
    return 0;
}
