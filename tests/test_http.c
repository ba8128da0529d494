//  test_http - the gateway's HTTP answers without a server: health's 200/503 rule, the stats
//  and metrics formats, and which dashboard files may be served (never one outside www_dir)

#include "tickmux.h"
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>
#include "http.h"
#include "tap.h"

static tm_http_stats_t
s_stats (tm_state_t first, tm_state_t second)
{
    tm_http_stats_t stats = { .clients = 3, .subscriptions = 7, .uptime_s = 12,
                              .dropped_frames = 1, .bus_gaps = 2, .providers_count = 2 };
    stats.providers [0] = (tm_http_provider_t) { .name = "SIM", .kind = "SIM", .state = first,
        .reason = "", .status_age_ms = 40, .messages_in = 1000, .messages_out = 900,
        .errors = 5 };
    stats.providers [1] = (tm_http_provider_t) { .name = "SIM2", .kind = "SIM", .state = second,
        .reason = "not yet", .status_age_ms = -1 };
    return stats;
}

//  GET path; returns the parsed JSON body (caller decrefs), or NULL if it is not JSON.
static json_t *
s_get_json (const char *path, const tm_http_stats_t *stats, unsigned int *status)
{
    const char *type;
    size_t size;
    char *body = tm_http_answer (path, stats, NULL, status, &type, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (body);
    CU_ASSERT_STRING_EQUAL (type, "application/json");
    CU_ASSERT (size == strlen (body) && body [size - 1] == '\n');
    json_t *doc = json_loadb (body, size, 0, NULL);
    free (body);
    return doc;
}

static void
test_health (void)
{
    unsigned int status;
    tm_http_stats_t stats = s_stats (TM_STATE_CONNECTED, TM_STATE_CONNECTING);
    json_t *doc = s_get_json ("/ws/health", &stats, &status);
    CU_ASSERT (status == 200);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (doc, "status")), "ok");
    json_t *providers = json_object_get (doc, "providers");
    CU_ASSERT (json_array_size (providers) == 2);
    json_t *second = json_array_get (providers, 1);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (second, "name")), "SIM2");
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (second, "state")), "CONNECTING");
    CU_ASSERT (json_is_null (json_object_get (second, "last_status_age_ms")));
    CU_ASSERT (json_integer_value (json_object_get (json_array_get (providers, 0),
                                                    "last_status_age_ms")) == 40);
    json_decref (doc);

    //  No provider CONNECTED (STALE and AUTH_FAILED do not serve): 503, status down
    stats = s_stats (TM_STATE_STALE, TM_STATE_AUTH_FAILED);
    doc = s_get_json ("/ws/health", &stats, &status);
    CU_ASSERT (status == 503);
    CU_ASSERT_STRING_EQUAL (json_string_value (json_object_get (doc, "status")), "down");
    json_decref (doc);
}

static void
test_stats (void)
{
    unsigned int status;
    tm_http_stats_t stats = s_stats (TM_STATE_CONNECTED, TM_STATE_DISCONNECTED);
    json_t *doc = s_get_json ("/ws/stats", &stats, &status);
    CU_ASSERT (status == 200);
    CU_ASSERT (json_integer_value (json_object_get (doc, "clients")) == 3);
    CU_ASSERT (json_integer_value (json_object_get (doc, "subscriptions")) == 7);
    CU_ASSERT (json_integer_value (json_object_get (doc, "bus_gaps")) == 2);
    json_t *sim = json_object_get (json_object_get (doc, "providers"), "SIM");
    CU_ASSERT (json_integer_value (json_object_get (sim, "messages_in")) == 1000);
    CU_ASSERT (json_integer_value (json_object_get (sim, "messages_out")) == 900);
    CU_ASSERT (json_integer_value (json_object_get (sim, "errors")) == 5);
    json_decref (doc);
}

