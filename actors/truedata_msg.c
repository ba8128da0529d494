//  truedata_msg - TrueData's real-time JSON messages and requests (see truedata_msg.h)
//
//  Decodes the text messages of TrueData's JSON feed (truedata.md section 3 and its errata) into
//  tm_td_msg_t and snapshot rows, turns them into ticks, and writes the addsymbol and
//  removesymbol requests (section 2). It owns no state, no socket and no thread: actors/truedata
//  feeds it one WebSocket text message at a time, keeps the id -> symbol map and each symbol's
//  last tick. It does not read the binary "compressed" mode (section 8) and never trusts a
//  length, count or value it has not checked.

#include "tickmux.h"
#include "truedata_msg.h"

#define S_WELCOME       "TrueData Real Time Data Service"   //  Compared whole, as clients do
#define S_ROW_MIN       17          //  The 2020-era row without previous-day OI (3.2)
#define S_ROW_MAX       18          //  The current row
#define S_TRADE_SHORT   15          //  trade without bid/ask (3.5)
#define S_TRADE_LONG    19          //  trade with bid/ask
#define S_BIDASK_SIZE   6           //  bidask (3.6)
#define S_L2_SIZE       35          //  bidaskL2, Node layout (3.6)
#define S_L2_LEVEL      6           //  Elements per L2 level: bid price, qty, orders, ask ...
#define S_BAR_SIZE      8           //  bar1min / bar5min (3.8)
#define S_GREEKS_SIZE   8           //  greeks (3.9)
#define S_YEAR_MAX      2261        //  Later years overflow int64 nanoseconds (April 2262)
#define S_TIME_MAX      40          //  Longer text is no timestamp of ours
#define S_REQUEST_MAX   65000       //  Node splits requests under 65 000 characters (2)
//  Integers that come as JSON reals or decimal text must stay exact in a double
#define S_EXACT_MAX     9007199254740992.0

//  Copy len bytes of text into a buffer of size bytes, cutting at a UTF-8 character boundary
//  so a long server text never ends in half a character when it reaches a JSON status message.
static void
s_copy_text (char *to, size_t size, const char *from, size_t len)
{
    if (len >= size) {
        len = size - 1;
        while (len > 0 && ((unsigned char) from [len] & 0xc0) == 0x80)
            len--;
    }
    memcpy (to, from, len);
    to [len] = '\0';
}

//  True if text is a plain decimal number: [-]digits[.digits][e[+-]digits], or with the
//  integer part missing (".5"). strtod alone would also take "nan", "inf", hex floats and
//  leading spaces, none of which TrueData sends; Python prints tiny greeks as "1e-05".
static bool
s_is_decimal (const char *text)
{
    const char *p = text;
    if (*p == '-')
        p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

//  A value element: a JSON string holding a decimal, a JSON number, or "" for 0 / absent
//  (truedata.md 3, value encoding). Anything else, or a value that is not finite, fails.
static int
s_double (const json_t *value, double *result)
{
    if (json_is_integer (value)) {
        *result = (double) json_integer_value (value);
        return 0;
    }
    if (json_is_real (value)) {
        *result = json_real_value (value);
        return isfinite (*result) ? 0 : -1;
    }
    const char *text = json_string_value (value);
    if (!text)
        return -1;
    if (*text == '\0') {
        *result = 0;
        return 0;
    }
    if (!s_is_decimal (text))
        return -1;
    char *end;
    *result = strtod (text, &end);
    //  "1e999" overflows to inf: not a price
    return isfinite (*result) ? 0 : -1;
}

//  A count element (quantity, volume, OI, sequence): as s_double, but a whole number that is
//  not negative. Digit strings are read exactly; "150.0" or 150.0 pass if exact in a double.
static int
s_count (const json_t *value, int64_t *result)
{
    const char *text = json_string_value (value);
    if (text && *text && strspn (text, "0123456789") == strlen (text)) {
        errno = 0;
        long long number = strtoll (text, NULL, 10);
        if (errno)
            return -1;
        *result = number;
        return 0;
    }
    if (json_is_integer (value)) {
        if (json_integer_value (value) < 0)
            return -1;
        *result = json_integer_value (value);
        return 0;
    }
    double number;
    if (s_double (value, &number) || number < 0 || number > S_EXACT_MAX
    ||  number != floor (number))
        return -1;
    *result = (int64_t) number;
    return 0;
}

//  Symbol id text: digits only, not empty
static int
s_id_text (const char *text, uint64_t *result)
{
    if (!text || !*text || strspn (text, "0123456789") != strlen (text))
        return -1;
    errno = 0;
    unsigned long long number = strtoull (text, NULL, 10);
    if (errno)
        return -1;
    *result = number;
    return 0;
}

//  A symbol id element: digits or a JSON integer. Whether it is 0 is the caller's business,
//  because only snapshot rows use 0 to mean "Invalid" (errata).
static int
s_id (const json_t *value, uint64_t *result)
{
    if (json_is_integer (value)) {
        if (json_integer_value (value) < 0)
            return -1;
        *result = (uint64_t) json_integer_value (value);
        return 0;
    }
    return s_id_text (json_string_value (value), result);
}

//  A timestamp element: "" is absent (0), any other text must parse (tm_td_parse_time).
static int
s_time (const json_t *value, int64_t *ns)
{
    const char *text = json_string_value (value);
    if (!text)
        return -1;
    if (*text == '\0') {
        *ns = 0;
        return 0;
    }
    return tm_td_parse_time (text, ns);
}

//  True if n characters at p are all digits
static bool
s_digits (const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p [i] < '0' || p [i] > '9')
            return false;
    return true;
}

