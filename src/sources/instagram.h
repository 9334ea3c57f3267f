/* instagram.h - the Instagram Graph API source and its process-wide client (shortcode -> media id cache). */
#ifndef CHATTER_SOURCES_INSTAGRAM_H
#define CHATTER_SOURCES_INSTAGRAM_H

#include <stdint.h>

#include "sources/source.h"

/* ctx_new creates an instagram_client; pass it as fetch_request.ctx to every Instagram fetch. */
extern const source_ops instagram_source_ops;

typedef struct instagram_client instagram_client;
instagram_client *instagram_client_new(void);
void instagram_client_free(instagram_client *c);
/* How many times the account's media were listed (for tests and status). */
int64_t instagram_client_listings(instagram_client *c);

/* Minutes until Graph lets the app call again, the largest estimated_time_to_regain_access in the
 * X-Business-Use-Case-Usage (buc) and X-App-Usage (app) header values (either may be NULL or empty);
 * -1 when neither names one. Throttling (codes 4, 17, 32, 613, 80002) sets fetch_outcome.quota with
 * retry_after_ms from this, or an hour when the headers say nothing. */
int64_t instagram_regain_minutes(const char *buc, const char *app);

#endif
