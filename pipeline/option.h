//  option - listed options: how tickmux names them, and the roots option chains are built on
//
//  One name for an option everywhere, whichever provider lists it: <root><YYMMDD><strike><CE|PE>,
//  e.g. NIFTY24012521500CE, which is TrueData's own form (truedata.md 4). The Kite connector
//  names its NFO options the same way from the instruments dump, so a chain asks every
//  provider for the same symbols.

#ifndef TM_OPTION_H_INCLUDED
#define TM_OPTION_H_INCLUDED

#define TM_OPTION_ROOTS_MAX 64      //  Option roots in one configuration

typedef struct {
    char name [TM_SYMBOL_MAX];      //  Root, as option symbols begin: "NIFTY"
    char underlying [TM_SYMBOL_MAX];    //  Symbol that carries the underlying's price: "NIFTY 50"
    double step;                    //  Rupees between listed strikes
} tm_option_root_t;

//  Write the canonical symbol of an option into buf: root, expiry as YYMMDD, the strike with
//  up to four decimals and no trailing zeros (21500, 2452.5), then type ("CE" or "PE").
//  Returns 0, or -1 when a part is out of range (strike not in (0, 1e9), bad date) or the
//  name does not fit in size bytes.
int
    tm_option_symbol (char *buf, size_t size, const char *root, int year, int month, int day,
                      double strike, const char *type);

//  Parse an expiry date "YYYY-MM-DD" that names a real calendar day. Returns 0 with the parts
//  set, or -1.
int
    tm_option_expiry_parse (const char *text, int *year, int *month, int *day);

#endif