//  Read 1 or 2 digits at *p into *value, advancing *p.
static bool
s_small (const char **p, int *value)
{
    if (!s_digits (*p, 1))
        return false;
    *value = **p - '0';
    (*p)++;
    if (s_digits (*p, 1)) {
        *value = *value * 10 + **p - '0';
        (*p)++;
    }
    return true;
}

//  The legacy "M/D/YYYY h:mm:ss AM|PM" of old bidask samples (truedata.md 3), rewritten as
//  ISO text for the calendar check. Returns 0 or -1.
static int
s_legacy_to_iso (const char *text, char *iso, size_t size)
{
    const char *p = text;
    int mon, day, hour;
    if (!s_small (&p, &mon) || *p++ != '/' || !s_small (&p, &day) || *p++ != '/'
    ||  !s_digits (p, 4) || p [4] != ' ')
        return -1;
    const char *year = p;
    p += 5;
    if (!s_small (&p, &hour) || *p != ':' || !s_digits (p + 1, 2) || p [3] != ':'
    ||  !s_digits (p + 4, 2) || p [6] != ' ')
        return -1;
    const char *minsec = p + 1;             //  "mm:ss"
    const char *half = p + 7;
    if (hour < 1 || hour > 12 || (strcmp (half, "AM") && strcmp (half, "PM")))
        return -1;
    //  12 AM is midnight and 12 PM noon
    hour = hour % 12 + (half [0] == 'P' ? 12 : 0);
    snprintf (iso, size, "%.4s-%02d-%02dT%02d:%.5s", year, mon, day, hour, minsec);
    return 0;
}

int
tm_td_parse_time (const char *text, int64_t *ns)
{
    assert (ns);
    if (!text || strnlen (text, S_TIME_MAX) >= S_TIME_MAX)
        return -1;
    //  tm_clock_parse does the calendar (Feb 30, leap years, 25:00); we check the shape
    //  first, because its sscanf would also take signs and spaces inside the fields
    char iso [32];
    int64_t fraction = 0;
    size_t len = strlen (text);
    if (len >= 19 && s_digits (text, 4) && text [4] == '-' && s_digits (text + 5, 2)
    &&  text [7] == '-' && s_digits (text + 8, 2) && (text [10] == 'T' || text [10] == ' ')
    &&  s_digits (text + 11, 2) && text [13] == ':' && s_digits (text + 14, 2)
    &&  text [16] == ':' && s_digits (text + 17, 2)) {
        if (len > 19) {
            //  0 to 9 fraction digits: Python sends 6 (%f), the legacy client padded to 6,
            //  truedata.md 3.7 asks for 0 to 7, and 9 is all a nanosecond can hold
            size_t digits = len - 20;
            if (text [19] != '.' || digits < 1 || digits > 9 || !s_digits (text + 20, digits))
                return -1;
            for (size_t i = 0; i < 9; i++)
                fraction = fraction * 10 + (i < digits ? text [20 + i] - '0' : 0);
        }
        snprintf (iso, sizeof iso, "%.10sT%.8s", text, text + 11);
    }
    else
    if (s_legacy_to_iso (text, iso, sizeof iso))
        return -1;
    if (atoi (iso) > S_YEAR_MAX)
        return -1;
    //  IST wall clock, no zone on the wire: India has kept +05:30 all year since 1945
    strcat (iso, "+05:30");
    int64_t whole;
    if (tm_clock_parse (iso, &whole))
        return -1;
    *ns = whole + fraction;
    return 0;
}

