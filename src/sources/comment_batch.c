#include "sources/comment_batch.h"

#include <stdlib.h>
#include <string.h>

#include "sources/fields.h"

void comment_batch_init(comment_batch *b, int64_t max, comment_sink sink, void *ud) {
    memset(b, 0, sizeof *b);
    b->sink = sink;
    b->ud = ud;
    b->max = max > 0 ? max : 0;
    idset_init(&b->seen);
}

static void drop_pending(comment_batch *b) {
    for (size_t i = 0; i < b->n; i++)
        for (int k = 0; k < 5; k++) free(b->owned[i][k]);
    b->n = 0;
}

void comment_batch_free(comment_batch *b) {
    drop_pending(b);
    idset_free(&b->seen);
}

bool comment_batch_full(const comment_batch *b) {
    return b->max && b->delivered + (int64_t)b->n >= b->max;
}

static char *copy_capped(const char *s, size_t max, bool *oom) {
    char *c = field_dup(s, max);
    if (s && !c) *oom = true;
    return c;
}

int comment_batch_flush(comment_batch *b, cerr *e) {
    if (!b->n) return 0;
    int rc = b->sink(b->ud, b->recs, b->n);
    size_t n = b->n;
    drop_pending(b);
    if (rc != 0) return cerr_set(e, CERR_CONFLICT, "comment consumer stopped the fetch");
    b->delivered += (int64_t)n;
    return 0;
}

int comment_batch_add(comment_batch *b, const comment_rec *r, cerr *e) {
    if (!r->comment_id || !*r->comment_id || !r->text || comment_batch_full(b)) return 0;
    if (strlen(r->comment_id) > COMMENT_FIELD_MAX) return 0; /* not an id any platform issues */
    bool added;
    if (idset_add(&b->seen, r->comment_id, &added, e)) return -1;
    if (!added) {
        b->duplicates++;
        return 0;
    }
    bool oom = false;
    char **own = b->owned[b->n];
    own[0] = copy_capped(r->comment_id, COMMENT_FIELD_MAX, &oom);
    own[1] = copy_capped(r->parent_id, COMMENT_FIELD_MAX, &oom);
    own[2] = copy_capped(r->author, COMMENT_FIELD_MAX, &oom);
    own[3] = copy_capped(r->text, COMMENT_TEXT_MAX, &oom);
    own[4] = copy_capped(r->published_at, COMMENT_FIELD_MAX, &oom);
    comment_rec *dst = &b->recs[b->n++];
    *dst = (comment_rec){.comment_id = own[0], .parent_id = own[1], .author = own[2], .text = own[3],
                         .published_at = own[4], .like_count = r->like_count < 0 ? -1 : r->like_count};
    if (oom) return cerr_set(e, CERR_NOMEM, "out of memory");
    if (b->n == COMMENT_BATCH_MAX || comment_batch_full(b)) return comment_batch_flush(b, e);
    return 0;
}
