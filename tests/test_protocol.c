//  test_protocol - parsing what clients send and formatting ERROR replies
//
//  Every request of the README, every error code for its bad input, and the ERROR reply
//  for each failure checked with jansson, because a reply that cannot be formed is a client
//  left without an answer.

#include "tickmux.h"
#include "protocol.h"
#include "tap.h"

static tm_request_t *s_req;         //  One request, reused (it is 32 KB)

static int
s_suite_init (void)
{
    s_req = calloc (1, sizeof *s_req);
    return s_req ? 0 : -1;
}

static int
s_suite_cleanup (void)
{
    if (s_req)
        tm_request_clear (s_req);
    free (s_req);
    s_req = NULL;
    return 0;
}

static void
s_fail_text (const char *what, unsigned int line)
{
    CU_assertImplementation (CU_FALSE, line, what, __FILE__, "", CU_FALSE);
}

//  Parse text that must be valid. The caller clears s_req.
static bool
s_parse_ok (const char *text, unsigned int line)
{
    const char *code = NULL;
    char message [256] = "";
    if (tm_request_parse (text, strlen (text), s_req, &code, message, sizeof message) == 0)
        return true;
    char what [512];
    snprintf (what, sizeof what, "refused %.200s: %s %s", text, code ? code : "(no code)",
              message);
    s_fail_text (what, line);
    return false;
}

static void
test_subscribe (void)
{
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"SUBSCRIBE\",\"symbol\":\"NIFTY-I\",\"provider\":\"ALL\"}",
                                 __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_SUBSCRIBE);
    CU_ASSERT_STRING_EQUAL (s_req->provider, "ALL");
    CU_ASSERT_STRING_EQUAL (s_req->channel, "");
    CU_ASSERT (s_req->symbols_count == 1);
    CU_ASSERT_STRING_EQUAL (s_req->symbols [0], "NIFTY-I");
    CU_ASSERT (s_req->id == NULL);
    CU_ASSERT (json_is_object (s_req->root));
    tm_request_clear (s_req);

    //  provider defaults to ALL; a symbol may hold spaces
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"SUBSCRIBE\",\"symbol\":\"NIFTY 50\"}", __LINE__));
    CU_ASSERT_STRING_EQUAL (s_req->provider, "ALL");
    CU_ASSERT_STRING_EQUAL (s_req->symbols [0], "NIFTY 50");
    tm_request_clear (s_req);

    CU_ASSERT_FATAL (s_parse_ok (
        "{\"type\":\"SUBSCRIBE\",\"symbols\":[\"NIFTY-I\",\"RELIANCE\"],\"provider\":\"SIM\"}",
        __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_SUBSCRIBE);
    CU_ASSERT_STRING_EQUAL (s_req->provider, "SIM");
    CU_ASSERT (s_req->symbols_count == 2);
    CU_ASSERT_STRING_EQUAL (s_req->symbols [0], "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (s_req->symbols [1], "RELIANCE");
    tm_request_clear (s_req);

    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"SUBSCRIBE\",\"channel\":\"STATUS\"}", __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_SUBSCRIBE);
    CU_ASSERT_STRING_EQUAL (s_req->channel, "STATUS");
    CU_ASSERT (s_req->symbols_count == 0);
    tm_request_clear (s_req);

    //  With ids, a string and a number, echoed as given
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"SUBSCRIBE\",\"symbol\":\"RELIANCE\",\"id\":\"req-1\","
                                 "\"provider\":\"SIM2\"}", __LINE__));
    CU_ASSERT_STRING_EQUAL (json_string_value (s_req->id), "req-1");
    CU_ASSERT_STRING_EQUAL (s_req->provider, "SIM2");
    tm_request_clear (s_req);
    CU_ASSERT_FATAL (s_parse_ok ("{\"id\":42,\"type\":\"SUBSCRIBE\",\"symbols\":[\"INFY\"]}",
                                 __LINE__));
    CU_ASSERT (json_integer_value (s_req->id) == 42);
    tm_request_clear (s_req);
}

