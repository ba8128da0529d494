//  kite_session - Kite's request_token exchange and the saved access token (see .h)

#include "tickmux.h"
#include <jansson.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>
#include "kite_session.h"

void
tm_kite_checksum (const char *api_key, const char *request_token, const char *api_secret,
                  char *hex)
{
    unsigned char digest [EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
    assert (ctx);
    EVP_DigestInit_ex (ctx, EVP_sha256 (), NULL);
    EVP_DigestUpdate (ctx, api_key, strlen (api_key));
    EVP_DigestUpdate (ctx, request_token, strlen (request_token));
    EVP_DigestUpdate (ctx, api_secret, strlen (api_secret));
    EVP_DigestFinal_ex (ctx, digest, &size);
    EVP_MD_CTX_free (ctx);
    for (unsigned int i = 0; i < size && i < 32; i++)
        snprintf (hex + i * 2, 3, "%02x", digest [i]);
    hex [64] = '\0';
}

char *
tm_kite_session_body (const char *api_key, const char *request_token, const char *api_secret)
{
    char checksum [65];
    tm_kite_checksum (api_key, request_token, api_secret, checksum);
    size_t size = 3 * (strlen (api_key) + strlen (request_token)) + 128;
    char *body = (char *) zmalloc (size);
    assert (body);
    strcpy (body, "api_key=");
    tm_url_append (body, size, api_key);
    strcat (body, "&request_token=");
    tm_url_append (body, size, request_token);
    strcat (body, "&checksum=");
    strcat (body, checksum);
    return body;
}

int
tm_kite_session_parse (const char *json, size_t len, char *token, size_t token_size,
                       char *err, size_t err_size)
{
    json_t *doc = json_loadb (json, len, 0, NULL);
    if (!json_is_object (doc)) {
        snprintf (err, err_size, "the answer of /session/token is not a JSON object");
        json_decref (doc);
        return -1;
    }
    const char *status = json_string_value (json_object_get (doc, "status"));
    const char *value = json_string_value (json_object_get (json_object_get (doc, "data"),
                                                            "access_token"));
    int rc = -1;
    if (status && streq (status, "success") && value && *value && strlen (value) < token_size) {
        snprintf (token, token_size, "%s", value);
        rc = 0;
    }
    else {
        const char *message = json_string_value (json_object_get (doc, "message"));
        const char *type = json_string_value (json_object_get (doc, "error_type"));
        snprintf (err, err_size, "%s%s%.200s", type ? type : "", type ? ": " : "",
                  message ? message : "no access_token in the answer");
    }
    json_decref (doc);
    return rc;
}

void
tm_kite_token_path (const char *state_dir, const char *provider, char *path, size_t size)
{
    snprintf (path, size, "%s/zerodha-%s.token", state_dir, provider);
}

int
tm_kite_token_save (const char *path, const char *token)
{
    char temp [TM_PATH_MAX + 16];
    snprintf (temp, sizeof temp, "%s.new", path);
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    size_t len = strlen (token);
    bool ok = write (fd, token, len) == (ssize_t) len && write (fd, "\n", 1) == 1
           && fsync (fd) == 0;
    ok = close (fd) == 0 && ok;
    if (!ok || rename (temp, path) != 0) {
        unlink (temp);
        return -1;
    }
    return 0;
}

int
tm_kite_token_load (const char *path, char *token, size_t token_size)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    char line [TM_KITE_KEY_MAX + 2];
    bool got = fgets (line, sizeof line, file) != NULL;
    fclose (file);
    if (!got)
        return -1;
    line [strcspn (line, "\r\n")] = '\0';
    size_t len = strlen (line);
    if (len == 0 || len >= token_size)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (line [i] <= ' ' || line [i] > '~')
            return -1;
    memcpy (token, line, len + 1);
    return 0;
}