//  Decode one 17- or 18-element snapshot row. A row the server refused is kept with invalid
//  set, so the caller can report the symbol; only a malformed valid row fails the message.
static int
s_decode_row (const json_t *array, tm_td_row_t *row)
{
    memset (row, 0, sizeof *row);
    size_t size = json_array_size (array);
    if (size != S_ROW_MIN && size != S_ROW_MAX)
        return -1;
    const char *symbol = json_string_value (json_array_get (array, 0));
    if (!symbol)
        return -1;
    s_copy_text (row->symbol, sizeof row->symbol, symbol, strlen (symbol));
    const char *ts = json_string_value (json_array_get (array, 2));
    //  The errata's Invalid row has id "0", the year 1 and "Invalid" in its symbol; the
    //  simulator's has an empty id (3.2). Any one sign is enough, and so is an id that is not
    //  a number (3.2) or a symbol we could not hold: none of them can be subscribed.
    if (s_id (json_array_get (array, 1), &row->id) || row->id == 0
    ||  strstr (symbol, "Invalid") || strlen (symbol) >= TM_SYMBOL_MAX
    ||  (ts && strncmp (ts, "0001-01-01", 10) == 0)) {
        row->id = 0;
        row->invalid = true;
        return 0;
    }
    //  The 17-element row has no previous-day OI, so turnover moves up to 12 (3.2)
    bool has_prev_oi = size == S_ROW_MAX;
    size_t at = has_prev_oi ? 14 : 13;
    if (s_time (json_array_get (array, 2), &row->ts)
    ||  s_double (json_array_get (array, 3), &row->ltp)
    ||  s_count (json_array_get (array, 4), &row->ltq)
    ||  s_double (json_array_get (array, 5), &row->atp)
    ||  s_count (json_array_get (array, 6), &row->ttq)
    ||  s_double (json_array_get (array, 7), &row->open)
    ||  s_double (json_array_get (array, 8), &row->high)
    ||  s_double (json_array_get (array, 9), &row->low)
    ||  s_double (json_array_get (array, 10), &row->prev_close)
    ||  s_count (json_array_get (array, 11), &row->oi)
    ||  (has_prev_oi && s_count (json_array_get (array, 12), &row->prev_oi))
    ||  s_double (json_array_get (array, at - 1), &row->turnover)
    ||  s_double (json_array_get (array, at), &row->bid)
    ||  s_count (json_array_get (array, at + 1), &row->bid_qty)
    ||  s_double (json_array_get (array, at + 2), &row->ask)
    ||  s_count (json_array_get (array, at + 3), &row->ask_qty))
        return -1;
    return 0;
}

//  "symbols added" and "touchline": symbollist of rows; null rows are skipped (errata: a
//  symbol added twice).
static int
s_decode_rows (const json_t *root, tm_td_msg_t *msg, tm_td_row_t *rows, size_t rows_max)
{
    const json_t *list = json_object_get (root, "symbollist");
    //  An empty reply (every symbol over maxsymbols, say) may come without a list
    if (!list || json_is_null (list))
        return 0;
    if (!json_is_array (list))
        return -1;
    size_t index;
    const json_t *entry;
    json_array_foreach (list, index, entry) {
        if (json_is_null (entry))
            continue;
        if (!json_is_array (entry) || msg->rows_count == rows_max
        ||  s_decode_row (entry, &rows [msg->rows_count]))
            return -1;
        msg->rows_count++;
    }
    return 0;
}