static void
test_unsubscribe_ping (void)
{
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"UNSUBSCRIBE\",\"symbol\":\"NIFTY-I\",\"provider\":\"ALL\"}",
                                 __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_UNSUBSCRIBE);
    CU_ASSERT (s_req->symbols_count == 1);
    CU_ASSERT_STRING_EQUAL (s_req->symbols [0], "NIFTY-I");
    CU_ASSERT_STRING_EQUAL (s_req->provider, "ALL");
    tm_request_clear (s_req);
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"UNSUBSCRIBE\",\"symbols\":[\"A\",\"B\",\"C\"],\"id\":\"x\"}",
                                 __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_UNSUBSCRIBE && s_req->symbols_count == 3);
    CU_ASSERT_STRING_EQUAL (s_req->symbols [2], "C");
    CU_ASSERT_STRING_EQUAL (json_string_value (s_req->id), "x");
    tm_request_clear (s_req);
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"UNSUBSCRIBE\",\"channel\":\"STATUS\"}", __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_UNSUBSCRIBE);
    CU_ASSERT_STRING_EQUAL (s_req->channel, "STATUS");
    tm_request_clear (s_req);

    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"PING\"}", __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_PING);
    CU_ASSERT (s_req->id == NULL);
    tm_request_clear (s_req);
    CU_ASSERT_FATAL (s_parse_ok ("  {\"type\" : \"PING\", \"id\" : 7}\n", __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_PING);
    CU_ASSERT (json_integer_value (s_req->id) == 7);
    tm_request_clear (s_req);

    CU_ASSERT_STRING_EQUAL (tm_request_type_name (TM_REQ_SUBSCRIBE), "SUBSCRIBE");
    CU_ASSERT_STRING_EQUAL (tm_request_type_name (TM_REQ_UNSUBSCRIBE), "UNSUBSCRIBE");
    CU_ASSERT_STRING_EQUAL (tm_request_type_name (TM_REQ_PING), "PING");
}

//  README: "A request may carry an id (string or number)".
static void
test_number_ids (void)
{
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"PING\",\"id\":-3}", __LINE__));
    CU_ASSERT (json_integer_value (s_req->id) == -3);
    tm_request_clear (s_req);
    if (s_parse_ok ("{\"type\":\"PING\",\"id\":1.5}", __LINE__))
        CU_ASSERT (json_number_value (s_req->id) == 1.5);
    tm_request_clear (s_req);
}

//  The limits: TM_SYMBOL_MAX - 1 bytes and TM_REQ_SYMBOLS_MAX symbols pass.
static void
test_limits (void)
{
    char text [64];
    snprintf (text, sizeof text, "{\"type\":\"SUBSCRIBE\",\"symbol\":\"%.*s\"}",
              TM_SYMBOL_MAX - 1, "0123456789012345678901234567890123456789");
    CU_ASSERT_FATAL (s_parse_ok (text, __LINE__));
    CU_ASSERT (strlen (s_req->symbols [0]) == TM_SYMBOL_MAX - 1);
    tm_request_clear (s_req);

    size_t size = 64 + TM_REQ_SYMBOLS_MAX * 12;
    char *many = malloc (size);
    assert (many);
    strcpy (many, "{\"type\":\"SUBSCRIBE\",\"symbols\":[");
    for (int i = 0; i < TM_REQ_SYMBOLS_MAX; i++) {
        size_t used = strlen (many);
        snprintf (many + used, size - used, "%s\"S%d\"", i ? "," : "", i);
    }
    strcat (many, "]}");
    CU_ASSERT_FATAL (s_parse_ok (many, __LINE__));
    CU_ASSERT (s_req->symbols_count == TM_REQ_SYMBOLS_MAX);
    CU_ASSERT_STRING_EQUAL (s_req->symbols [0], "S0");
    CU_ASSERT_STRING_EQUAL (s_req->symbols [TM_REQ_SYMBOLS_MAX - 1], "S999");
    tm_request_clear (s_req);
    free (many);
}

