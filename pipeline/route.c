//  route - per-symbol provider preference (see route.h)

#include "tickmux.h"

typedef struct {
    size_t count;                       //  Providers on the route
    size_t order [TM_PROVIDERS_MAX];    //  Provider indices, preferred first
} s_route_t;

struct _tm_routes_t {
    size_t providers_count;                             //  Configured providers
    char providers [TM_PROVIDERS_MAX][TM_PROVIDER_MAX]; //  Their names, in config order
    zhashx_t *routes;                   //  symbol -> s_route_t * (owned)
    s_route_t *fallback;                //  Route of "*", or NULL (owned by routes)
    s_route_t all;                      //  Every provider in config order, when no "*"
};

static void
s_route_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

tm_routes_t *
tm_routes_new (const char * const *providers, size_t count)
{
    assert (count <= TM_PROVIDERS_MAX);
    tm_routes_t *self = (tm_routes_t *) zmalloc (sizeof (tm_routes_t));
    assert (self);
    self->routes = zhashx_new ();
    assert (self->routes);
    zhashx_set_destructor (self->routes, s_route_free);
    for (size_t i = 0; i < count; i++) {
        snprintf (self->providers [i], TM_PROVIDER_MAX, "%s", providers [i]);
        self->all.order [i] = i;
    }
    self->providers_count = self->all.count = count;
    return self;
}

void
tm_routes_destroy (tm_routes_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        tm_routes_t *self = *self_p;
        zhashx_destroy (&self->routes);
        free (self);
        *self_p = NULL;
    }
}

int
tm_routes_provider_index (tm_routes_t *self, const char *name)
{
    for (size_t i = 0; i < self->providers_count; i++)
        if (strcmp (self->providers [i], name) == 0)
            return (int) i;
    return -1;
}

const char *
tm_routes_provider_name (tm_routes_t *self, size_t index)
{
    assert (index < self->providers_count);
    return self->providers [index];
}

static void
s_list_providers (tm_routes_t *self, char *buf, size_t size)
{
    buf [0] = '\0';
    for (size_t i = 0; i < self->providers_count; i++) {
        size_t used = strlen (buf);
        snprintf (buf + used, size - used, "%s%s", i ? ", " : "", self->providers [i]);
    }
}

int
tm_routes_add (tm_routes_t *self, const char *symbol, const char *providers,
               char *err, size_t err_size)
{
    assert (self && symbol && providers);
    size_t symlen = strlen (symbol);
    if (symlen == 0 || symlen >= TM_SYMBOL_MAX || strchr (symbol, TM_SYMBOL_END)) {
        snprintf (err, err_size, "route '%s': symbol must be 1 to %d bytes without '%c'",
                  symbol, TM_SYMBOL_MAX - 1, TM_SYMBOL_END);
        return -1;
    }
    if (zhashx_lookup (self->routes, symbol)) {
        snprintf (err, err_size, "route '%s': symbol is routed twice", symbol);
        return -1;
    }
    s_route_t route = { 0 };
    const char *p = providers;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        char name [TM_PROVIDER_MAX];
        size_t len = (size_t) (p - start);
        if (len >= sizeof name)
            len = sizeof name - 1;
        memcpy (name, start, len);
        name [len] = '\0';
        int index = tm_routes_provider_index (self, name);
        if (index < 0 || (size_t) (p - start) >= TM_PROVIDER_MAX) {
            char known [TM_PROVIDERS_MAX * (TM_PROVIDER_MAX + 2) + 1];
            s_list_providers (self, known, sizeof known);
            snprintf (err, err_size, "route '%s': unknown provider '%.*s' (expected one of the "
                      "configured providers: %s)", symbol, (int) (p - start), start, known);
            return -1;
        }
        for (size_t i = 0; i < route.count; i++)
            if (route.order [i] == (size_t) index) {
                snprintf (err, err_size, "route '%s': provider '%s' is listed twice", symbol, name);
                return -1;
            }
        route.order [route.count++] = (size_t) index;
    }
    if (route.count == 0) {
        snprintf (err, err_size, "route '%s': no providers (expected a list like \"SIM,SIM2\")",
                  symbol);
        return -1;
    }
    s_route_t *copy = (s_route_t *) zmalloc (sizeof (s_route_t));
    assert (copy);
    *copy = route;
    zhashx_insert (self->routes, symbol, copy);
    if (strcmp (symbol, "*") == 0)
        self->fallback = copy;
    return 0;
}

static const s_route_t *
s_route_for (tm_routes_t *self, const char *symbol)
{
    const s_route_t *route = (const s_route_t *) zhashx_lookup (self->routes, symbol);
    if (!route)
        route = self->fallback ? self->fallback : &self->all;
    return route;
}

size_t
tm_routes_lookup (tm_routes_t *self, const char *symbol, size_t *order, size_t max)
{
    const s_route_t *route = s_route_for (self, symbol);
    size_t n = route->count < max ? route->count : max;
    memcpy (order, route->order, n * sizeof (size_t));
    return n;
}

int
tm_routes_pick (tm_routes_t *self, const char *symbol, const tm_state_t *states)
{
    const s_route_t *route = s_route_for (self, symbol);
    for (size_t i = 0; i < route->count; i++)
        if (states [route->order [i]] == TM_STATE_CONNECTED)
            return (int) route->order [i];
    return -1;
}

size_t
tm_routes_providers (tm_routes_t *self)
{
    return self->providers_count;
}

size_t
tm_routes_size (tm_routes_t *self)
{
    return zhashx_size (self->routes);
}