//  "symbols removed": "SYMBOL:ID" strings, split on the last colon because symbol names may
//  hold spaces (3.3). A row whose id we cannot read is kept as invalid, as in s_decode_row.
static int
s_decode_removed (const json_t *root, tm_td_msg_t *msg, tm_td_row_t *rows, size_t rows_max)
{
    const json_t *list = json_object_get (root, "symbollist");
    if (!list || json_is_null (list))
        return 0;
    if (!json_is_array (list))
        return -1;
    size_t index;
    const json_t *entry;
    json_array_foreach (list, index, entry) {
        if (json_is_null (entry))
            continue;
        const char *text = json_string_value (entry);
        if (!text || msg->rows_count == rows_max)
            return -1;
        tm_td_row_t *row = &rows [msg->rows_count++];
        memset (row, 0, sizeof *row);
        const char *colon = strrchr (text, ':');
        size_t symbol_len = colon ? (size_t) (colon - text) : strlen (text);
        s_copy_text (row->symbol, sizeof row->symbol, text, symbol_len);
        if (!colon || s_id_text (colon + 1, &row->id) || row->id == 0
        ||  symbol_len >= TM_SYMBOL_MAX) {
            row->id = 0;
            row->invalid = true;
        }
    }
    return 0;
}

//  An optional integer key of a control message: absent or null is 0
static int
s_key_count (const json_t *root, const char *key, int64_t *result)
{
    const json_t *value = json_object_get (root, key);
    *result = 0;
    if (!value || json_is_null (value))
        return 0;
    return s_count (value, result);
}

//  Control messages: "message" names the kind (3.1 to 3.4, 3.7)
static int
s_decode_control (const json_t *root, tm_td_msg_t *msg, tm_td_row_t *rows, size_t rows_max)
{
    const char *message = json_string_value (json_object_get (root, "message"));
    if (!message)
        return -1;
    const json_t *success = json_object_get (root, "success");
    if (success && !json_is_boolean (success))
        return -1;
    s_copy_text (msg->reason, sizeof msg->reason, message, strlen (message));
    //  The refusal of 3.1 ("User Already Connected") has its own text but the welcome's keys,
    //  so those keys make a success:false message a welcome too; a login needs the exact
    //  text, as the libraries compare it
    bool welcome_keys = json_object_get (root, "maxsymbols")
                     || json_object_get (root, "subscription")
                     || json_object_get (root, "validity");
    if (streq (message, S_WELCOME) || (json_is_false (success) && welcome_keys)) {
        msg->kind = TM_TD_WELCOME;
        //  A welcome without a verdict is not a login
        msg->success = json_is_true (success);
        //  A refusal's other keys are null or junk ("0001-01-01"); only a login reads them
        if (msg->success && (s_key_count (root, "maxsymbols", &msg->max_symbols)))
            return -1;
        return 0;
    }
    //  The errata: no source pins the failure texts, so any success:false is a refusal to
    //  show, whatever its message (a "symbols added" that failed carries no rows to trust)
    if (json_is_false (success)) {
        msg->kind = TM_TD_REFUSED;
        return 0;
    }
    if (streq (message, "symbols added") || streq (message, "touchline")) {
        msg->kind = streq (message, "touchline") ? TM_TD_TOUCHLINE : TM_TD_ADDED;
        msg->reason [0] = '\0';
        if (s_decode_rows (root, msg, rows, rows_max)
        ||  s_key_count (root, "totalsymbolsubscribed", &msg->total_subscribed))
            return -1;
        return 0;
    }
    if (streq (message, "symbols removed")) {
        msg->kind = TM_TD_REMOVED;
        msg->reason [0] = '\0';
        if (s_decode_removed (root, msg, rows, rows_max)
        ||  s_key_count (root, "totalsymbolsubscribed", &msg->total_subscribed))
            return -1;
        return 0;
    }
    if (streq (message, "HeartBeat")) {
        msg->kind = TM_TD_HEARTBEAT;
        msg->reason [0] = '\0';
        const char *ts = json_string_value (json_object_get (root, "timestamp"));
        return ts && tm_td_parse_time (ts, &msg->ts) == 0 ? 0 : -1;
    }
    if (streq (message, "marketstatus")) {
        msg->kind = TM_TD_MARKETSTATUS;
        //  Free text of undocumented wording (3.7 [unc]): forwarded verbatim, never parsed
        const char *data = json_string_value (json_object_get (root, "data"));
        if (!data)
            return -1;
        s_copy_text (msg->reason, sizeof msg->reason, data, strlen (data));
        return 0;
    }
    //  A newer control message: the caller counts it, reason names it
    msg->kind = TM_TD_UNKNOWN;
    return 0;
}

