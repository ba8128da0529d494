//  login - `tickmux login zerodha`: the Kite login from a terminal (DESIGN.md 9)

#ifndef TM_LOGIN_H_INCLUDED
#define TM_LOGIN_H_INCLUDED

//  Run the login for provider kind `kind` ("zerodha") with the daemon's configuration: print
//  Kite's login URL, read the redirect URL (or the bare request_token) from in, exchange it,
//  save the access token in the state directory. Returns the process exit status.
int
    tm_login_run (const char *kind, const tm_config_t *config, FILE *in, FILE *out);

#endif
