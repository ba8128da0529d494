//  test_kite_session - the request_token exchange and the saved access token (kite.md 2)

#include "tickmux.h"
#include <sys/stat.h>
#include <unistd.h>
#include "kite_session.h"
#include "tap.h"

static void
test_checksum (void)
{
    //  kite.md 2's worked example
    char hex [65];
    tm_kite_checksum ("kitefront", "h5DkLk8Z2ZDwFXZHq3LfSP1XE2tp0hQx",
                      "sdv7h31r2fh9c9q1n2kqe1ofb5sr8a1w", hex);
    CU_ASSERT_STRING_EQUAL (hex, "7512764c024f64e2693d0b290d256a6cc29e007785e500c14e6db81661b13116");
    //  SHA-256 of the empty string: no separators are added between the parts
    tm_kite_checksum ("", "", "", hex);
    CU_ASSERT_STRING_EQUAL (hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_body (void)
{
    char *body = tm_kite_session_body ("kite front", "a&b=c", "secret");
    char hex [65];
    tm_kite_checksum ("kite front", "a&b=c", "secret", hex);
    char expected [256];
    snprintf (expected, sizeof expected, "api_key=kite%%20front&request_token=a%%26b%%3Dc"
              "&checksum=%s", hex);
    CU_ASSERT_STRING_EQUAL (body, expected);
    free (body);
}

static void
test_parse (void)
{
    //  The shape of kite-fixtures/generate_session.json, trimmed
    const char *ok = "{\"status\":\"success\",\"data\":{\"user_id\":\"XX0000\","
                     "\"access_token\":\"XXXXXX\",\"public_token\":\"XXXXXXXX\"}}";
    char token [TM_KITE_KEY_MAX], err [256];
    CU_ASSERT (tm_kite_session_parse (ok, strlen (ok), token, sizeof token, err, sizeof err) == 0);
    CU_ASSERT_STRING_EQUAL (token, "XXXXXX");
    //  kite-fixtures README: a bad checksum is a 403 TokenException
    const char *bad = "{\"status\":\"error\",\"message\":\"Invalid `checksum`.\",\"data\":null,"
                      "\"error_type\":\"TokenException\"}";
    CU_ASSERT (tm_kite_session_parse (bad, strlen (bad), token, sizeof token, err, sizeof err) == -1);
    CU_ASSERT_STRING_EQUAL (err, "TokenException: Invalid `checksum`.");
    const char *garbage [] = { "", "[]", "{\"status\":\"success\"}", "{\"status\":\"success\","
                               "\"data\":{\"access_token\":7}}", "not json", NULL };
    for (const char **g = garbage; *g; g++)
        CU_ASSERT (tm_kite_session_parse (*g, strlen (*g), token, sizeof token, err, sizeof err) == -1);
    //  A token too long for the buffer is refused, not cut
    char small [4];
    CU_ASSERT (tm_kite_session_parse (ok, strlen (ok), small, sizeof small, err, sizeof err) == -1);
}

static void
test_token_file (void)
{
    char dir [] = "/tmp/tickmux-token-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL (mkdtemp (dir));
    char path [256];
    tm_kite_token_path (dir, "ZERODHA", path, sizeof path);
    char expected [256];
    snprintf (expected, sizeof expected, "%s/zerodha-ZERODHA.token", dir);
    CU_ASSERT_STRING_EQUAL (path, expected);
    char token [TM_KITE_KEY_MAX];
    CU_ASSERT (tm_kite_token_load (path, token, sizeof token) == -1);     //  None yet
    CU_ASSERT (tm_kite_token_save (path, "q9KfB3ZrP1xw7LmN2cVd8TgH4sYu6EoA") == 0);
    struct stat st;
    CU_ASSERT (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CU_ASSERT (tm_kite_token_load (path, token, sizeof token) == 0);
    CU_ASSERT_STRING_EQUAL (token, "q9KfB3ZrP1xw7LmN2cVd8TgH4sYu6EoA");
    //  Saving again replaces it
    CU_ASSERT (tm_kite_token_save (path, "second") == 0);
    CU_ASSERT (tm_kite_token_load (path, token, sizeof token) == 0);
    CU_ASSERT_STRING_EQUAL (token, "second");
    //  A file with a space or a control byte in it is not a token
    FILE *file = fopen (path, "w");
    fputs ("two words\n", file);
    fclose (file);
    CU_ASSERT (tm_kite_token_load (path, token, sizeof token) == -1);
    unlink (path);
    rmdir (dir);
    //  A directory that does not exist cannot be written
    CU_ASSERT (tm_kite_token_save ("/nonexistent-dir/zerodha.token", "x") == -1);
}

int
tm_kite_session_tests (void)
{
    CU_pSuite suite = CU_add_suite ("kite_session", NULL, NULL);
    if (!suite
    ||  !CU_add_test (suite, "checksum: kite.md 2's worked example", test_checksum)
    ||  !CU_add_test (suite, "body: form-encoded with the checksum", test_body)
    ||  !CU_add_test (suite, "parse: access_token, or the server's error", test_parse)
    ||  !CU_add_test (suite, "token file: 0600, atomic, validated", test_token_file))
        return -1;
    return 0;
}
