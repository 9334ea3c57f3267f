/* json_fields.h - reading the fields of upstream comment JSON the same way in every source: ids kept as
 * strings (a JSON integer is printed from jansson's 64-bit json_int_t, never through double) and counts that
 * may arrive as numbers or as "1.2K". Timestamps: sources/fields.h. */
#ifndef CHATTER_SOURCES_JSON_FIELDS_H
#define CHATTER_SOURCES_JSON_FIELDS_H

#include <jansson.h>
#include <stdint.h>

#define JF_ID_MAX 72

/* obj[key] as a string, or NULL when absent or not a string. */
const char *jf_str(const json_t *obj, const char *key);
/* An id from a JSON integer (>= 0) or a non-empty string of [0-9A-Za-z_.:-] (at most JF_ID_MAX-1 chars). */
int jf_id(const json_t *v, char out[JF_ID_MAX]);
/* A count from an integer, an integral real, or a string such as "15", "1,234", "1.2K", "3M"; -1 if none. */
int64_t jf_count(const json_t *v);
int parse_count(const char *s, int64_t *out);

#endif
