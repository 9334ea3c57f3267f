/* model_fetch.h - installs a known model's files into DEST/NAME/, downloaded or copied from a local folder,
 * each checked against a pinned sha256 before it is renamed into place.
 *
 * - Downloads go through libcurl to NAME/FILE.part and resume with a Range request after an interruption;
 *   a file only appears under its real name once its digest matched, so a half-done fetch never looks
 *   installed. Files already installed with the right digest are skipped.
 * - A file with no pinned digest is trusted on first use: its sha256 is recorded in NAME/CHECKSUMS and
 *   printed, and later fetches must reproduce it. CHECKSUMS lists every installed file (sha256sum format,
 *   so `sha256sum -c CHECKSUMS` re-checks an installation).
 * - NAME/REVISION holds the pinned upstream commit; the analyzers put it in the model id stored with results.
 * - Without a DEST the files go where the analyzers look: analyzer_model_path(NAME) (sentiment/analyzer.h). */
#ifndef CHATTER_MODELS_MODEL_FETCH_H
#define CHATTER_MODELS_MODEL_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MODEL_FILE_MAX_DIGESTS 2

typedef struct model_file_spec {
    const char *name;                           /* file name inside the model folder */
    const char *url;                            /* where to download it */
    const char *sha256[MODEL_FILE_MAX_DIGESTS]; /* accepted digests; all NULL = trust on first use */
    uint64_t max_bytes;                         /* hard cap on the download */
    bool optional;                              /* a missing source is not an error */
} model_file_spec;

typedef struct model_spec {
    const char *name;     /* "vader", "roberta": the folder under DEST */
    const char *source;   /* upstream repository, e.g. "cardiffnlp/twitter-roberta-base-sentiment-latest" */
    const char *revision; /* the pinned upstream commit, written to NAME/REVISION (NULL: none) */
    const model_file_spec *files;
    size_t n_files;
} model_spec;

/* The built-in table; NULL when name is unknown. */
const model_spec *model_spec_find(const char *name);
/* "vader, roberta": for messages. */
const char *model_spec_names(void);

/* Installs model `name` into dest_dir/name/ (dest_dir NULL = default). from_dir non-NULL copies the files
 * from that folder instead of downloading. progress: draw a transfer meter on stderr. */
int model_fetch(const char *name, const char *from_dir, const char *dest_dir, bool progress, cerr *e) CH_MUST_USE;
/* The same for any spec (tests point one at a local server). */
int model_fetch_spec(const model_spec *spec, const char *from_dir, const char *dest_dir, bool progress,
                     cerr *e) CH_MUST_USE;

#endif
