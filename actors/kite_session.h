//  kite_session - Kite's login: the request_token exchange and the saved access token
//
//  A plain module (no sockets) used by the connector, the gateway's login callback (through
//  the connector) and `tickmux login zerodha`, written from ../shared/protocols/kite.md 2.
//  The access token is a secret: it is written with mode 0600, never logged, never printed.

#ifndef TM_KITE_SESSION_H_INCLUDED
#define TM_KITE_SESSION_H_INCLUDED

#define TM_KITE_KEY_MAX         128     //  api_key, request_token, access_token, with the NUL
#define TM_KITE_LOGIN_URL       "https://kite.zerodha.com/connect/login?v=3&api_key="

//  checksum = lowercase hex SHA-256 of api_key || request_token || api_secret (kite.md 2).
//  hex must hold 65 bytes.
void
    tm_kite_checksum (const char *api_key, const char *request_token, const char *api_secret,
                      char *hex);

//  The form body of POST /session/token, URL-encoded. Caller owns return value (free ()).
char *
    tm_kite_session_body (const char *api_key, const char *request_token, const char *api_secret);

//  Take data.access_token out of a /session/token answer. Returns 0, or -1 with err holding
//  the server's message (e.g. "Invalid `checksum`.") or why the answer is not one.
int
    tm_kite_session_parse (const char *json, size_t len, char *token, size_t token_size,
                           char *err, size_t err_size);

//  The file the access token is kept in: <state_dir>/zerodha-<provider>.token
void
    tm_kite_token_path (const char *state_dir, const char *provider, char *path, size_t size);

//  Save the token (atomically: a temp file renamed over the old one, mode 0600). Returns 0/-1.
int
    tm_kite_token_save (const char *path, const char *token);

//  Load a saved token. Returns 0, or -1 when there is none or it is unreadable or malformed.
int
    tm_kite_token_load (const char *path, char *token, size_t token_size);

#endif
