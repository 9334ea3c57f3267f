/* apify.h - the Apify provider: one source (platform PLATFORM_NONE) that serves TikTok, Instagram and
 * YouTube posts through the Apify actors of platform-apis.md section 5. */
#ifndef CHATTER_SOURCES_APIFY_H
#define CHATTER_SOURCES_APIFY_H

#include "sources/source.h"

extern const source_ops apify_source_ops;

/* "owner~name" of the actor used for p, or NULL. */
const char *apify_actor_for(platform p);

#endif
