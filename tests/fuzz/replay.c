//  replay - run a fuzz target over its corpus once, as a TAP test
//
//  Linked with one fuzz_*.c in place of libFuzzer, so every build replays the cases that
//  fuzzing found (STYLE.md 8). Reads every regular file of TM_CORPUS, or of the files and
//  directories given as arguments, in name order, each into a buffer of exactly its size so
//  a read past the end shows under valgrind and the sanitizers. A corpus with no files is a
//  failure: a missing or misnamed directory must not pass as "nothing to replay".

#include "tickmux.h"

#include <dirent.h>
#include <sys/stat.h>

#ifndef TM_CORPUS
#   error "TM_CORPUS must name the corpus directory (see Makefile.am)"
#endif

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
s_compare (const void *a, const void *b)
{
    return strcmp (*(char * const *) a, *(char * const *) b);
}

//  Replay one file; returns 0, or -1 if it cannot be read.
static int
s_replay_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return -1;
    struct stat st;
    if (fstat (fileno (file), &st) != 0 || st.st_size > TM_BODY_MAX * 4) {
        fclose (file);
        return -1;
    }
    size_t size = (size_t) st.st_size;
    uint8_t *data = malloc (size ? size : 1);
    assert (data);
    size_t got = fread (data, 1, size, file);
    fclose (file);
    if (got != size) {
        free (data);
        return -1;
    }
    printf ("# %s\n", path);
    fflush (stdout);
    LLVMFuzzerTestOneInput (data, size);
    free (data);
    return 0;
}

//  Replay path: a regular file, or every regular file of a directory. Adds to *files.
static int
s_replay (const char *path, size_t *files)
{
    struct stat st;
    if (stat (path, &st) != 0)
        return -1;
    if (S_ISREG (st.st_mode)) {
        if (s_replay_file (path))
            return -1;
        (*files)++;
        return 0;
    }
    DIR *dir = opendir (path);
    if (!dir)
        return -1;
    size_t count = 0, room = 64;
    char **names = malloc (room * sizeof *names);
    assert (names);
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        if (count == room) {
            room *= 2;
            names = realloc (names, room * sizeof *names);
            assert (names);
        }
        names [count] = malloc (strlen (path) + strlen (entry->d_name) + 2);
        assert (names [count]);
        sprintf (names [count], "%s/%s", path, entry->d_name);
        count++;
    }
    closedir (dir);
    qsort (names, count, sizeof *names, s_compare);
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        if (stat (names [i], &st) == 0 && S_ISREG (st.st_mode)) {
            if (s_replay_file (names [i]))
                rc = -1;
            else
                (*files)++;
        }
        free (names [i]);
    }
    free (names);
    return rc;
}

int
main (int argc, char *argv [])
{
    const char *default_paths [] = { TM_CORPUS };
    const char **paths = argc > 1 ? (const char **) argv + 1 : default_paths;
    int count = argc > 1 ? argc - 1 : 1;
    printf ("1..1\n");
    size_t files = 0;
    int rc = 0;
    for (int i = 0; i < count; i++)
        if (s_replay (paths [i], &files)) {
            printf ("# cannot read %s\n", paths [i]);
            rc = -1;
        }
    const char *from = count == 1 ? paths [0] : "the arguments";
    if (rc == 0 && files > 0)
        printf ("ok 1 - replayed %zu corpus files from %s\n", files, from);
    else
        printf ("not ok 1 - replayed %zu corpus files from %s%s\n", files, from,
                files ? " (some could not be read)" : ": no files");
    return rc == 0 && files > 0 ? 0 : 1;
}
