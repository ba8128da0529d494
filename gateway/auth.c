//  auth - API tokens and per-client limits (see auth.h)

#include "tickmux.h"
#include <openssl/crypto.h>
#include "auth.h"

const tm_token_t *
tm_auth_find (const tm_config_t *config, const char *presented, size_t len)
{
    if (!presented || len == 0 || len > TM_API_TOKEN_MAX)
        return NULL;
    unsigned char hash [32];
    tm_config_hash_token (presented, len, hash);
    const tm_token_t *found = NULL;
    for (size_t i = 0; i < config->tokens_count; i++)
        if (CRYPTO_memcmp (hash, config->tokens [i].hash, sizeof hash) == 0)
            found = &config->tokens [i];
    OPENSSL_cleanse (hash, sizeof hash);
    return found;
}

int
tm_auth_bearer (const char *header, char *out, size_t size)
{
    if (!header || strncasecmp (header, "Bearer ", 7) != 0)
        return -1;
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    size_t len = strlen (token);
    while (len && token [len - 1] == ' ')
        len--;
    if (len == 0 || len >= size || len > TM_API_TOKEN_MAX)
        return -1;
    memcpy (out, token, len);
    out [len] = '\0';
    return (int) len;
}

bool
tm_auth_allows_symbol (const tm_token_t *token, const char *symbol)
{
    if (!token || !token->symbols)
        return true;
    for (size_t i = 0; i < token->symbols_count; i++) {
        const char *allowed = token->symbols [i];
        size_t len = strlen (allowed);
        if (len && allowed [len - 1] == '*' ? strncmp (symbol, allowed, len - 1) == 0
                                           : streq (symbol, allowed))
            return true;
    }
    return false;
}

bool
tm_auth_allows_stream (const tm_token_t *token, const char *stream)
{
    if (!token || token->streams_count == 0)
        return true;
    for (size_t i = 0; i < token->streams_count; i++)
        if (streq (stream, token->streams [i]))
            return true;
    return false;
}

bool
tm_auth_allows_orders (const tm_token_t *token)
{
    return !token || token->orders;
}

bool
tm_bucket_take (tm_bucket_t *bucket, double rate, double burst, int64_t now_ns)
{
    if (bucket->last_ns == 0)
        bucket->tokens = burst;
    else {
        bucket->tokens += (double) (now_ns - bucket->last_ns) / 1e9 * rate;
        if (bucket->tokens > burst)
            bucket->tokens = burst;
    }
    bucket->last_ns = now_ns;
    if (bucket->tokens < 1)
        return false;
    bucket->tokens -= 1;
    return true;
}
