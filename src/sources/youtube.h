/* youtube.h - comments from the YouTube Data API v3 (commentThreads.list, replies via comments.list). */
#ifndef CHATTER_SOURCES_YOUTUBE_H
#define CHATTER_SOURCES_YOUTUBE_H

#include <stdint.h>

#include "sources/source.h"

#define YOUTUBE_API_URL_DEFAULT "https://www.googleapis.com/youtube/v3"

extern const source_ops youtube_source_ops;

/* Unix time of the next midnight in US Pacific time (when the daily API quota resets), strictly after
 * now; exposed for tests. */
int64_t youtube_quota_reset_unix(int64_t now);

#endif
