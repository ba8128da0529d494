//  login - `tickmux login zerodha` (see login.h)
//
//  Blocking libcurl is fine here: this is a one-shot command, not an actor.

#include "tickmux.h"
#include <curl/curl.h>
#include "kite_session.h"
#include "login.h"

typedef struct {
    char *data;                     //  Response so far
    size_t size;                    //  Bytes in data
} s_body_t;

static size_t
s_write (char *ptr, size_t size, size_t nmemb, void *userdata)
{
    s_body_t *body = (s_body_t *) userdata;
    size_t n = size * nmemb;
    if (body->size + n > 1024 * 1024)
        return 0;
    char *data = (char *) realloc (body->data, body->size + n + 1);
    if (!data)
        return 0;
    memcpy (data + body->size, ptr, n);
    body->data = data;
    body->size += n;
    body->data [body->size] = '\0';
    return n;
}

//  The request_token out of what the user pasted: the redirect URL, or the token itself.
static int
s_request_token (const char *line, char *token, size_t size)
{
    const char *at = strstr (line, "request_token=");
    const char *start = at ? at + strlen ("request_token=") : line;
    size_t len = strcspn (start, "&# \t\r\n");
    if (len == 0 || len >= size)
        return -1;
    memcpy (token, start, len);
    token [len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!((token [i] >= 'A' && token [i] <= 'Z') || (token [i] >= 'a' && token [i] <= 'z')
        ||    (token [i] >= '0' && token [i] <= '9')))
            return -1;
    return 0;
}

int
tm_login_run (const char *kind, const tm_config_t *config, FILE *in, FILE *out)
{
    if (!streq (kind, "zerodha")) {
        fprintf (stderr, "tickmux login: unknown provider kind '%s' (expected zerodha)\n", kind);
        return 2;
    }
    const tm_provider_config_t *provider = NULL;
    for (size_t i = 0; i < config->providers_count && !provider; i++)
        if (streq (config->providers [i].kind, "ZERODHA"))
            provider = &config->providers [i];
    char key_buf [TM_SECRET_MAX], secret_buf [TM_SECRET_MAX];
    const char *key = tm_config_secret ("ZERODHA_API_KEY", key_buf, sizeof key_buf);
    const char *secret = tm_config_secret ("ZERODHA_API_SECRET", secret_buf, sizeof secret_buf);
    if (!provider || !key || !*key || !secret || !*secret) {
        fprintf (stderr, "tickmux login: set ZERODHA_API_KEY and ZERODHA_API_SECRET (and "
                 "configure a ZERODHA provider, or leave the config out)\n");
        return 1;
    }
    const char *login = getenv ("ZERODHA_LOGIN_URL");
    fprintf (out, "Open this URL, log in to Kite, then paste here the URL Kite sends you back "
             "to (or its request_token):\n\n    %s%s\n\n> ", login && *login ? login
             : TM_KITE_LOGIN_URL, key);
    fflush (out);
    char line [2048];
    char request_token [TM_KITE_KEY_MAX];
    if (!fgets (line, sizeof line, in) || s_request_token (line, request_token,
                                                           sizeof request_token)) {
        fprintf (stderr, "tickmux login: no request_token in what was pasted\n");
        return 1;
    }
    const char *api = provider->api_url [0] ? provider->api_url : getenv ("ZERODHA_API_URL");
    char url [TM_PATH_MAX + 32];
    snprintf (url, sizeof url, "%s/session/token", api && *api ? api : "https://api.kite.trade");
    char *form = tm_kite_session_body (key, request_token, secret);
    s_body_t body = { NULL, 0 };
    CURL *easy = curl_easy_init ();
    struct curl_slist *headers = curl_slist_append (NULL, "X-Kite-Version: 3");
    curl_easy_setopt (easy, CURLOPT_URL, url);
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (easy, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode rc = curl_easy_perform (easy);
    long status = 0;
    curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all (headers);
    curl_easy_cleanup (easy);
    free (form);
    int result = 1;
    char token [TM_KITE_KEY_MAX], err [256];
    if (rc != CURLE_OK)
        fprintf (stderr, "tickmux login: POST %s: %s\n", url, curl_easy_strerror (rc));
    else
    if (tm_kite_session_parse (body.data ? body.data : "", body.size, token, sizeof token,
                               err, sizeof err))
        fprintf (stderr, "tickmux login: Kite answered %ld: %s\n", status, err);
    else {
        char path [TM_PATH_MAX + 64];
        tm_kite_token_path (config->state_dir, provider->name, path, sizeof path);
        if (tm_kite_token_save (path, token))
            fprintf (stderr, "tickmux login: cannot write %s: %s\n", path, strerror (errno));
        else {
            //  The token itself is a secret: say where it is, never what it is.
            fprintf (out, "tickmux: access token saved in %s; a running tickmux picks it up "
                     "within 5 seconds\n", path);
            result = 0;
        }
    }
    free (body.data);
    return result;
}
