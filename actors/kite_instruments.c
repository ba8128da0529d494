//  kite_instruments - Kite's instrument dump and its canonical symbols (see kite_instruments.h)
//
//  Parses the CSV of GET /instruments (kite.md 4) with libcsv, checks the header and every row,
//  and keeps three maps: token, canonical symbol and EXCHANGE:TRADINGSYMBOL to the row. It
//  does not fetch the dump (actors/zerodha does, with libcurl) and knows nothing of ticks.
//
//  Canonical symbols are unique by construction: the short forms (RELIANCE, NIFTY 50,
//  NIFTY-I) never contain ':', EXCHANGE:TRADINGSYMBOL always does and is unique per row, and a
//  short form that is already taken falls back to the long one.

#include "tickmux.h"
#include "kite_instruments.h"

#include <csv.h>

#define S_COLUMNS       12          //  Columns of the dump, kite.md 4
#define S_CHUNK         (64 * 1024) //  Bytes handed to libcsv at a time, so a failed header
                                    //  stops the parse early instead of after 64 MB
#define S_IST_OFFSET    19800       //  IST is UTC+05:30, in seconds
#define S_DAY           86400       //  Seconds in a day

//  Column names in the order kite.md 4 fixes
static const char *s_columns [S_COLUMNS] = {
    "instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry",
    "strike", "tick_size", "lot_size", "instrument_type", "segment", "exchange"
};

enum {
    S_TOKEN, S_EXCHANGE_TOKEN, S_TRADINGSYMBOL, S_NAME, S_LAST_PRICE, S_EXPIRY,
    S_STRIKE, S_TICK_SIZE, S_LOT_SIZE, S_INSTRUMENT_TYPE, S_SEGMENT, S_EXCHANGE
};

typedef struct {
    tm_kite_instrument_t instrument;    //  What callers borrow
    char symbol [TM_SYMBOL_MAX];        //  Canonical symbol, fixed at load
    int continuous;                     //  1 for NAME-I, 2 for NAME-II, else 0
} s_entry_t;

//  One loaded dump. Maps hold index + 1 of an entry (never NULL), not pointers, because the
//  entries array moves while it grows during the parse.
typedef struct {
    s_entry_t *entries;                 //  Rows in dump order
    size_t size;                        //  Rows kept
    size_t room;                        //  Rows allocated
    zhashx_t *by_token;                 //  instrument_token -> index + 1
    zhashx_t *by_symbol;                //  Canonical symbol -> index + 1
    zhashx_t *by_exsym;                 //  "EXCHANGE:TRADINGSYMBOL" -> index + 1
} s_table_t;

struct _tm_kite_instruments_t {
    s_table_t *table;                   //  The last dump that loaded, or NULL before one did
};

//  State of one load, shared by the libcsv callbacks
typedef struct {
    s_table_t *table;                   //  Being filled
    char fields [S_COLUMNS][TM_KITE_FIELD_MAX];     //  The current row's first 12 fields
    size_t columns;                     //  Fields seen in the current row, extra ones too
    bool bad_field;                     //  A field of the current row did not fit or held a NUL
    size_t row;                         //  Rows finished, the header included
    size_t rejected;                    //  Data rows dropped
    bool failed;                        //  The header was wrong: stop
    char *err;                          //  Where the header error goes
    size_t err_size;                    //  Its size
} s_load_t;

//  Integer keys for zhashx: the token itself, never 0 because a zero token is rejected
static size_t
s_token_hash (const void *key)
{
    return (size_t) (uintptr_t) key;
}

static int
s_token_compare (const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) a, y = (uintptr_t) b;
    return x < y ? -1 : x > y;
}

