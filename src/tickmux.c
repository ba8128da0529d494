//  tickmux - main: configuration, actors up (sinks first), wait for a signal, stop in reverse
//
//  Knows every folder; nothing else knows main. sd_notify tells systemd when we are ready,
//  alive (watchdog) and stopping.

#include "tickmux.h"
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include "normalizer.h"
#include "arbiter.h"
#include "sim.h"
#include "zerodha.h"
#include "truedata.h"
#include "analytics.h"
#include "feed.h"
#include "upstream.h"
#include "gateway.h"
#include "login.h"
#include <curl/curl.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: tickmux [--config FILE] [--port N] [--role core|gateway] [--upstream ENDPOINT]\n"
        "               [--help] [--version]\n"
        "       tickmux [--config FILE] login zerodha     (Kite login from a terminal)\n"
        "\n"
        "  -c, --config FILE     ZPL configuration (default: built-in demo, simulator SIM)\n"
        "  -p, --port N          gateway port, beats the config (0: any free port)\n"
        "  -r, --role ROLE       core (connectors, pipeline, feed, gateway), or gateway: an edge\n"
        "                        serving clients from a core's feed\n"
        "  -u, --upstream EP     the core's feed, in role gateway (tcp://HOST:5556; its snapshot\n"
        "                        is the next port unless upstream/snapshot says otherwise)\n"
        "  -h, --help            this text\n"
        "  -v, --version         print the version\n"
        "\n"
        "Environment: TICKMUX_FAKE_TIME (clock start, tests), STATE_DIRECTORY (systemd).\n"
        "See README.md and systemd/tickmux.cfg for every key.\n");
}

//  mkdir -p with mode 0700 for the last component.
static int
s_make_dirs (const char *path)
{
    char buf [TM_PATH_MAX];
    snprintf (buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir (buf, 0755) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir (buf, 0700) && errno != EEXIST)
        return -1;
    return 0;
}

typedef struct {
    zactor_t *actors [TM_PROVIDERS_MAX + 5];    //  In start order
    const char *names [TM_PROVIDERS_MAX + 5];   //  Theirs, for the logs
    size_t count;                               //  Started
} s_actors_t;

//  Start an actor and wait until it has bound, connected or listened (bus.h convention).
static int
s_start (s_actors_t *actors, const char *name, zactor_fn *fn, void *args)
{
    zactor_t *actor = zactor_new (fn, args);
    if (!actor) {
        zsys_error ("tickmux: cannot start %s", name);
        return -1;
    }
    actors->names [actors->count] = name;
    actors->actors [actors->count++] = actor;
    if (tm_actor_start (actor)) {
        zsys_error ("tickmux: %s failed to start", name);
        return -1;
    }
    return 0;
}

//  Whether every actor answers PING within timeout_ms: the watchdog is fed only then, so a
//  hung actor (not only a hung main) gets the service restarted. A late PONG is read by the
//  next round.
static bool
s_actors_answer (s_actors_t *actors, int timeout_ms)
{
    for (size_t i = 0; i < actors->count; i++)
        zstr_send (actors->actors [i], "PING");
    int64_t deadline = zclock_mono () + timeout_ms;
    bool all = true;
    for (size_t i = 0; i < actors->count; i++) {
        zpoller_t *poller = zpoller_new (actors->actors [i], NULL);
        zpoller_set_nonstop (poller, true);
        char *pong = NULL;
        int64_t wait = deadline - zclock_mono ();
        if (zpoller_wait (poller, wait > 0 ? (int) wait : 0))
            pong = zstr_recv (actors->actors [i]);
        if (!pong || !streq (pong, "PONG")) {
            zsys_warning ("tickmux: actor %s did not answer within %d ms; the watchdog is not "
                          "fed", actors->names [i], timeout_ms);
            all = false;
        }
        free (pong);
        zpoller_destroy (&poller);
    }
    return all;
}

