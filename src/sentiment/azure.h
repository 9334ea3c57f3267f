/* azure.h - the Azure AI Language sentiment analyzer (remote): POST {endpoint}/language/:analyze-text.
 *
 * Settings, read by load from the environment:
 *   AZURE_LANGUAGE_ENDPOINT     https://<resource>.cognitiveservices.azure.com (http:// only for loopback)
 *   AZURE_LANGUAGE_KEY          the resource key (or AZURE_LANGUAGE_KEY_FILE); never logged or echoed
 *   AZURE_LANGUAGE_API_VERSION  default 2023-04-01
 *   AZURE_LANGUAGE_LANGUAGE     ISO 639-1 code sent with every document, default en
 *   CHATTER_HTTP_TIMEOUT_MS, CHATTER_HTTP_RETRIES   as for the comment sources
 *
 * model_id is "azure-language@<api-version>": the interface asks for it at load, before any response has
 * told us the service's modelVersion (the model behind "latest" can change without notice; the
 * api-version is what we pinned). The modelVersion actually seen is logged once per session. */
#ifndef CHATTER_SENTIMENT_AZURE_H
#define CHATTER_SENTIMENT_AZURE_H

#include "sentiment/analyzer.h"

extern const analyzer_ops azure_analyzer_ops;

#define AZURE_MAX_DOCS 10             /* documents per request (sentiment) */
#define AZURE_MAX_ELEMENTS 5120       /* text elements per document (synchronous calls) */
#define AZURE_MAX_REQUEST_BYTES 1000000 /* request body; the service's "1 MB", read as the smaller MB */
/* Bytes kept of one document. 5,120 elements are rarely over 20 KB; the cap keeps a text of huge
 * clusters (stacked combining marks) from making one document too big for a request even when jansson
 * escapes every byte as \u00XX (6x). */
#define AZURE_MAX_DOC_BYTES 150000
#define AZURE_DEFAULT_API_VERSION "2023-04-01"
#define AZURE_DEFAULT_LANGUAGE "en"

#endif
