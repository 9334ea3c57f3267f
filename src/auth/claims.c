#include "auth/claims.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* A NumericDate may carry a fraction; non-numbers and non-finite values are malformed. */
static bool numeric_date(json_t *v, double *out) {
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return isfinite(*out);
}

static bool audience_ok(json_t *aud, const char *want) {
    if (json_is_string(aud)) return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud)) return false;
    size_t i;
    json_t *a;
    json_array_foreach(aud, i, a) if (json_is_string(a) && strcmp(json_string_value(a), want) == 0) return true;
    return false;
}

/* Follows a dotted path ("realm_access.roles") through nested objects. */
static json_t *claim_at(json_t *claims, const char *path) {
    char seg[128];
    json_t *cur = claims;
    while (cur && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n == 0 || n >= sizeof seg || !json_is_object(cur)) return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        cur = json_object_get(cur, seg);
        path += n + (dot ? 1 : 0);
    }
    return cur;
}

/* The value matches a string claim exactly or as one word of a space-separated list ("scope"/"scp"),
 * or any string element of an array claim ("roles", "groups"). */
static bool has_value(json_t *c, const char *want) {
    if (json_is_string(c)) {
        const char *s = json_string_value(c);
        size_t n = strlen(want);
        if (n == 0) return false;
        for (const char *p = s; (p = strstr(p, want)) != NULL; p++) {
            bool start = p == s || p[-1] == ' ';
            bool end = p[n] == '\0' || p[n] == ' ';
            if (start && end) return true;
        }
        return false;
    }
    if (!json_is_array(c)) return false;
    size_t i;
    json_t *a;
    json_array_foreach(c, i, a) if (json_is_string(a) && strcmp(json_string_value(a), want) == 0) return true;
    return false;
}

static bool printable(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
    return true;
}

int claims_check(const char *claims_json, const claims_policy *p, int64_t now, auth_identity *out,
                 const char **reason) {
    json_error_t je;
    json_t *c = json_loads(claims_json, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    double exp = 0, nbf = 0, iat = 0;
    const char *iss, *sub;
    json_t *v;
    if (!json_is_object(c)) {
        *reason = "malformed token claims";
    } else if (!(iss = json_string_value(json_object_get(c, "iss"))) || strcmp(iss, p->issuer) != 0) {
        *reason = "token from another issuer";
    } else if (!audience_ok(json_object_get(c, "aud"), p->audience)) {
        *reason = "token not intended for this audience";
    } else if (!numeric_date(json_object_get(c, "exp"), &exp)) {
        *reason = "token has no valid exp";
    } else if ((double)now >= exp + (double)p->leeway_s) {
        *reason = "token expired";
    } else if ((v = json_object_get(c, "nbf")) && !numeric_date(v, &nbf)) {
        *reason = "token has a malformed nbf";
    } else if (v && (double)now < nbf - (double)p->leeway_s) {
        *reason = "token not yet valid";
    } else if ((v = json_object_get(c, "iat")) && !numeric_date(v, &iat)) {
        *reason = "token has a malformed iat";
    } else if (v && iat > (double)now + (double)p->leeway_s) {
        *reason = "token issued in the future";
    } else if (!(sub = json_string_value(json_object_get(c, "sub"))) || !*sub || strlen(sub) >= sizeof out->sub ||
               !printable(sub)) {
        *reason = "token has no usable sub";
    } else if (snprintf(out->owner, sizeof out->owner, "%s|%s", iss, sub) >= (int)sizeof out->owner) {
        *reason = "token issuer and subject too long";
    } else {
        strcpy(out->sub, sub);
        out->admin = false;
        if (p->admin_claim && p->admin_value) {
            json_t *ac = claim_at(c, p->admin_claim);
            out->admin = ac && has_value(ac, p->admin_value);
        }
        rc = 0;
    }
    if (rc) memset(out, 0, sizeof *out);
    json_decref(c);
    return rc;
}