static s_table_t *
s_table_new (void)
{
    s_table_t *self = (s_table_t *) zmalloc (sizeof (s_table_t));
    assert (self);
    self->by_token = zhashx_new ();
    assert (self->by_token);
    zhashx_set_key_hasher (self->by_token, s_token_hash);
    zhashx_set_key_comparator (self->by_token, s_token_compare);
    zhashx_set_key_duplicator (self->by_token, NULL);
    zhashx_set_key_destructor (self->by_token, NULL);
    //  String keys: zhashx copies them, items are indices and need no destructor
    self->by_symbol = zhashx_new ();
    assert (self->by_symbol);
    self->by_exsym = zhashx_new ();
    assert (self->by_exsym);
    return self;
}

static void
s_table_destroy (s_table_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        s_table_t *self = *self_p;
        zhashx_destroy (&self->by_token);
        zhashx_destroy (&self->by_symbol);
        zhashx_destroy (&self->by_exsym);
        free (self->entries);
        free (self);
        *self_p = NULL;
    }
}

static s_entry_t *
s_table_get (s_table_t *self, void *item)
{
    size_t index = (size_t) (uintptr_t) item;
    return index ? &self->entries [index - 1] : NULL;
}

//  err may be NULL with err_size 0; callers that do not care pass that
static void
s_error (char *err, size_t err_size, const char *format, ...)
{
    if (!err || err_size == 0)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (err, err_size, format, args);
    va_end (args);
}

//  Decimal digits only: no sign, no spaces, no hex (strtoul would take all three)
static int
s_parse_u32 (const char *text, uint32_t *value)
{
    if (!*text || strlen (text) > 10)
        return -1;
    uint64_t result = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        result = result * 10 + (uint64_t) (*p - '0');
    }
    if (result > UINT32_MAX)
        return -1;
    *value = (uint32_t) result;
    return 0;
}

//  A finite number that is not negative; empty is 0 when allowed (kite.md 4: strike may be
//  empty on non-options, and the real dumps write 0.0)
static int
s_parse_number (const char *text, bool empty_ok, double *value)
{
    if (!*text) {
        *value = 0;
        return empty_ok ? 0 : -1;
    }
    char *end;
    errno = 0;
    double result = strtod (text, &end);
    if (*end || errno == ERANGE || !isfinite (result) || result < 0)
        return -1;
    *value = result;
    return 0;
}

//  Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil)
static int32_t
s_days_from_civil (int year, int month, int day)
{
    year -= month <= 2;
    int era = (year >= 0 ? year : year - 399) / 400;
    int yoe = year - era * 400;
    int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t) (era * 146097 + doe - 719468);
}