//  SIGTERM: the gateway closes its clients with 1001 and says DRAINED (or we stop waiting)
static void
s_drain (zactor_t *gateway)
{
    zstr_send (gateway, "DRAIN");
    zpoller_t *poller = zpoller_new (gateway, NULL);
    zpoller_set_nonstop (poller, true);
    int64_t deadline = zclock_mono () + 3000;
    while (zclock_mono () < deadline) {
        if (!zpoller_wait (poller, (int) (deadline - zclock_mono ())))
            break;
        char *reply = zstr_recv (gateway);
        bool drained = reply && streq (reply, "DRAINED");
        free (reply);
        if (drained)
            break;
    }
    zpoller_destroy (&poller);
}

static volatile sig_atomic_t s_reload_wanted;

static void
s_on_sighup (int signum)
{
    (void) signum;
    s_reload_wanted = 1;
}

//  What a reload cannot change: the actors are built on it. Returns NULL or what differs.
static const char *
s_reload_conflict (const tm_config_t *running, const tm_config_t *next)
{
    if (next->providers_count != running->providers_count)
        return "the providers";
    for (size_t i = 0; i < next->providers_count; i++)
        if (!streq (next->providers [i].name, running->providers [i].name)
        ||  !streq (next->providers [i].kind, running->providers [i].kind))
            return "the providers";
    if (!streq (next->role, running->role))
        return "the role";
    if (next->port != running->port && !(next->port == 0 || running->port == 0))
        return "the gateway's port";
    if (!streq (next->interface, running->interface) || !streq (next->tls_cert, running->tls_cert)
    ||  !streq (next->tls_key, running->tls_key))
        return "the gateway's address or TLS";
    return NULL;
}

//  SIGHUP: the config file read again; the gateway takes its tokens, limits and policies.
//  Every configuration loaded stays alive until exit (sessions point at their tokens).
static void
s_reload (const char *path, zlistx_t *configs, zactor_t *gateway, long port)
{
    char err [512] = "";
    tm_config_t *next = tm_config_load (path, err, sizeof err);
    if (!next) {
        zsys_error ("tickmux: reload failed, the running configuration stays: %s", err);
        return;
    }
    if (port >= 0)
        next->port = (int) port;
    const tm_config_t *running = (const tm_config_t *) zlistx_last (configs);
    snprintf (next->role, sizeof next->role, "%s", running->role);
    if (streq (running->role, "gateway")) {
        //  An edge's providers are the core's, learned at start
        next->providers_count = running->providers_count;
        memcpy (next->providers, running->providers, sizeof next->providers);
    }
    const char *conflict = s_reload_conflict (running, next);
    if (conflict) {
        zsys_error ("tickmux: reload refused: %s changed, which needs a restart", conflict);
        tm_config_destroy (&next);
        return;
    }
    zlistx_add_end (configs, next);
    zsock_send (gateway, "sp", "RELOAD", next);
    zsys_info ("tickmux: reloaded %s (routes and the arbiter's rules need a restart)",
               path ? path : "the built-in configuration");
}

static void
s_config_free (void **item_p)
{
    tm_config_destroy ((tm_config_t **) item_p);
}

static void
s_stop_all (s_actors_t *actors)
{
    //  Reverse start order: providers first, the gateway last, so no sink goes before its source.
    while (actors->count)
        zactor_destroy (&actors->actors [--actors->count]);
}