//  The id and timestamp every data array starts with. The id is the key of the symbol, so an
//  empty or zero one fails the message.
static int
s_decode_head (const json_t *array, tm_td_msg_t *msg)
{
    if (s_id (json_array_get (array, 0), &msg->id) || msg->id == 0
    ||  s_time (json_array_get (array, 1), &msg->ts))
        return -1;
    return 0;
}

static int
s_decode_trade (const json_t *array, tm_td_msg_t *msg)
{
    size_t size = json_array_size (array);
    if (size != S_TRADE_SHORT && size != S_TRADE_LONG)
        return -1;
    msg->kind = TM_TD_TRADE;
    if (s_decode_head (array, msg)
    ||  s_double (json_array_get (array, 2), &msg->ltp)
    ||  s_count (json_array_get (array, 3), &msg->ltq)
    ||  s_double (json_array_get (array, 4), &msg->atp)
    ||  s_count (json_array_get (array, 5), &msg->ttq)
    ||  s_double (json_array_get (array, 6), &msg->open)
    ||  s_double (json_array_get (array, 7), &msg->high)
    ||  s_double (json_array_get (array, 8), &msg->low)
    ||  s_double (json_array_get (array, 9), &msg->prev_close)
    ||  s_count (json_array_get (array, 10), &msg->oi)
    ||  s_count (json_array_get (array, 11), &msg->prev_oi)
    ||  s_double (json_array_get (array, 12), &msg->turnover)
    ||  s_count (json_array_get (array, 14), &msg->seq))
        return -1;
    //  The tag only says which day extreme this trade set (3.5): a tag we do not know must
    //  not cost the trade, so it reads as none
    const char *tag = json_string_value (json_array_get (array, 13));
    if (tag && (streq (tag, "O") || streq (tag, "H") || streq (tag, "L")))
        msg->tag = tag [0];
    if (size == S_TRADE_LONG) {
        msg->has_book = true;
        if (s_double (json_array_get (array, 15), &msg->bid)
        ||  s_count (json_array_get (array, 16), &msg->bid_qty)
        ||  s_double (json_array_get (array, 17), &msg->ask)
        ||  s_count (json_array_get (array, 18), &msg->ask_qty))
            return -1;
    }
    return 0;
}

static int
s_decode_bidask (const json_t *array, tm_td_msg_t *msg)
{
    if (json_array_size (array) != S_BIDASK_SIZE)
        return -1;
    msg->kind = TM_TD_BIDASK;
    msg->has_book = true;
    if (s_decode_head (array, msg)
    ||  s_double (json_array_get (array, 2), &msg->bid)
    ||  s_count (json_array_get (array, 3), &msg->bid_qty)
    ||  s_double (json_array_get (array, 4), &msg->ask)
    ||  s_count (json_array_get (array, 5), &msg->ask_qty))
        return -1;
    return 0;
}

//  Order counts go into an int32_t field
static int
s_orders (const json_t *value, int32_t *orders)
{
    int64_t count;
    if (s_count (value, &count) || count > INT32_MAX)
        return -1;
    *orders = (int32_t) count;
    return 0;
}

//  bidaskL2 in the Node library's layout, interleaved per level, which also matches the
//  binary "D" message; Python reads bids then asks. truedata.md 3.6 marks this [unc] and
//  recommends the Node layout, which we follow.
static int
s_decode_l2 (const json_t *array, tm_td_msg_t *msg)
{
    if (json_array_size (array) != S_L2_SIZE)
        return -1;
    msg->kind = TM_TD_BIDASK_L2;
    msg->has_book = true;
    if (s_decode_head (array, msg) || s_count (json_array_get (array, 2), &msg->seq))
        return -1;
    for (size_t k = 0; k < TM_DEPTH_MAX; k++) {
        size_t at = 3 + S_L2_LEVEL * k;
        if (s_double (json_array_get (array, at), &msg->bids [k].price)
        ||  s_count (json_array_get (array, at + 1), &msg->bids [k].quantity)
        ||  s_orders (json_array_get (array, at + 2), &msg->bids [k].orders)
        ||  s_double (json_array_get (array, at + 3), &msg->asks [k].price)
        ||  s_count (json_array_get (array, at + 4), &msg->asks [k].quantity)
        ||  s_orders (json_array_get (array, at + 5), &msg->asks [k].orders))
            return -1;
    }
    //  The totals have no place in a tick, but a total that is no count means the array is
    //  not what we think it is
    int64_t total;
    if (s_count (json_array_get (array, 33), &total)
    ||  s_count (json_array_get (array, 34), &total))
        return -1;
    msg->bid = msg->bids [0].price;
    msg->bid_qty = msg->bids [0].quantity;
    msg->ask = msg->asks [0].price;
    msg->ask_qty = msg->asks [0].quantity;
    return 0;
}

