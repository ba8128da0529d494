//  route - per-symbol provider preference, e.g. NIFTY-I = TRUEDATA, ZERODHA
//
//  A plain class (no threads, no sockets) that the arbiter wraps. The table knows the
//  configured provider instances by index (their order in the config); a route is a list of
//  those indices in preference order. A route for "*" is the default; with no default, every
//  configured provider in the order configured.

#ifndef TM_ROUTE_H_INCLUDED
#define TM_ROUTE_H_INCLUDED

typedef struct _tm_routes_t tm_routes_t;

//  Create a table over the configured provider names (copied; at most TM_PROVIDERS_MAX).
//  Caller owns return value and must destroy it when done.
tm_routes_t *
    tm_routes_new (const char * const *providers, size_t count);

//  Destroy the table and set *self_p to NULL. Safe on NULL and when repeated.
void
    tm_routes_destroy (tm_routes_t **self_p);

//  Add a route: symbol (or "*") and a comma-separated provider list ("TRUEDATA, ZERODHA").
//  Rejects an empty or too long symbol, an unknown or repeated provider, an empty list, and a
//  symbol routed twice. Returns 0, or -1 and writes why into err, naming the bad token.
int
    tm_routes_add (tm_routes_t *self, const char *symbol, const char *providers,
                   char *err, size_t err_size);

//  The preference list for a symbol: writes up to max provider indices, returns how many.
size_t
    tm_routes_lookup (tm_routes_t *self, const char *symbol, size_t *order, size_t max);

//  The first provider on the symbol's route whose state is TM_STATE_CONNECTED, by index,
//  or -1 when none is. states [i] is the state of configured provider i.
int
    tm_routes_pick (tm_routes_t *self, const char *symbol, const tm_state_t *states);

//  Index of a configured provider name, or -1.
int
    tm_routes_provider_index (tm_routes_t *self, const char *name);

//  Name of configured provider i (borrowed).
const char *
    tm_routes_provider_name (tm_routes_t *self, size_t index);

//  Number of configured providers; number of explicit routes (the default included).
size_t
    tm_routes_providers (tm_routes_t *self);
size_t
    tm_routes_size (tm_routes_t *self);

#endif