int
main (int argc, char *argv [])
{
    const char *config_path = NULL;
    const char *role = NULL;
    const char *upstream = NULL;
    long port = -1;
    static const struct option options [] = {
        { "config", required_argument, NULL, 'c' }, { "port", required_argument, NULL, 'p' },
        { "role", required_argument, NULL, 'r' }, { "upstream", required_argument, NULL, 'u' },
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'v' },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "c:p:r:u:hv", options, NULL)) != -1) {
        char *end;
        switch (opt) {
            case 'c': config_path = optarg; break;
            case 'p':
                port = strtol (optarg, &end, 10);
                if (*end || port < 0 || port > 65535) {
                    fprintf (stderr, "tickmux: --port '%s': expected 0 to 65535\n", optarg);
                    return 2;
                }
                break;
            case 'r': role = optarg; break;
            case 'u': upstream = optarg; break;
            case 'h': s_usage (stdout); return 0;
            case 'v': printf ("tickmux %s\n", TM_VERSION); return 0;
            default:  s_usage (stderr); return 2;
        }
    }
    const char *login = NULL;
    if (optind + 2 == argc && streq (argv [optind], "login"))
        login = argv [optind + 1];
    else
    if (optind < argc) {
        fprintf (stderr, "tickmux: unexpected argument '%s'\n", argv [optind]);
        s_usage (stderr);
        return 2;
    }
    zsys_init ();
    //  SIGHUP reloads (main's loop does it); caught from the start, so a reload asked for
    //  while tickmux starts is not its default action, which is to exit
    struct sigaction hup;
    memset (&hup, 0, sizeof hup);
    hup.sa_handler = s_on_sighup;
    sigaction (SIGHUP, &hup, NULL);
    zsys_set_logstream (stderr);
    zsys_set_logident ("tickmux");

    char err [512] = "";
    tm_config_t *config = tm_config_load (config_path, err, sizeof err);
    if (!config) {
        fprintf (stderr, "tickmux: %s\n", err);
        return 1;
    }
    if (login) {
        curl_global_init (CURL_GLOBAL_DEFAULT);
        s_make_dirs (config->state_dir);
        int status = tm_login_run (login, config, stdin, stdout);
        tm_config_destroy (&config);
        curl_global_cleanup ();
        return status;
    }
    if (port >= 0)
        config->port = (int) port;
    if (upstream)
        snprintf (config->upstream, sizeof config->upstream, "%s", upstream);
    if (role) {
        if (!streq (role, "core") && !streq (role, "gateway")) {
            fprintf (stderr, "tickmux: --role '%s': expected core or gateway\n", role);
            tm_config_destroy (&config);
            return 2;
        }
        snprintf (config->role, sizeof config->role, "%s", role);
    }
    bool edge = streq (config->role, "gateway");
    if (edge && !config->upstream [0]) {
        fprintf (stderr, "tickmux: role gateway needs --upstream tcp://HOST:PORT (the core's "
                 "feed) or upstream/feed in the config\n");
        tm_config_destroy (&config);
        return 2;
    }
    if (edge && !config->upstream_snapshot [0]
    &&  tm_upstream_snapshot_default (config->upstream, config->upstream_snapshot,
                                      sizeof config->upstream_snapshot)) {
        fprintf (stderr, "tickmux: --upstream '%s' has no port to find the snapshot beside; "
                 "set upstream/snapshot\n", config->upstream);
        tm_config_destroy (&config);
        return 2;
    }
    if (tm_clock_set_fake (config->fake_time, err, sizeof err)) {
        fprintf (stderr, "tickmux: %s\n", err);
        tm_config_destroy (&config);
        return 1;
    }
    if (tm_clock_is_fake ())
        zsys_info ("tickmux: fake clock from %s", config->fake_time);
    if (s_make_dirs (config->state_dir))
        zsys_warning ("tickmux: cannot create state directory %s: %s", config->state_dir,
                      strerror (errno));
    zsys_info ("tickmux: %s starting, role=%s state_dir=%s providers=%zu", TM_VERSION,
               config->role, config->state_dir, edge ? 0 : config->providers_count);

    //  An edge serves what its core has: the core's providers, learned before any actor
    //  starts (their tables are sized by them), replace the configured ones
    if (edge) {
        zsys_info ("tickmux: role gateway, the core's feed at %s", config->upstream);
        if (tm_upstream_discover (config, err, sizeof err)) {
            zsys_error ("tickmux: %s", err);
            tm_config_destroy (&config);
            return 1;
        }
        for (size_t i = 0; i < config->providers_count; i++)
            zsys_info ("tickmux: the core's provider %s (%s)", config->providers [i].name,
                       config->providers [i].kind);
    }
    //  libcurl's global state, before any actor thread exists (the REST actors use it)
    curl_global_init (CURL_GLOBAL_DEFAULT);
    //  Sinks first: the gateway, the analytics, the arbiter, the normalizer, the providers;
    //  on an edge the upstream link stands for everything after the analytics.
    s_actors_t actors = { { NULL }, { NULL }, 0 };
    int rc = s_start (&actors, "gateway", tm_gateway_actor, config);
    if (rc == 0)
        rc = s_start (&actors, "analytics", tm_analytics_actor, config);
    zactor_t *feed = NULL;
    if (rc == 0 && edge)
        rc = s_start (&actors, "upstream", tm_upstream_actor, config);
    if (rc == 0 && !edge && config->feed_bind [0]) {
        rc = s_start (&actors, "feed", tm_feed_actor, config);
        feed = rc == 0 ? actors.actors [actors.count - 1] : NULL;
    }
    if (rc == 0 && !edge)
        rc = s_start (&actors, "arbiter", tm_arbiter_actor, config);
    if (rc == 0 && !edge)
        rc = s_start (&actors, "normalizer", tm_normalizer_actor, config);
    for (size_t i = 0; rc == 0 && !edge && i < config->providers_count; i++)
        rc = s_start (&actors, config->providers [i].name,
                      streq (config->providers [i].kind, "ZERODHA") ? tm_zerodha_actor
                      : streq (config->providers [i].kind, "TRUEDATA") ? tm_truedata_actor
                      : tm_sim_actor, &config->providers [i]);
    if (rc) {
        s_stop_all (&actors);
        tm_config_destroy (&config);
        curl_global_cleanup ();
        return 1;
    }
    int listen_port = 0;
    zsock_send (actors.actors [0], "s", "PORT");
    char *reply = NULL;
    zsock_recv (actors.actors [0], "si", &reply, &listen_port);
    free (reply);
    const char *host = streq (config->interface, "0.0.0.0") ? "0.0.0.0" : config->interface;
    if (feed) {
        char *endpoint = NULL, *snapshot = NULL;
        zsock_send (feed, "s", "ENDPOINTS");
        zsock_recv (feed, "sss", &reply, &endpoint, &snapshot);
        //  Tests and scripts read this line to learn the feed's ports; keep its shape.
        fprintf (stderr, "tickmux: feed on %s snapshot %s\n", endpoint, snapshot);
        free (reply);
        free (endpoint);
        free (snapshot);
        reply = NULL;
    }
    //  Tests and scripts read this line to learn the port; keep its shape.
    fprintf (stderr, "tickmux: gateway listening on %s://%s:%d/ws\n",
             config->tls_cert [0] ? "wss" : "ws", host, listen_port);
    fflush (stderr);

    uint64_t watchdog_us = 0;
    if (sd_watchdog_enabled (0, &watchdog_us) <= 0)
        watchdog_us = 0;
    sd_notifyf (0, "READY=1\nSTATUS=serving on port %d", listen_port);

    //  Wait for SIGINT/SIGTERM (CZMQ's handler sets zsys_interrupted and wakes the poller);
    //  SIGHUP reloads
    zlistx_t *configs = zlistx_new ();
    zlistx_set_destructor (configs, s_config_free);
    zlistx_add_end (configs, config);
    zpoller_t *poller = zpoller_new (NULL);
    int timeout = watchdog_us ? (int) (watchdog_us / 2000) : 1000;
    while (!zsys_interrupted) {
        zpoller_wait (poller, timeout);
        if (s_reload_wanted && !zsys_interrupted) {
            s_reload_wanted = 0;
            sd_notify (0, "RELOADING=1");
            s_reload (config_path, configs, actors.actors [0], port);
            sd_notify (0, "READY=1");
        }
        if (watchdog_us && !zsys_interrupted && s_actors_answer (&actors, timeout / 2))
            sd_notify (0, "WATCHDOG=1");
    }
    zpoller_destroy (&poller);
    sd_notify (0, "STOPPING=1");
    zsys_info ("tickmux: stopping");
    s_drain (actors.actors [0]);
    s_stop_all (&actors);
    zlistx_destroy (&configs);              //  The first is config, then each reload
    zsys_info ("tickmux: stopped");
    curl_global_cleanup ();
    return 0;
}