static int
s_decode_bar (const json_t *array, tm_td_msg_t *msg, int minutes)
{
    if (json_array_size (array) != S_BAR_SIZE)
        return -1;
    msg->kind = TM_TD_BAR;
    msg->bar_minutes = minutes;
    if (s_decode_head (array, msg)
    ||  s_double (json_array_get (array, 2), &msg->open)
    ||  s_double (json_array_get (array, 3), &msg->high)
    ||  s_double (json_array_get (array, 4), &msg->low)
    ||  s_double (json_array_get (array, 5), &msg->close)
    ||  s_count (json_array_get (array, 6), &msg->volume)
    ||  s_count (json_array_get (array, 7), &msg->oi))
        return -1;
    return 0;
}

//  Order of the JSON greeks: Python's greek_feed and Node's handleGreeksData (3.9). The
//  binary "G" message swaps gamma and theta; that is binary mode only.
static int
s_decode_greeks (const json_t *array, tm_td_msg_t *msg)
{
    if (json_array_size (array) != S_GREEKS_SIZE)
        return -1;
    msg->kind = TM_TD_GREEKS;
    if (s_decode_head (array, msg)
    ||  s_double (json_array_get (array, 2), &msg->iv)
    ||  s_double (json_array_get (array, 3), &msg->delta)
    ||  s_double (json_array_get (array, 4), &msg->theta)
    ||  s_double (json_array_get (array, 5), &msg->gamma)
    ||  s_double (json_array_get (array, 6), &msg->vega)
    ||  s_double (json_array_get (array, 7), &msg->rho))
        return -1;
    return 0;
}

//  Data messages: one key naming the kind, its value a flat array (3.5 to 3.9)
static int
s_decode_data (const json_t *root, tm_td_msg_t *msg)
{
    //  Two keys ({"interval","data"} of the full-market feed, 3.8) or a key we do not know is
    //  a kind we do not read: count and ignore, never malformed
    msg->kind = TM_TD_UNKNOWN;
    if (json_object_size (root) != 1)
        return 0;
    const char *key = json_object_iter_key (json_object_iter ((json_t *) root));
    const json_t *array = json_object_iter_value (json_object_iter ((json_t *) root));
    //  Exact names, so "bidaskL2" is never taken for "bidask" (3)
    bool known = streq (key, "trade") || streq (key, "bidask") || streq (key, "bidaskL2")
              || streq (key, "bar1min") || streq (key, "bar5min") || streq (key, "greeks");
    if (!known)
        return 0;
    if (!json_is_array (array))
        return -1;
    if (streq (key, "trade"))
        return s_decode_trade (array, msg);
    if (streq (key, "bidask"))
        return s_decode_bidask (array, msg);
    if (streq (key, "bidaskL2"))
        return s_decode_l2 (array, msg);
    if (streq (key, "greeks"))
        return s_decode_greeks (array, msg);
    return s_decode_bar (array, msg, streq (key, "bar1min") ? 1 : 5);
}

int
tm_td_decode (const char *text, size_t len, tm_td_msg_t *msg, tm_td_row_t *rows,
              size_t rows_max)
{
    assert (msg);
    assert (rows || rows_max == 0);
    memset (msg, 0, sizeof *msg);
    //  The size bound comes before jansson sees a byte, so a huge frame costs nothing
    if (!text || len == 0 || len > TM_TD_TEXT_MAX)
        return TM_MALFORMED;
    //  No JSON_REJECT_DUPLICATES: the official clients keep the last of duplicate keys, as
    //  jansson does. NUL inside strings is refused (jansson's default), so every string we
    //  read is a whole C string.
    json_error_t error;
    json_t *root = json_loadb (text, len, 0, &error);
    if (!root)
        return TM_MALFORMED;
    int rc = -1;
    if (json_is_object (root) && json_object_size (root) > 0) {
        //  The libraries' dispatch: a "message" key makes it control, else the data key (3)
        if (json_object_get (root, "message"))
            rc = s_decode_control (root, msg, rows, rows_max);
        else
            rc = s_decode_data (root, msg);
    }
    json_decref (root);
    if (rc) {
        //  Nothing half-decoded leaks out: a malformed message has no kind and no rows
        memset (msg, 0, sizeof *msg);
        return TM_MALFORMED;
    }
    return 0;
}

