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

#endif
