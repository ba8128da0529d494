//  chain - one option chain (see chain.h)

#include "tickmux.h"
#include "chain.h"

//  What a chain keeps of a leg's (or the underlying's) last tick: the fields a chain shows
typedef struct {
    char symbol [TM_SYMBOL_MAX];    //  Canonical symbol
    bool unlisted;                  //  The provider does not list it: null in the chain
    bool ticked;                    //  A tick arrived; the values below are valid
    uint32_t fields;                //  TM_TICK_* groups of the last tick
    double last_price;
    int64_t last_quantity;
    int64_t volume;
    int64_t oi;
    double bid_price;
    int64_t bid_quantity;
    double ask_price;
    int64_t ask_quantity;
    tm_greeks_t greeks;
    int64_t exchange_ts;
} s_leg_t;

struct _tm_chain_t {
    tm_option_root_t root;          //  Root, underlying and step (a copy)
    char stream [TM_PROVIDER_MAX];  //  Stream asked for, what "provider" carries
    char expiry [11];               //  YYYY-MM-DD
    int year, month, day;           //  The expiry's parts
    size_t strikes;                 //  Strikes asked for
    bool centered;                  //  Strikes fixed
    double atm;                     //  At-the-money strike
    s_leg_t underlying;             //  The underlying's price
    s_leg_t *legs;                  //  2 per strike, CE then PE, lowest strike first
    double *strike_of;              //  Strike of each pair of legs
    size_t legs_count;              //  Entries in legs
    zhashx_t *by_symbol;            //  symbol -> leg index + 1
};

tm_chain_t *
tm_chain_new (const tm_option_root_t *root, const char *stream, int year, int month, int day,
              size_t strikes)
{
    assert (root && stream);
    if (strikes < 1 || strikes > TM_CHAIN_STRIKES_MAX)
        return NULL;
    tm_chain_t *self = (tm_chain_t *) zmalloc (sizeof (tm_chain_t));
    assert (self);
    self->root = *root;
    snprintf (self->stream, sizeof self->stream, "%s", stream);
    snprintf (self->expiry, sizeof self->expiry, "%04d-%02d-%02d", year, month, day);
    self->year = year;
    self->month = month;
    self->day = day;
    self->strikes = strikes;
    snprintf (self->underlying.symbol, sizeof self->underlying.symbol, "%s", root->underlying);
    self->by_symbol = zhashx_new ();
    return self;
}

void
tm_chain_destroy (tm_chain_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        tm_chain_t *self = *self_p;
        zhashx_destroy (&self->by_symbol);
        free (self->legs);
        free (self->strike_of);
        free (self);
        *self_p = NULL;
    }
}

const char *
tm_chain_underlying (tm_chain_t *self)
{
    assert (self);
    return self->underlying.symbol;
}

size_t
tm_chain_center (tm_chain_t *self, double price)
{
    assert (self);
    if (self->centered)
        return self->legs_count;
    self->centered = true;
    double step = self->root.step;
    self->atm = floor (price / step + 0.5) * step;
    self->legs = (s_leg_t *) calloc (2 * self->strikes, sizeof (s_leg_t));
    self->strike_of = (double *) calloc (self->strikes, sizeof (double));
    assert (self->legs && self->strike_of);
    double lowest = self->atm - step * (double) (self->strikes / 2);
    for (size_t k = 0; k < self->strikes; k++) {
        //  Strikes are multiples of the step: computed from the index, never accumulated
        double strike = lowest + step * (double) k;
        if (!(strike > 0))
            continue;
        size_t pair = self->legs_count / 2;
        bool named = true;
        for (int call = 1; call >= 0 && named; call--) {
            s_leg_t *leg = &self->legs [self->legs_count + (call ? 0 : 1)];
            named = tm_option_symbol (leg->symbol, sizeof leg->symbol, self->root.name,
                                      self->year, self->month, self->day, strike,
                                      call ? "CE" : "PE") == 0;
        }
        if (!named)
            continue;               //  Too long a name for a symbol: not a strike we can show
        self->strike_of [pair] = strike;
        for (size_t i = 0; i < 2; i++) {
            zhashx_insert (self->by_symbol, self->legs [self->legs_count].symbol,
                           (void *) (uintptr_t) (self->legs_count + 1));
            self->legs_count++;
        }
    }
    return self->legs_count;
}

bool
tm_chain_is_centered (tm_chain_t *self)
{
    assert (self);
    return self->centered;
}

size_t
tm_chain_legs (tm_chain_t *self)
{
    assert (self);
    return self->legs_count;
}

const char *
tm_chain_leg_symbol (tm_chain_t *self, size_t index)
{
    assert (self && index < self->legs_count);
    return self->legs [index].symbol;
}

void
tm_chain_leg_unlisted (tm_chain_t *self, size_t index)
{
    assert (self && index < self->legs_count);
    self->legs [index].unlisted = true;
    self->legs [index].ticked = false;
}