//  Clear the market fields of a tick; the caller's fields (stream, provider, symbol, token,
//  seq and the pipeline's timestamps) are left as they are.
static void
s_clear_market (tm_tick_t *tick)
{
    tick->fields = 0;
    tick->last_price = 0;
    tick->last_quantity = tick->volume = 0;
    tick->open = tick->high = tick->low = tick->close = 0;
    tick->oi = 0;
    tick->bid_price = tick->ask_price = 0;
    tick->bid_quantity = tick->ask_quantity = 0;
    tick->bid_levels = tick->ask_levels = 0;
    memset (tick->bids, 0, sizeof tick->bids);
    memset (tick->asks, 0, sizeof tick->asks);
}

//  Set the best bid and ask from a level-1 update (a 19-element trade, a bidask). Depth from an
//  earlier bidaskL2 whose best level no longer matches is dropped: a stale book behind a new
//  best price would show clients levels that may cross it.
static void
s_set_best (tm_tick_t *tick, double bid, int64_t bid_qty, double ask, int64_t ask_qty)
{
    if ((tick->fields & TM_TICK_DEPTH)
    &&  (tick->bid_levels == 0 || tick->bids [0].price != bid
         || tick->bids [0].quantity != bid_qty
         || tick->ask_levels == 0 || tick->asks [0].price != ask
         || tick->asks [0].quantity != ask_qty)) {
        tick->fields &= ~(uint32_t) TM_TICK_DEPTH;
        tick->bid_levels = tick->ask_levels = 0;
        memset (tick->bids, 0, sizeof tick->bids);
        memset (tick->asks, 0, sizeof tick->asks);
    }
    tick->fields |= TM_TICK_BOOK;
    tick->bid_price = bid;
    tick->bid_quantity = bid_qty;
    tick->ask_price = ask;
    tick->ask_quantity = ask_qty;
}

void
tm_td_row_to_tick (const tm_td_row_t *row, tm_tick_t *tick)
{
    assert (row);
    assert (tick);
    //  A snapshot replaces the whole state (3.4), so nothing of the previous tick survives
    s_clear_market (tick);
    snprintf (tick->symbol, sizeof tick->symbol, "%s", row->symbol);
    snprintf (tick->token, sizeof tick->token, "%" PRIu64, row->id);
    tick->fields = TM_TICK_QUOTE;
    tick->last_price = row->ltp;
    tick->last_quantity = row->ltq;
    tick->volume = row->ttq;
    tick->open = row->open;
    tick->high = row->high;
    tick->low = row->low;
    tick->close = row->prev_close;
    //  Indices carry zeros for the book and OI (3.2): zeros there mean "none", not an empty
    //  book, so an index tick has QUOTE only
    if (row->bid != 0 || row->ask != 0 || row->bid_qty != 0 || row->ask_qty != 0)
        s_set_best (tick, row->bid, row->bid_qty, row->ask, row->ask_qty);
    if (row->oi != 0) {
        tick->fields |= TM_TICK_OI;
        tick->oi = row->oi;
    }
    tick->exchange_ts = row->ts;
}