//  Only len bytes are read: the text need not end in NUL, and what follows is not read.
static void
test_length (void)
{
    const char *text = "{\"type\":\"PING\"}garbage";
    const char *code = NULL;
    char message [256];
    CU_ASSERT (tm_request_parse (text, 15, s_req, &code, message, sizeof message) == 0);
    CU_ASSERT (s_req->type == TM_REQ_PING);
    tm_request_clear (s_req);
    //  Exactly len bytes, no NUL after them (valgrind and ASan see a read past the end)
    char *exact = malloc (15);
    assert (exact);
    memcpy (exact, text, 15);
    CU_ASSERT (tm_request_parse (exact, 15, s_req, &code, message, sizeof message) == 0);
    tm_request_clear (s_req);
    CU_ASSERT (tm_request_parse (exact, 14, s_req, &code, message, sizeof message) == -1);
    CU_ASSERT (code && strcmp (code, TM_E_BAD_JSON) == 0);
    tm_request_clear (s_req);
    CU_ASSERT (tm_request_parse (exact, 0, s_req, &code, message, sizeof message) == -1);
    tm_request_clear (s_req);
    free (exact);
}

typedef struct {
    const char *text;
    const char *code;               //  Expected, or NULL for "any code"
    const char *alternative;        //  A second code that is also right, or NULL
} s_bad_t;

static const s_bad_t s_bad [] = {
    { "not json", TM_E_BAD_JSON, NULL },
    { "", TM_E_BAD_JSON, NULL },
    { "{", TM_E_BAD_JSON, NULL },
    { "{\"type\":\"PING\"", TM_E_BAD_JSON, NULL },
    { "{\"type\":\"PING\"} x", TM_E_BAD_JSON, NULL },
    { "{\"type\":\"PING\",}", TM_E_BAD_JSON, NULL },
    { "\xff\xfe", TM_E_BAD_JSON, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":\"A\\u0000B\"}", NULL, NULL },
    { "[1,2]", TM_E_NOT_AN_OBJECT, NULL },
    { "[]", TM_E_NOT_AN_OBJECT, NULL },
    { "42", TM_E_NOT_AN_OBJECT, NULL },
    { "\"PING\"", TM_E_NOT_AN_OBJECT, NULL },
    { "null", TM_E_NOT_AN_OBJECT, NULL },
    { "true", TM_E_NOT_AN_OBJECT, NULL },
    { "{}", TM_E_MISSING_TYPE, NULL },
    { "{\"symbol\":\"NIFTY-I\"}", TM_E_MISSING_TYPE, NULL },
    { "{\"type\":5}", TM_E_MISSING_TYPE, NULL },
    { "{\"type\":null}", TM_E_MISSING_TYPE, NULL },
    { "{\"type\":[\"PING\"]}", TM_E_MISSING_TYPE, NULL },
    { "{\"type\":\"FOO\"}", TM_E_UNKNOWN_TYPE, NULL },
    { "{\"type\":\"subscribe\",\"symbol\":\"X\"}", TM_E_UNKNOWN_TYPE, NULL },
    { "{\"type\":\"\"}", TM_E_UNKNOWN_TYPE, NULL },
    { "{\"type\":\"SUBSCRIBE\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"UNSUBSCRIBE\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"provider\":\"ALL\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":5}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":null}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":[\"NIFTY-I\"]}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":\"\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":\"01234567890123456789012345678901\"}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":\"0123456789012345678901234567890123456789\"}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbols\":\"NIFTY-I\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbols\":[1]}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbols\":[]}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbols\":[\"A\",\"\"]}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbols\":[\"A\",\"0123456789012345678901234567890123\"]}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":\"A\",\"symbols\":[\"B\"]}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":\"A\",\"channel\":\"STATUS\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"UNSUBSCRIBE\",\"symbols\":[\"A\"],\"symbol\":\"A\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":\"A\",\"provider\":5}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"symbol\":\"A\",\"provider\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZ\"}",
      TM_E_BAD_FIELD, TM_E_UNKNOWN_PROVIDER },
    { "{\"type\":\"SUBSCRIBE\",\"channel\":5}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"channel\":\"BOGUS\"}", TM_E_UNKNOWN_CHANNEL, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"NIFTY\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"NIFTY\",\"expiry\":\"2024-02-30\"}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"NIFTY\",\"expiry\":\"2024-1-25\"}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"NIFTY\",\"expiry\":\"24-01-2025\"}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"NIFTY\",\"expiry\":20240125}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"NIFTY\",\"expiry\":\"2024-01-25\","
      "\"strikes\":0}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"NIFTY\",\"expiry\":\"2024-01-25\","
      "\"strikes\":101}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"NIFTY\",\"expiry\":\"2024-01-25\","
      "\"strikes\":2.5}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":7,\"expiry\":\"2024-01-25\"}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"GET_OPTION_CHAIN\",\"symbols\":[\"NIFTY\"],\"expiry\":\"2024-01-25\"}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"SUBSCRIBE\",\"option_chain\":\"NIFTY\",\"expiry\":\"2024-01-25\"}",
      TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"UNSUBSCRIBE\",\"option_chain\":\"NIFTY\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"UNSUBSCRIBE\",\"option_chain\":\"NIFTY\",\"symbol\":\"NIFTY\","
      "\"expiry\":\"2024-01-25\"}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"UNSUBSCRIBE\",\"option_chain\":\"NIFTY\",\"expiry\":\"2024-01-25\","
      "\"strikes\":4}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"PING\",\"id\":{}}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"PING\",\"id\":[1]}", TM_E_BAD_FIELD, NULL },
    { "{\"type\":\"PING\",\"id\":true}", TM_E_BAD_FIELD, NULL },
    { NULL, NULL, NULL }
};

