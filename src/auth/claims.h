/* claims.h - the registered-claim checks of a verified JWT (RFC 7519 §4.1, RFC 9068 §4). Internal to auth/. */
#ifndef CHATTER_AUTH_CLAIMS_H
#define CHATTER_AUTH_CLAIMS_H

#include <stdint.h>

#include "auth/oidc.h"

typedef struct claims_policy {
    const char *issuer;
    const char *audience;
    int64_t leeway_s;
    const char *admin_claim; /* NULL: nobody is admin */
    const char *admin_value;
} claims_policy;

/* Checks the claims (a JSON object text) at time `now`. On success fills *out and returns 0; otherwise
 * returns -1 and sets *reason to a fixed message (never echoing claim values: it goes to clients). */
int claims_check(const char *claims_json, const claims_policy *p, int64_t now, auth_identity *out,
                 const char **reason);

#endif