int
tm_td_apply (const tm_td_msg_t *msg, tm_tick_t *tick)
{
    assert (msg);
    assert (tick);
    switch (msg->kind) {
        case TM_TD_TRADE:
            tick->fields |= TM_TICK_QUOTE;
            tick->last_price = msg->ltp;
            tick->last_quantity = msg->ltq;
            tick->volume = msg->ttq;
            tick->open = msg->open;
            tick->high = msg->high;
            tick->low = msg->low;
            tick->close = msg->prev_close;
            //  Each trade carries the day's OI; an index's 0 means it has none
            tick->oi = msg->oi;
            if (msg->oi != 0)
                tick->fields |= TM_TICK_OI;
            else
                tick->fields &= ~(uint32_t) TM_TICK_OI;
            //  An index trade's book is all zeros (3.5): no book, as in the snapshot. A
            //  tradable's 15-element trade has none either, and leaves the last one standing.
            if (msg->has_book
            &&  (msg->bid != 0 || msg->ask != 0 || msg->bid_qty != 0 || msg->ask_qty != 0))
                s_set_best (tick, msg->bid, msg->bid_qty, msg->ask, msg->ask_qty);
            //  TrueData's sequence is per symbol (3.5), which is what src_seq is for
            tick->src_seq = (uint64_t) msg->seq;
            break;
        case TM_TD_BIDASK:
            //  A bidask is a book message, so a zero side here is an empty side
            s_set_best (tick, msg->bid, msg->bid_qty, msg->ask, msg->ask_qty);
            break;
        case TM_TD_BIDASK_L2: {
            //  Levels from the best down to the first empty one, as the Kite decoder does:
            //  a level of 0 for 0 is padding, not a bid
            uint8_t bids = 0, asks = 0;
            while (bids < TM_DEPTH_MAX && msg->bids [bids].quantity > 0)
                bids++;
            while (asks < TM_DEPTH_MAX && msg->asks [asks].quantity > 0)
                asks++;
            memset (tick->bids, 0, sizeof tick->bids);
            memset (tick->asks, 0, sizeof tick->asks);
            memcpy (tick->bids, msg->bids, bids * sizeof msg->bids [0]);
            memcpy (tick->asks, msg->asks, asks * sizeof msg->asks [0]);
            tick->bid_levels = bids;
            tick->ask_levels = asks;
            tick->fields |= TM_TICK_BOOK | TM_TICK_DEPTH;
            tick->bid_price = bids ? msg->bids [0].price : 0;
            tick->bid_quantity = bids ? msg->bids [0].quantity : 0;
            tick->ask_price = asks ? msg->asks [0].price : 0;
            tick->ask_quantity = asks ? msg->asks [0].quantity : 0;
            tick->src_seq = (uint64_t) msg->seq;
            break;
        }
        case TM_TD_GREEKS:
            //  The greeks' timestamp is when TrueData computed them, not a trade: the tick
            //  keeps its last trade's exchange time
            tick->greeks = (tm_greeks_t) { msg->iv, msg->delta, msg->gamma, msg->theta,
                                           msg->vega, msg->rho };
            tick->fields |= TM_TICK_GREEKS;
            return 0;
        default:
            return -1;
    }
    tick->exchange_ts = msg->ts;
    return 0;
}

char *
tm_td_request (const char *method, const char * const *symbols, size_t count)
{
    if (!method || !symbols || count == 0 || count > TM_TD_BATCH_MAX
    ||  !(streq (method, "addsymbol") || streq (method, "removesymbol")))
        return NULL;
    json_t *list = json_array ();
    assert (list);
    for (size_t i = 0; i < count; i++) {
        //  A name we could not hold in a row could never be matched to its reply; control
        //  characters are in no TrueData name (4), and would only grow the frame
        const char *symbol = symbols [i];
        size_t len = symbol ? strlen (symbol) : 0;
        if (len == 0 || len >= TM_SYMBOL_MAX) {
            json_decref (list);
            return NULL;
        }
        char upper [TM_SYMBOL_MAX];
        for (size_t j = 0; j <= len; j++) {
            unsigned char c = (unsigned char) symbol [j];
            if (j < len && c < 0x20) {
                json_decref (list);
                return NULL;
            }
            //  The Python library upper-cases before sending (2); ASCII only, so a byte of a
            //  UTF-8 character is never changed
            upper [j] = (char) (c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
        //  json_string refuses text that is not UTF-8
        json_t *item = json_string (upper);
        if (!item || json_array_append_new (list, item)) {
            json_decref (list);
            return NULL;
        }
    }
    json_t *request = json_pack ("{s:s, s:o}", "method", method, "symbols", list);
    assert (request);
    char *text = json_dumps (request, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref (request);
    //  1500 plain names of at most 31 bytes fit; names full of escaped quotes might not
    if (text && strlen (text) >= S_REQUEST_MAX) {
        free (text);
        return NULL;
    }
    return text;
}