//  GET_OPTION_CHAIN and the UNSUBSCRIBE of a chain: root, expiry, strikes, stream
static void
test_option_chain (void)
{
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"NIFTY\","
                                 "\"expiry\":\"2024-01-25\",\"strikes\":20,\"id\":3}", __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_OPTION_CHAIN && s_req->option_chain);
    CU_ASSERT_STRING_EQUAL (s_req->symbols [0], "NIFTY");
    CU_ASSERT_STRING_EQUAL (s_req->expiry, "2024-01-25");
    CU_ASSERT_STRING_EQUAL (s_req->provider, "ALL");
    CU_ASSERT (s_req->strikes == 20 && json_integer_value (s_req->id) == 3);
    CU_ASSERT_STRING_EQUAL (tm_request_type_name (s_req->type), "GET_OPTION_CHAIN");
    tm_request_clear (s_req);
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"GET_OPTION_CHAIN\",\"symbol\":\"BANKNIFTY\","
                                 "\"expiry\":\"2024-02-29\",\"provider\":\"TRUEDATA\"}",
                                 __LINE__));
    CU_ASSERT (s_req->strikes == TM_CHAIN_STRIKES_DEFAULT);
    CU_ASSERT_STRING_EQUAL (s_req->provider, "TRUEDATA");
    tm_request_clear (s_req);
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"UNSUBSCRIBE\",\"option_chain\":\"NIFTY\","
                                 "\"expiry\":\"2024-01-25\",\"provider\":\"ZERODHA\"}", __LINE__));
    CU_ASSERT (s_req->type == TM_REQ_UNSUBSCRIBE && s_req->option_chain);
    CU_ASSERT_STRING_EQUAL (s_req->symbols [0], "NIFTY");
    CU_ASSERT_STRING_EQUAL (s_req->expiry, "2024-01-25");
    CU_ASSERT_STRING_EQUAL (s_req->provider, "ZERODHA");
    tm_request_clear (s_req);
    //  An ordinary UNSUBSCRIBE is not a chain's
    CU_ASSERT_FATAL (s_parse_ok ("{\"type\":\"UNSUBSCRIBE\",\"symbol\":\"NIFTY\"}", __LINE__));
    CU_ASSERT (!s_req->option_chain && s_req->expiry [0] == '\0');
    tm_request_clear (s_req);
}

