//  auth - who a client is and what it may have: API tokens and per-client limits
//
//  A plain module (no lws), so it is tested without a server. Tokens come from the config
//  (token blocks) as SHA-256 hashes; a presented token is hashed once and compared with every
//  configured hash in constant time, with no early exit, so neither the time taken nor the
//  order of the tokens tells a guesser anything. With no token configured, authentication is
//  off and every client may have everything.

#ifndef TM_AUTH_H_INCLUDED
#define TM_AUTH_H_INCLUDED

//  The token whose hash matches presented (len bytes), or NULL. Borrowed from config.
const tm_token_t *
    tm_auth_find (const tm_config_t *config, const char *presented, size_t len);

//  The token in an "Authorization" header value ("Bearer TOKEN", the scheme in any case) into
//  out. Returns its length, or -1 when the value is not a bearer token or too long.
int
    tm_auth_bearer (const char *header, char *out, size_t size);

//  What a token allows. token NULL (authentication off) allows everything.
bool
    tm_auth_allows_symbol (const tm_token_t *token, const char *symbol);
bool
    tm_auth_allows_stream (const tm_token_t *token, const char *stream);
bool
    tm_auth_allows_orders (const tm_token_t *token);

//  A token bucket: rate a second, holding at most burst
typedef struct {
    double tokens;                  //  Left now
    int64_t last_ns;                //  When tokens was last brought up to date (0: never)
} tm_bucket_t;

//  Take one token at now_ns (monotonic). Returns true, or false when the bucket is empty.
bool
    tm_bucket_take (tm_bucket_t *bucket, double rate, double burst, int64_t now_ns);

#endif
