/* comment_batch.h - collects one page of comment records for a sink: copies and caps every field, drops
 * ids already delivered in this fetch, stops at the per-post limit. Shared by the TikTok, Instagram and
 * Apify sources so they count "delivered" the same way. One per fetch; not thread-safe. */
#ifndef CHATTER_SOURCES_COMMENT_BATCH_H
#define CHATTER_SOURCES_COMMENT_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "sources/idset.h"
#include "sources/source.h"

#define COMMENT_BATCH_MAX 100

typedef struct comment_batch {
    comment_sink sink;
    void *ud;
    int64_t max;        /* 0 = no limit */
    int64_t delivered;  /* records the sink accepted */
    int64_t duplicates; /* records dropped because their id came before */
    idset seen;
    size_t n;
    comment_rec recs[COMMENT_BATCH_MAX];
    char *owned[COMMENT_BATCH_MAX][5];
} comment_batch;

void comment_batch_init(comment_batch *b, int64_t max, comment_sink sink, void *ud);
void comment_batch_free(comment_batch *b);
/* True once delivered + pending reached the limit: the caller stops paging. */
bool comment_batch_full(const comment_batch *b);
/* Copies r (text capped at COMMENT_TEXT_MAX, other fields at COMMENT_FIELD_MAX, on a UTF-8 boundary).
 * A record without id or text, a repeated id, or one past the limit is dropped (returns 0). Passes a full
 * page to the sink. -1 when the sink aborted (CERR_CONFLICT) or memory ran out. */
int comment_batch_add(comment_batch *b, const comment_rec *r, cerr *e) CH_MUST_USE;
int comment_batch_flush(comment_batch *b, cerr *e) CH_MUST_USE;

#endif