//  Every bad input fails with its code and a message, and its ERROR reply can be formed.
static void
test_errors (void)
{
    char what [600];
    for (const s_bad_t *bad = s_bad; bad->text; bad++) {
        const char *code = NULL;
        char message [256] = "";
        int rc = tm_request_parse (bad->text, strlen (bad->text), s_req, &code, message,
                                   sizeof message);
        bool ok = rc == -1 && code && message [0]
               && (!bad->code || strcmp (code, bad->code) == 0
                   || (bad->alternative && strcmp (code, bad->alternative) == 0));
        if (!ok) {
            snprintf (what, sizeof what, "%s: rc %d code %s message '%s', want %s", bad->text,
                      rc, code ? code : "(none)", message, bad->code ? bad->code : "any code");
            s_fail_text (what, __LINE__);
        }
        //  The request is kept for the echo when it was an object
        if (rc == -1 && code && strcmp (code, TM_E_BAD_JSON) != 0
        &&  strcmp (code, TM_E_NOT_AN_OBJECT) != 0 && !json_is_object (s_req->root)) {
            snprintf (what, sizeof what, "%s: root not kept for the ERROR echo", bad->text);
            s_fail_text (what, __LINE__);
        }
        if (rc == -1 && code) {
            char *reply = tm_protocol_error (code, message, s_req->root, s_req->id, NULL);
            json_t *root = reply ? json_loads (reply, 0, NULL) : NULL;
            if (!root || strcmp (json_string_value (json_object_get (root, "code")), code) != 0) {
                snprintf (what, sizeof what, "%s: ERROR reply not formed: %s", bad->text,
                          reply ? reply : "NULL");
                s_fail_text (what, __LINE__);
            }
            json_decref (root);
            free (reply);
        }
        tm_request_clear (s_req);
    }
    //  README: BAD_JSON's message gives line and column
    const char *code;
    char message [256];
    const char *line2 = "{\n  \"type\": x}";
    CU_ASSERT (tm_request_parse (line2, strlen (line2), s_req, &code, message,
                                 sizeof message) == -1);
    CU_ASSERT (strstr (message, "line") != NULL && strstr (message, "column") != NULL);
    CU_ASSERT (strstr (message, "2") != NULL);
    tm_request_clear (s_req);

    //  More than TM_REQ_SYMBOLS_MAX symbols
    size_t size = 64 + (TM_REQ_SYMBOLS_MAX + 1) * 12;
    char *many = malloc (size);
    assert (many);
    strcpy (many, "{\"type\":\"SUBSCRIBE\",\"symbols\":[");
    for (int i = 0; i <= TM_REQ_SYMBOLS_MAX; i++) {
        size_t used = strlen (many);
        snprintf (many + used, size - used, "%s\"S%d\"", i ? "," : "", i);
    }
    strcat (many, "]}");
    CU_ASSERT (tm_request_parse (many, strlen (many), s_req, &code, message, sizeof message) == -1);
    CU_ASSERT (code && strcmp (code, TM_E_BAD_FIELD) == 0);
    tm_request_clear (s_req);
    free (many);

    //  The id is kept when a later field is wrong, so the ERROR carries it
    const char *foo = "{\"type\":\"FOO\",\"id\":9}";
    CU_ASSERT (tm_request_parse (foo, strlen (foo), s_req, &code, message,
                                 sizeof message) == -1);
    CU_ASSERT (json_integer_value (s_req->id) == 9);
    tm_request_clear (s_req);
    const char *later = "{\"id\":\"a\",\"type\":\"SUBSCRIBE\",\"symbol\":7}";
    CU_ASSERT (tm_request_parse (later, strlen (later), s_req,
                                 &code, message, sizeof message) == -1);
    CU_ASSERT_STRING_EQUAL (json_string_value (s_req->id), "a");
    tm_request_clear (s_req);

    //  A message buffer of one byte is not overrun
    char tiny [1] = { 'x' };
    CU_ASSERT (tm_request_parse ("{}", 2, s_req, &code, tiny, sizeof tiny) == -1);
    CU_ASSERT (tiny [0] == '\0');
    tm_request_clear (s_req);
}

