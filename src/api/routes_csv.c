/* routes_csv.c - GET /api/jobs/{id}/results.csv: streamed page by page (keyset paging in the store),
 * so a million-row job is served in constant memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "core/csv.h"
#include "core/log.h"

#define CSV_PAGE_ROWS 1000

static const char CSV_HEADER[] = "job_id,post_url,platform,post_id,comment_id,parent_id,author,published_at,"
                                 "like_count,text,label,score_negative,score_neutral,score_positive,model\r\n";

typedef struct csv_stream {
    store *st;
    int64_t job_id;
    int after_pos;
    int64_t after_seq;
    bool done;
    buf out;
    size_t off;
    cerr err;
} csv_stream;

static int write_row(void *ud, const result_row *row) {
    csv_stream *c = ud;
    buf *b = &c->out;
    cerr *e = &c->err;
    const char *cells[] = {row->post_url, row->platform, row->post_id, row->comment_id, row->parent_id, row->author,
                           row->published_at};
    if (csv_i64(b, row->job_id, e)) return -1;
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
        if (buf_append(b, ",", 1, e) || csv_field(b, cells[i], true, e)) return -1;
    if (buf_append(b, ",", 1, e)) return -1;
    if (row->like_count >= 0 && csv_i64(b, row->like_count, e)) return -1;
    if (buf_append(b, ",", 1, e) || csv_field(b, row->text, true, e) || buf_append(b, ",", 1, e)) return -1;
    if (row->label) {
        if (buf_puts(b, row->label, e)) return -1;
        for (int k = 0; k < 3; k++)
            if (buf_append(b, ",", 1, e) || csv_prob6(b, row->p[k], e)) return -1;
        if (buf_append(b, ",", 1, e) || csv_field(b, row->model, true, e)) return -1;
    } else if (buf_puts(b, ",,,,", e)) {
        return -1;
    }
    if (buf_append(b, "\r\n", 2, e)) return -1;
    c->after_pos = row->position;
    c->after_seq = row->seq;
    return 0;
}

static ssize_t read_csv(void *cls, uint64_t pos, char *dst, size_t max) {
    (void)pos;
    csv_stream *c = cls;
    while (c->off == c->out.len) {
        if (c->done) return MHD_CONTENT_READER_END_OF_STREAM;
        buf_reset(&c->out);
        c->off = 0;
        int count = 0;
        if (c->st->ops->results_page(c->st, c->job_id, c->after_pos, c->after_seq, CSV_PAGE_ROWS, write_row, c,
                                     &count, &c->err)) {
            /* the client sees a truncated chunked body, never a silently short file */
            log_error("job %lld: CSV export failed: %s", (long long)c->job_id, c->err.msg);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (count < CSV_PAGE_ROWS) c->done = true;
    }
    size_t n = c->out.len - c->off;
    if (n > max) n = max;
    memcpy(dst, c->out.data + c->off, n);
    c->off += n;
    return (ssize_t)n;
}

static void free_csv(void *cls) {
    csv_stream *c = cls;
    buf_free(&c->out);
    free(c);
}

enum MHD_Result route_job_csv(api_request *r, int64_t id) {
    store *st = r->srv->st;
    job_info j;
    cerr e;
    if (st->ops->job_get(st, id, r->admin ? NULL : r->owner, &j, &e)) return reply_store_error(r, &e);
    const char *bom = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "bom");
    if (bom && strcmp(bom, "0") != 0 && strcmp(bom, "1") != 0)
        return reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_parameter", "bom", "bom must be 0 or 1");
    csv_stream *c = calloc(1, sizeof *c);
    if (!c) return MHD_NO;
    c->st = st;
    c->job_id = id;
    c->after_pos = -1;
    c->after_seq = -1;
    buf_init(&c->out, 0);
    /* the header (and BOM) are the first chunk */
    if ((bom && strcmp(bom, "1") == 0 && buf_append(&c->out, "\xEF\xBB\xBF", 3, &e)) ||
        buf_append(&c->out, CSV_HEADER, sizeof CSV_HEADER - 1, &e)) {
        free_csv(c);
        return MHD_NO;
    }
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_csv, c, free_csv);
    if (!resp) {
        free_csv(c);
        return MHD_NO;
    }
    char disp[96];
    snprintf(disp, sizeof disp, "attachment; filename=\"chatter-job-%lld.csv\"", (long long)id);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/csv; charset=utf-8");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}