static void
s_leg_take (s_leg_t *leg, const tm_tick_t *tick)
{
    leg->ticked = true;
    leg->fields = tick->fields;
    leg->last_price = tick->last_price;
    leg->last_quantity = tick->last_quantity;
    leg->volume = tick->volume;
    leg->oi = tick->oi;
    leg->bid_price = tick->bid_price;
    leg->bid_quantity = tick->bid_quantity;
    leg->ask_price = tick->ask_price;
    leg->ask_quantity = tick->ask_quantity;
    leg->greeks = tick->greeks;
    leg->exchange_ts = tick->exchange_ts;
}

int
tm_chain_apply (tm_chain_t *self, const tm_tick_t *tick)
{
    assert (self && tick);
    if (streq (tick->symbol, self->underlying.symbol)) {
        s_leg_take (&self->underlying, tick);
        return TM_CHAIN_UNDERLYING;
    }
    size_t index = (size_t) (uintptr_t) zhashx_lookup (self->by_symbol, tick->symbol);
    if (index == 0 || self->legs [index - 1].unlisted)
        return -1;
    s_leg_take (&self->legs [index - 1], tick);
    return (int) index - 1;
}

bool
tm_chain_is_complete (tm_chain_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->legs_count; i++)
        if (!self->legs [i].unlisted && !self->legs [i].ticked)
            return false;
    return true;
}

//  A leg as the client sees it: null when unlisted, {symbol} before its first tick, else its
//  values under the names MARKET_DATA uses, each group only when the provider sent it
static json_t *
s_leg_json (const s_leg_t *leg)
{
    if (leg->unlisted)
        return json_null ();
    json_t *out = json_pack ("{s:s}", "symbol", leg->symbol);
    if (!leg->ticked)
        return out;
    json_object_set_new (out, "last_price", json_real (leg->last_price));
    if (leg->fields & TM_TICK_QUOTE) {
        json_object_set_new (out, "last_quantity", json_integer (leg->last_quantity));
        json_object_set_new (out, "volume", json_integer (leg->volume));
    }
    if (leg->fields & TM_TICK_OI)
        json_object_set_new (out, "oi", json_integer (leg->oi));
    if (leg->fields & TM_TICK_BOOK) {
        json_object_set_new (out, "bid_price", json_real (leg->bid_price));
        json_object_set_new (out, "bid_quantity", json_integer (leg->bid_quantity));
        json_object_set_new (out, "ask_price", json_real (leg->ask_price));
        json_object_set_new (out, "ask_quantity", json_integer (leg->ask_quantity));
    }
    if (leg->fields & TM_TICK_GREEKS) {
        const tm_greeks_t *g = &leg->greeks;
        json_object_set_new (out, "greeks", json_pack ("{s:f, s:f, s:f, s:f, s:f, s:f}",
                             "iv", g->iv, "delta", g->delta, "gamma", g->gamma,
                             "theta", g->theta, "vega", g->vega, "rho", g->rho));
    }
    json_object_set_new (out, "exchange_ts", json_integer (leg->exchange_ts));
    return out;
}

//  The fields every chain message starts with
static json_t *
s_message (tm_chain_t *self, const char *type)
{
    return json_pack ("{s:s, s:s, s:s, s:s}", "type", type, "provider", self->stream,
                      "symbol", self->root.name, "expiry", self->expiry);
}

static char *
s_dump (json_t *message)
{
    //  Ten significant digits, as MARKET_DATA prints prices
    char *text = json_dumps (message, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION (10));
    json_decref (message);
    assert (text);
    return text;
}

char *
tm_chain_snapshot_json (tm_chain_t *self, json_t *id, int64_t now_ns)
{
    assert (self);
    json_t *out = s_message (self, "OPTION_CHAIN");
    if (id)
        json_object_set (out, "id", id);
    json_object_set_new (out, "underlying", s_leg_json (&self->underlying));
    json_object_set_new (out, "atm_strike", json_real (self->atm));
    json_object_set_new (out, "strike_step", json_real (self->root.step));
    json_t *strikes = json_array ();
    for (size_t i = 0; i + 1 < self->legs_count; i += 2)
        json_array_append_new (strikes, json_pack ("{s:f, s:o, s:o}",
                               "strike", self->strike_of [i / 2],
                               "CE", s_leg_json (&self->legs [i]),
                               "PE", s_leg_json (&self->legs [i + 1])));
    json_object_set_new (out, "strikes", strikes);
    json_object_set_new (out, "ts", json_integer (now_ns));
    return s_dump (out);
}

char *
tm_chain_update_json (tm_chain_t *self, int index)
{
    assert (self);
    json_t *out = s_message (self, "OPTION_CHAIN_UPDATE");
    if (index == TM_CHAIN_UNDERLYING)
        json_object_set_new (out, "underlying", s_leg_json (&self->underlying));
    else {
        assert (index >= 0 && (size_t) index < self->legs_count);
        json_object_set_new (out, "strike", json_real (self->strike_of [index / 2]));
        json_object_set_new (out, "option_type", json_string (index % 2 ? "PE" : "CE"));
        json_object_set_new (out, "data", s_leg_json (&self->legs [index]));
    }
    return s_dump (out);
}