//  Client text quoted into a message may be cut: the reply must still be valid UTF-8 JSON.
static void
test_errors_utf8 (void)
{
    //  40 two-byte characters (80 bytes), alone and after one ASCII byte, so that any cut
    //  (a %.64s, a short message buffer) lands inside a character in one of the two
    char accents [2][128] = { "", "x" };
    for (int i = 0; i < 40; i++) {
        strcat (accents [0], "\xc3\xa9");
        strcat (accents [1], "\xc3\xa9");
    }
    const char *forms [] = {
        "{\"type\":\"%s\"}",
        "{\"type\":\"SUBSCRIBE\",\"channel\":\"%s\"}",
        "{\"type\":\"SUBSCRIBE\",\"symbol\":\"A\",\"provider\":\"%s\"}",
        "{\"type\":\"SUBSCRIBE\",\"symbol\":\"%s\"}",
        "\"%s",
        "{\"type\":\"%s",
    };
    char text [256];
    for (size_t f = 0; f < sizeof forms / sizeof forms [0]; f++)
        for (int v = 0; v < 2; v++) {
            snprintf (text, sizeof text, forms [f], accents [v]);
            bool failed = false;
            static const size_t sizes [] = { 128, 256 };     //  What a caller would pass
            for (size_t m = 0; m < 2 && !failed; m++) {
                size_t message_size = sizes [m];
                const char *code = NULL;
                char message [256];
                if (tm_request_parse (text, strlen (text), s_req, &code, message,
                                      message_size) != -1) {
                    tm_request_clear (s_req);
                    break;
                }
                char *reply = tm_protocol_error (code, message, s_req->root, s_req->id, NULL);
                json_t *root = reply ? json_loads (reply, 0, NULL) : NULL;
                if (!root) {
                    char what [400];
                    snprintf (what, sizeof what, "no ERROR reply for %s (%s) with a message "
                              "buffer of %zu: %s", text, code, message_size,
                              reply ? reply : "NULL");
                    s_fail_text (what, __LINE__);
                    failed = true;
                }
                json_decref (root);
                free (reply);
                tm_request_clear (s_req);
            }
        }
}

static void
test_protocol_error (void)
{
    json_error_t error;
    json_t *request = json_loads ("{\"type\":\"SUBSCRIBE\",\"symbol\":\"NIFTY-X\",\"id\":5}", 0,
                                  &error);
    json_t *id = json_integer (5);
    CU_ASSERT_FATAL (request && id);
    char *text = tm_protocol_error (TM_E_UNKNOWN_SYMBOL, "unknown symbol 'NIFTY-X'", request, id,
                                    "NIFTY-X");
    CU_ASSERT_PTR_NOT_NULL_FATAL (text);
    json_t *root = json_loads (text, 0, &error);
    CU_ASSERT_FATAL (json_is_object (root));
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "type")), "ERROR");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "code")), "UNKNOWN_SYMBOL");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "message")),
                            "unknown symbol 'NIFTY-X'");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "symbol")), "NIFTY-X");
    CU_ASSERT (json_equal (json_object_get (root, "request"), request));
    CU_ASSERT (json_integer_value (json_object_get (root, "id")) == 5);
    json_decref (root);
    free (text);

    //  Without request, id and symbol those keys are absent
    text = tm_protocol_error (TM_E_BAD_JSON, "not valid JSON at line 1 column 2", NULL, NULL,
                              NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (text);
    root = json_loads (text, 0, &error);
    CU_ASSERT_FATAL (json_is_object (root));
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "code")), "BAD_JSON");
    CU_ASSERT (json_object_get (root, "request") == NULL);
    CU_ASSERT (json_object_get (root, "id") == NULL);
    CU_ASSERT (json_object_get (root, "symbol") == NULL);
    json_decref (root);
    free (text);

    //  Quotes, backslashes and newlines in the message are escaped; a string id stays a string
    json_t *string_id = json_string ("abc\"");
    text = tm_protocol_error (TM_E_BAD_FIELD, "'symbol' \"x\\y\"\n", NULL, string_id, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (text);
    root = json_loads (text, 0, &error);
    CU_ASSERT_FATAL (json_is_object (root));
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "message")),
                            "'symbol' \"x\\y\"\n");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (root, "id")), "abc\"");
    CU_ASSERT (strchr (text, '\n') == NULL);        //  One line, one frame
    json_decref (root);
    free (text);

    //  A request that is not an object is not echoed (README: "when it was a JSON object")
    json_t *array = json_loads ("[1,2]", 0, &error);
    text = tm_protocol_error (TM_E_NOT_AN_OBJECT, "a request must be a JSON object", array,
                              NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (text);
    root = json_loads (text, 0, &error);
    CU_ASSERT (json_object_get (root, "request") == NULL);
    json_decref (root);
    free (text);

    //  The caller's references are borrowed, not taken
    CU_ASSERT (request->refcount == 1 && id->refcount == 1 && string_id->refcount == 1);
    json_decref (array);
    json_decref (string_id);
    json_decref (request);
    json_decref (id);
}