//  "yyyy-mm-dd" exactly, a real calendar date; empty means no expiry (-1)
static int
s_parse_expiry (const char *text, int32_t *days)
{
    if (!*text) {
        *days = -1;
        return 0;
    }
    if (strlen (text) != 10 || text [4] != '-' || text [7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (text [i] < '0' || text [i] > '9'))
            return -1;
    int year = atoi (text), month = atoi (text + 5), day = atoi (text + 8);
    static const int month_days [12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > month_days [month - 1]
    ||  (month == 2 && day == 29 && !leap))
        return -1;
    *days = s_days_from_civil (year, month, day);
    return 0;
}

//  Text that can become part of a symbol: no control bytes, and no ':' because that is the
//  separator of EXCHANGE:TRADINGSYMBOL, which resolve must be able to tell apart
static bool
s_symbol_text_ok (const char *text)
{
    for (const unsigned char *p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == ':')
            return false;
    return true;
}

static bool
s_exchange_ok (const char *text)
{
    if (!*text)
        return false;
    for (const char *p = text; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return false;
    return true;
}

//  Copy a field that must fit whole into a fixed array; returns -1 if it does not
static int
s_copy (char *to, size_t size, const char *from)
{
    if (strlen (from) >= size)
        return -1;
    strcpy (to, from);
    return 0;
}

//  Validate the current row and append it. Returns 0, or -1 to count it rejected.
static int
s_take_row (s_load_t *load)
{
    if (load->columns != S_COLUMNS || load->bad_field)
        return -1;
    if (load->table->size >= TM_UNIVERSE_MAX)
        return -1;                  //  Keeps memory bounded whatever the dump holds
    char (*field) [TM_KITE_FIELD_MAX] = load->fields;
    tm_kite_instrument_t row;
    memset (&row, 0, sizeof row);
    double last_price;
    double lot_size;
    if (s_parse_u32 (field [S_TOKEN], &row.instrument_token) || row.instrument_token == 0
    ||  s_parse_u32 (field [S_EXCHANGE_TOKEN], &row.exchange_token)
    ||  !*field [S_TRADINGSYMBOL] || !s_symbol_text_ok (field [S_TRADINGSYMBOL])
    ||  s_parse_number (field [S_LAST_PRICE], true, &last_price)
    ||  s_parse_expiry (field [S_EXPIRY], &row.expiry)
    ||  s_parse_number (field [S_STRIKE], true, &row.strike)
    ||  s_parse_number (field [S_TICK_SIZE], false, &row.tick_size)
    ||  s_parse_number (field [S_LOT_SIZE], false, &lot_size)
    ||  lot_size != floor (lot_size) || lot_size > INT32_MAX
    ||  !s_exchange_ok (field [S_EXCHANGE])
    ||  s_copy (row.tradingsymbol, sizeof row.tradingsymbol, field [S_TRADINGSYMBOL])
    ||  s_copy (row.name, sizeof row.name, field [S_NAME])
    ||  s_copy (row.exchange, sizeof row.exchange, field [S_EXCHANGE])
    ||  s_copy (row.segment, sizeof row.segment, field [S_SEGMENT])
    ||  s_copy (row.instrument_type, sizeof row.instrument_type, field [S_INSTRUMENT_TYPE]))
        return -1;
    row.lot_size = (int32_t) lot_size;

    //  Every row must be reachable as EXCHANGE:TRADINGSYMBOL, and that form must fit a tick's
    //  symbol, because it is the fallback canonical symbol
    char exsym [TM_SYMBOL_MAX];
    if (snprintf (exsym, sizeof exsym, "%s:%s", row.exchange, row.tradingsymbol)
        >= (int) sizeof exsym)
        return -1;
    //  Kite recycles tokens across expiries (kite.md 4): two live rows with one token, or
    //  one contract listed twice, would make ticks ambiguous, so the first row wins
    void *token_key = (void *) (uintptr_t) row.instrument_token;
    if (zhashx_lookup (load->table->by_token, token_key)
    ||  zhashx_lookup (load->table->by_exsym, exsym))
        return -1;

    s_table_t *table = load->table;
    if (table->size == table->room) {
        table->room = table->room ? table->room * 2 : 1024;
        table->entries = (s_entry_t *) realloc (table->entries,
                                                table->room * sizeof (s_entry_t));
        assert (table->entries);
    }
    s_entry_t *entry = &table->entries [table->size];
    memset (entry, 0, sizeof *entry);
    entry->instrument = row;
    table->size++;
    void *item = (void *) (uintptr_t) table->size;
    zhashx_insert (table->by_token, token_key, item);
    zhashx_insert (table->by_exsym, exsym, item);
    return 0;
}

static void
s_check_header (s_load_t *load)
{
    for (size_t i = 0; i < S_COLUMNS && i < load->columns; i++)
        if (strcmp (load->fields [i], s_columns [i])) {
            s_error (load->err, load->err_size,
                     "instruments row 1: column %zu is '%.*s', expected '%s'",
                     i + 1, 32, load->fields [i], s_columns [i]);
            load->failed = true;
            return;
        }
    if (load->columns < S_COLUMNS) {
        s_error (load->err, load->err_size,
                 "instruments row 1: %zu columns, expected %d: missing '%s'",
                 load->columns, S_COLUMNS, s_columns [load->columns]);
        load->failed = true;
    }
    else
    if (load->columns > S_COLUMNS) {
        s_error (load->err, load->err_size,
                 "instruments row 1: %zu columns, expected %d (kite.md 4)",
                 load->columns, S_COLUMNS);
        load->failed = true;
    }
    else
    if (load->bad_field) {
        s_error (load->err, load->err_size, "instruments row 1: a column name holds a NUL");
        load->failed = true;
    }
}

static void
s_row_reset (s_load_t *load)
{
    load->columns = 0;
    load->bad_field = false;
}

//  libcsv: one field of the current row
static void
s_on_field (void *text, size_t len, void *arg)
{
    s_load_t *load = (s_load_t *) arg;
    if (load->failed)
        return;
    if (load->columns < S_COLUMNS) {
        char *field = load->fields [load->columns];
        if (memchr (text, '\0', len))
            load->bad_field = true;
        else
        if (len < TM_KITE_FIELD_MAX) {
            memcpy (field, text, len);
            field [len] = '\0';
        }
        else
        if (load->columns == S_NAME) {
            //  A long company name only labels the row; cut it on a UTF-8 boundary rather
            //  than lose the instrument. Such a name never fits NAME-I, so nothing collides.
            size_t keep = TM_KITE_FIELD_MAX - 1;
            while (keep > 0 && (((unsigned char *) text) [keep] & 0xc0) == 0x80)
                keep--;
            memcpy (field, text, keep);
            field [keep] = '\0';
        }
        else
            load->bad_field = true;
    }
    load->columns++;
}

//  libcsv: the end of a row
static void
s_on_row (int terminator, void *arg)
{
    s_load_t *load = (s_load_t *) arg;
    if (load->failed)
        return;
    if (load->row == 0)
        s_check_header (load);
    else
    if (s_take_row (load))
        load->rejected++;
    load->row++;
    s_row_reset (load);
}

//  Floor division, so instants before 1970 still land on the right day
static int64_t
s_floor_div (int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

//  Mark the nearest (1) and next (2) live NFO future of every underlying. "Live" means an
//  expiry of today or later in IST: on expiry day the expiring contract still trades, so it
//  stays NAME-I until midnight IST.
static void
s_mark_continuous (s_table_t *table, int64_t now_ns)
{
    int64_t today = s_floor_div (s_floor_div (now_ns, 1000000000) + S_IST_OFFSET, S_DAY);
    //  Pass 1 finds the nearest of each name (name -> index + 1 in best); pass 2, skipping
    //  those, finds the next
    for (int pass = 1; pass <= 2; pass++) {
        zhashx_t *best = zhashx_new ();
        assert (best);
        for (size_t i = 0; i < table->size; i++) {
            s_entry_t *entry = &table->entries [i];
            tm_kite_instrument_t *row = &entry->instrument;
            if (strcmp (row->exchange, "NFO") || strcmp (row->instrument_type, "FUT")
            ||  !*row->name || row->expiry < today || entry->continuous)
                continue;
            s_entry_t *held = s_table_get (table, zhashx_lookup (best, row->name));
            //  Ties keep the first in dump order, so a reload gives the same answer
            if (!held || row->expiry < held->instrument.expiry)
                zhashx_update (best, row->name, (void *) (uintptr_t) (i + 1));
        }
        for (void *item = zhashx_first (best); item; item = zhashx_next (best))
            s_table_get (table, item)->continuous = pass;
        zhashx_destroy (&best);
    }
}

//  An NFO option's TrueData-style name, <NAME><YYMMDD><STRIKE><CE|PE> (truedata.md 4), made
//  from the row's name, expiry, strike and type, never from its tradingsymbol (Kite's weekly
//  and monthly forms differ). A whole strike prints as an integer, a fractional one keeps its
//  decimals. Returns 0, or -1 when the row lacks a part or the name does not fit.
static int
s_option_symbol (const tm_kite_instrument_t *row, char *buf, size_t size)
{
    if (!s_symbol_text_ok (row->name) || row->expiry < 0)
        return -1;
    time_t day = (time_t) row->expiry * S_DAY;
    struct tm date;
    gmtime_r (&day, &date);
    return tm_option_symbol (buf, size, row->name, date.tm_year + 1900, date.tm_mon + 1,
                             date.tm_mday, row->strike, row->instrument_type);
}

//  Fix each row's canonical symbol, in dump order (kite_instruments.h)
static void
s_assign_symbols (s_table_t *table)
{
    for (size_t i = 0; i < table->size; i++) {
        s_entry_t *entry = &table->entries [i];
        tm_kite_instrument_t *row = &entry->instrument;
        char wanted [TM_SYMBOL_MAX] = "";
        bool fits = true;
        if (entry->continuous)
            fits = snprintf (wanted, sizeof wanted, "%s-%s", row->name,
                             entry->continuous == 1 ? "I" : "II") < (int) sizeof wanted
                && s_symbol_text_ok (row->name);
        else
        if (streq (row->segment, "INDICES")
        ||  (streq (row->exchange, "NSE") && streq (row->segment, "NSE")
             && streq (row->instrument_type, "EQ")))
            fits = s_copy (wanted, sizeof wanted, row->tradingsymbol) == 0;
        else
        if (streq (row->exchange, "NFO")
        &&  (streq (row->instrument_type, "CE") || streq (row->instrument_type, "PE")))
            fits = s_option_symbol (row, wanted, sizeof wanted) == 0;
        void *item = (void *) (uintptr_t) (i + 1);
        if (*wanted && fits && zhashx_insert (table->by_symbol, wanted, item) == 0) {
            strcpy (entry->symbol, wanted);
            continue;
        }
        //  Long form: unique per row (checked at parse) and never equal to a short form,
        //  which holds no ':'
        int length = snprintf (entry->symbol, sizeof entry->symbol, "%s:%s", row->exchange,
                               row->tradingsymbol);
        assert (length > 0 && (size_t) length < sizeof entry->symbol);
        int rc = zhashx_insert (table->by_symbol, entry->symbol, item);
        assert (rc == 0);
    }
}

tm_kite_instruments_t *
tm_kite_instruments_new (void)
{
    tm_kite_instruments_t *self =
        (tm_kite_instruments_t *) zmalloc (sizeof (tm_kite_instruments_t));
    assert (self);
    return self;
}

void
tm_kite_instruments_destroy (tm_kite_instruments_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        tm_kite_instruments_t *self = *self_p;
        s_table_destroy (&self->table);
        free (self);
        *self_p = NULL;
    }
}

int
tm_kite_instruments_load (tm_kite_instruments_t *self, const char *csv, size_t size,
                          int64_t now_ns, size_t *rejected, char *err, size_t err_size)
{
    assert (self);
    assert (csv || size == 0);
    if (rejected)
        *rejected = 0;
    if (size > TM_KITE_CSV_MAX) {
        s_error (err, err_size, "instruments: dump of %zu bytes, more than the %d allowed",
                 size, TM_KITE_CSV_MAX);
        return -1;
    }
    //  A BOM would glue itself to the first column name
    if (size >= 3 && memcmp (csv, "\xef\xbb\xbf", 3) == 0) {
        csv += 3;
        size -= 3;
    }
    s_load_t *load = (s_load_t *) zmalloc (sizeof (s_load_t));
    assert (load);
    load->table = s_table_new ();
    load->err = err;
    load->err_size = err_size;

    //  Strict: a stray quote rejects its row instead of being guessed at, and STRICT_FINI
    //  does the same for a quote left open at the end. libcsv stops at a strict error, so we
    //  drop the row, step to the next line and start a fresh parser there. Spaces around
    //  unquoted fields are trimmed (libcsv's default), which the dumps never rely on.
    struct csv_parser parser;
    int rc = csv_init (&parser, CSV_STRICT | CSV_STRICT_FINI);
    assert (rc == 0);
    size_t at = 0;
    while (at < size && !load->failed) {
        size_t length = size - at < S_CHUNK ? size - at : S_CHUNK;
        size_t used = csv_parse (&parser, csv + at, length, s_on_field, s_on_row, load);
        if (used == length) {
            at += length;
            continue;
        }
        assert (csv_error (&parser) == CSV_EPARSE);   //  ENOMEM is the only other, and
                                                      //  zmalloc-style code asserts on it
        const char *newline = (const char *) memchr (csv + at + used, '\n', size - at - used);
        at = newline ? (size_t) (newline - csv) + 1 : size;
        if (load->row == 0) {
            s_error (err, err_size, "instruments row 1: malformed quoting in the header");
            load->failed = true;
        }
        else
            load->rejected++;
        load->row++;
        s_row_reset (load);
        csv_free (&parser);
        rc = csv_init (&parser, CSV_STRICT | CSV_STRICT_FINI);
        assert (rc == 0);
    }
    if (!load->failed && csv_fini (&parser, s_on_field, s_on_row, load) != 0) {
        //  A quote still open at the end: that last row is lost, the rest stands
        if (load->row == 0) {
            s_error (err, err_size, "instruments row 1: malformed quoting in the header");
            load->failed = true;
        }
        else
            load->rejected++;
    }
    csv_free (&parser);

    if (rejected)
        *rejected = load->rejected;
    rc = 0;
    if (load->failed)
        rc = -1;
    else
    if (load->row == 0) {
        s_error (err, err_size, "instruments: empty dump, expected the header row '%s,...'",
                 s_columns [0]);
        rc = -1;
    }
    else
    if (load->table->size == 0) {
        s_error (err, err_size, "instruments: no row parses (%zu rejected)", load->rejected);
        rc = -1;
    }
    if (rc == 0) {
        s_mark_continuous (load->table, now_ns);
        s_assign_symbols (load->table);
        //  Only a good dump replaces the old one, so a failed refresh leaves the connector
        //  with yesterday's map rather than none
        s_table_destroy (&self->table);
        self->table = load->table;
    }
    else
        s_table_destroy (&load->table);
    free (load);
    return rc;
}

size_t
tm_kite_instruments_size (tm_kite_instruments_t *self)
{
    assert (self);
    return self->table ? self->table->size : 0;
}

const tm_kite_instrument_t *
tm_kite_instruments_resolve (tm_kite_instruments_t *self, const char *symbol)
{
    assert (self);
    if (!self->table || !symbol)
        return NULL;
    s_entry_t *entry = s_table_get (self->table, zhashx_lookup (self->table->by_symbol, symbol));
    if (!entry)
        entry = s_table_get (self->table, zhashx_lookup (self->table->by_exsym, symbol));
    return entry ? &entry->instrument : NULL;
}

static s_entry_t *
s_by_token (tm_kite_instruments_t *self, uint32_t token)
{
    if (!self->table || token == 0)
        return NULL;
    return s_table_get (self->table,
                        zhashx_lookup (self->table->by_token, (void *) (uintptr_t) token));
}

const tm_kite_instrument_t *
tm_kite_instruments_by_token (tm_kite_instruments_t *self, uint32_t token)
{
    assert (self);
    s_entry_t *entry = s_by_token (self, token);
    return entry ? &entry->instrument : NULL;
}

const char *
tm_kite_instruments_symbol (tm_kite_instruments_t *self, uint32_t token)
{
    assert (self);
    s_entry_t *entry = s_by_token (self, token);
    return entry ? entry->symbol : NULL;
}

void
tm_kite_instruments_each_symbol (tm_kite_instruments_t *self,
                                 void (*fn) (const char *symbol, void *arg), void *arg)
{
    assert (self);
    assert (fn);
    if (!self->table)
        return;
    for (size_t i = 0; i < self->table->size; i++)
        fn (self->table->entries [i].symbol, arg);
}

int64_t
tm_kite_instruments_next_refresh (int64_t now_ns)
{
    const int64_t minute = 60LL * 1000000000LL;
    const int64_t day = 24 * 60 * minute;
    const int64_t ist = 330 * minute;              //  UTC+05:30, no daylight saving
    //  Local IST midnight of now, by floor division so times before 1970 work too
    int64_t local = now_ns + ist;
    int64_t midnight = local - (((local % day) + day) % day);
    int64_t next = midnight + TM_KITE_REFRESH_MINUTE * minute - ist;
    return next > now_ns ? next : next + day;
}
