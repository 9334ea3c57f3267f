/* vader.h - VADER (Hutto & Gilbert 2014), a C port of vaderSentiment's polarity_scores at commit
 * 44fc044cd877. Registered in analyzer.c; the functions below expose the reference's four numbers
 * (for tests, benchmarks and anyone who wants the compound score). */
#ifndef CHATTER_SENTIMENT_VADER_H
#define CHATTER_SENTIMENT_VADER_H

#include <stddef.h>

#include "core/err.h"
#include "sentiment/analyzer.h"

extern const analyzer_ops vader_analyzer_ops;

#define VADER_MODEL_ID "vader@44fc044cd877"
/* Longer texts are scored on their first VADER_MAX_TEXT_BYTES bytes (cut at a character boundary) and
 * flagged truncated. The reference's "but" rule is quadratic in the number of words; this bounds it. */
#define VADER_MAX_TEXT_BYTES 65536

/* polarity_scores(text): out = {neg, neu, pos, compound}, rounded as the reference does (Python round()
 * to 3 and 4 places). Invalid UTF-8 bytes are read as U+FFFD. model is what vader_analyzer_ops.load made.
 * vader_polarity allocates a scratch session per call; vader_session_polarity reuses the session's. */
/* The label chatter stores for a (rounded) compound score: >= 0.05 positive, <= -0.05 negative, else
 * neutral (the thresholds VADER's authors recommend). */
sentiment_label vader_label(double compound);

int vader_polarity(const void *model, const char *text, size_t len, double out[4], cerr *e) CH_MUST_USE;
int vader_session_polarity(void *session, const char *text, size_t len, double out[4], cerr *e) CH_MUST_USE;

#endif