static void
test_clear (void)
{
    //  Safe on a zeroed request, twice
    tm_request_t *req = calloc (1, sizeof *req);
    assert (req);
    tm_request_clear (req);
    tm_request_clear (req);
    //  After a parse that kept root and id, twice
    const char *code;
    char message [256];
    CU_ASSERT (tm_request_parse ("{\"type\":\"PING\",\"id\":\"x\"}", 24, req, &code, message,
                                 sizeof message) == 0);
    CU_ASSERT (req->root && req->id);
    tm_request_clear (req);
    CU_ASSERT (req->root == NULL && req->id == NULL);
    tm_request_clear (req);
    //  After a failed parse
    CU_ASSERT (tm_request_parse ("{\"type\":\"FOO\",\"id\":1}", 21, req, &code, message,
                                 sizeof message) == -1);
    tm_request_clear (req);
    tm_request_clear (req);
    //  parse fills the request itself: garbage left in it is not freed or read
    memset (req, 0xaa, sizeof *req);
    CU_ASSERT (tm_request_parse ("{\"type\":\"SUBSCRIBE\",\"symbol\":\"X\"}", 33, req, &code,
                                 message, sizeof message) == 0);
    CU_ASSERT (req->symbols_count == 1 && req->id == NULL);
    CU_ASSERT_STRING_EQUAL (req->channel, "");
    tm_request_clear (req);
    memset (req, 0xaa, sizeof *req);
    CU_ASSERT (tm_request_parse ("nope", 4, req, &code, message, sizeof message) == -1);
    tm_request_clear (req);
    free (req);
}

int
tm_protocol_tests (void)
{
    CU_pSuite suite = CU_add_suite ("protocol", s_suite_init, s_suite_cleanup);
    if (!suite
    ||  !CU_add_test (suite, "SUBSCRIBE symbol, symbols, channel", test_subscribe)
    ||  !CU_add_test (suite, "UNSUBSCRIBE and PING", test_unsubscribe_ping)
    ||  !CU_add_test (suite, "ids may be numbers", test_number_ids)
    ||  !CU_add_test (suite, "GET_OPTION_CHAIN and its UNSUBSCRIBE", test_option_chain)
    ||  !CU_add_test (suite, "limits that pass", test_limits)
    ||  !CU_add_test (suite, "only len bytes are read", test_length)
    ||  !CU_add_test (suite, "every error code for its input", test_errors)
    ||  !CU_add_test (suite, "ERROR replies for cut UTF-8", test_errors_utf8)
    ||  !CU_add_test (suite, "tm_protocol_error output", test_protocol_error)
    ||  !CU_add_test (suite, "tm_request_clear safe twice", test_clear))
        return -1;
    return 0;
}
