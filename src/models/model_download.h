/* model_download.h - one resumable HTTP(S) download into a .part file (used by model_fetch.c only). */
#ifndef CHATTER_MODELS_MODEL_DOWNLOAD_H
#define CHATTER_MODELS_MODEL_DOWNLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* Downloads url into part_path, continuing after the bytes already there (Range request; a server that
 * answers 200 instead of 206 makes it start over). Refuses more than max_bytes in total. Errors:
 * CERR_NOTFOUND (HTTP 404), CERR_UPSTREAM (other HTTP errors), CERR_NETWORK (offline, interrupted: the
 * .part file is kept for the next try), CERR_TOOBIG, CERR_IO. label names the file in the meter and errors. */
int model_download(const char *url, const char *part_path, uint64_t max_bytes, bool progress, const char *label,
                   cerr *e) CH_MUST_USE;

#endif