static void
test_metrics (void)
{
    unsigned int status;
    const char *type;
    size_t size;
    tm_http_stats_t stats = s_stats (TM_STATE_CONNECTED, TM_STATE_DISCONNECTED);
    char *body = tm_http_answer ("/metrics", &stats, NULL, &status, &type, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL (body);
    CU_ASSERT (status == 200);
    CU_ASSERT (strncmp (type, "text/plain; version=0.0.4", 25) == 0);
    CU_ASSERT (strstr (body, "\ntickmux_clients 3\n") != NULL);
    CU_ASSERT (strstr (body, "\ntickmux_bus_gaps_total 2\n") != NULL);
    CU_ASSERT (strstr (body, "tickmux_provider_up{provider=\"SIM\",kind=\"SIM\","
                             "state=\"CONNECTED\"} 1\n") != NULL);
    CU_ASSERT (strstr (body, "tickmux_provider_up{provider=\"SIM2\",kind=\"SIM\","
                             "state=\"DISCONNECTED\"} 0\n") != NULL);
    CU_ASSERT (strstr (body, "tickmux_provider_messages_in_total{provider=\"SIM\"} 1000\n") != NULL);
    CU_ASSERT (strstr (body, "tickmux_provider_errors_total{provider=\"SIM\"} 5\n") != NULL);
    //  Every sample's metric has a TYPE line before it
    char *copy = strdup (body);
    char typed [8192] = " ";
    for (char *line = strtok (copy, "\n"); line; line = strtok (NULL, "\n")) {
        char name [128];
        if (sscanf (line, "# TYPE %127s", name) == 1) {
            strcat (typed, name);
            strcat (typed, " ");
        }
        else
        if (line [0] != '#') {
            size_t len = strcspn (line, "{ ");
            snprintf (name, sizeof name, " %.*s ", (int) len, line);
            //  A histogram's samples are NAME_bucket, NAME_sum and NAME_count
            const char *suffixes [] = { "_bucket", "_sum", "_count" };
            for (size_t k = 0; k < 3 && !strstr (typed, name); k++) {
                size_t cut = strlen (suffixes [k]);
                if (len > cut && strncmp (line + len - cut, suffixes [k], cut) == 0)
                    snprintf (name, sizeof name, " %.*s ", (int) (len - cut), line);
            }
            CU_ASSERT (strstr (typed, name) != NULL);
        }
    }
    free (copy);
    free (body);
}

static void
test_files (void)
{
    char dir [] = "/tmp/tickmux-www-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL (mkdtemp (dir));
    char path [128];
    snprintf (path, sizeof path, "%s/index.html", dir);
    FILE *file = fopen (path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL (file);
    fputs ("<!doctype html><title>t</title>", file);
    fclose (file);
    snprintf (path, sizeof path, "%s/app.js", dir);
    file = fopen (path, "w");
    fputs ("'use strict';", file);
    fclose (file);
    tm_http_stats_t stats = s_stats (TM_STATE_CONNECTED, TM_STATE_CONNECTED);
    unsigned int status;
    const char *type;
    size_t size;

    char *body = tm_http_answer ("/", &stats, dir, &status, &type, &size);
    CU_ASSERT (status == 200 && size == 31 && memcmp (body, "<!doctype html>", 15) == 0);
    CU_ASSERT_STRING_EQUAL (type, "text/html; charset=utf-8");
    free (body);
    body = tm_http_answer ("/app.js", &stats, dir, &status, &type, &size);
    CU_ASSERT (status == 200 && size == 13);
    CU_ASSERT_STRING_EQUAL (type, "text/javascript; charset=utf-8");
    free (body);

    //  Never outside the directory, never a hidden file, a subdirectory or an unknown kind
    const char *refused [] = { "/../etc/passwd", "/..%2fetc", "/sub/app.js", "/.hidden.js",
                               "/app.JS", "/app.sh", "/missing.js", "/%00.js", NULL };
    for (const char **p = refused; *p; p++) {
        body = tm_http_answer (*p, &stats, dir, &status, &type, &size);
        CU_ASSERT_PTR_NOT_NULL (body);
        CU_ASSERT (status == 404);
        CU_ASSERT_STRING_EQUAL (type, "application/json");
        free (body);
    }
    //  No www directory: / is a 404 like any unknown path
    body = tm_http_answer ("/", &stats, "", &status, &type, &size);
    CU_ASSERT (status == 404);
    free (body);
    //  A path that is not UTF-8 still gets its 404 (without the echo)
    body = tm_http_answer ("/\xff\xfe", &stats, dir, &status, &type, &size);
    CU_ASSERT_PTR_NOT_NULL (body);
    CU_ASSERT (status == 404);
    free (body);

    snprintf (path, sizeof path, "%s/index.html", dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/app.js", dir);
    unlink (path);
    rmdir (dir);
}

int
tm_http_tests (void)
{
    CU_pSuite suite = CU_add_suite ("http", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "health: 200 when one provider is CONNECTED, else 503", test_health)
    ||  !CU_add_test (suite, "stats: the figures of the snapshot", test_stats)
    ||  !CU_add_test (suite, "metrics: Prometheus text with a TYPE per metric", test_metrics)
    ||  !CU_add_test (suite, "files: the dashboard, and nothing outside it", test_files))
        return -1;
    return 0;
}
