/* fields.h - bounding and normalising the fields of upstream comments, shared by every source. */
#ifndef CHATTER_SOURCES_FIELDS_H
#define CHATTER_SOURCES_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

/* malloc'd copy of at most max bytes of s, cut back to a UTF-8 character boundary so a truncated
 * comment stays valid UTF-8; NULL when s is NULL or memory runs out. */
char *field_dup(const char *s, size_t max);

/* Normalises an RFC 3339 timestamp ("2024-05-01T12:34:56Z", with optional fractional seconds and a
 * "Z", "+hh:mm" or "+hhmm" zone; no zone means UTC) to "YYYY-MM-DDTHH:MM:SSZ" in UTC. false when unparsable. */
bool field_timestamp(const char *in, char out[21]);

#endif
