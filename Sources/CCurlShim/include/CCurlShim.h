// Typed wrappers around curl's variadic curl_easy_setopt / curl_easy_getinfo,
// and around macros, which Swift cannot call or import directly.
#ifndef STRATA_CCURLSHIM_H
#define STRATA_CCURLSHIM_H
#include <curl/curl.h>

CURLcode strata_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode strata_curl_setopt_ptr(CURL *handle, CURLoption option, void *value);
CURLcode strata_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode strata_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode strata_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);

// Callbacks: one wrapper per callback type, so Swift passes a typed
// @convention(c) function rather than a pointer cast.
CURLcode strata_curl_setopt_read_function(CURL *handle, curl_read_callback callback);
CURLcode strata_curl_setopt_write_function(CURL *handle, curl_write_callback callback);
CURLcode strata_curl_setopt_header_function(CURL *handle, curl_write_callback callback);
CURLcode strata_curl_setopt_xferinfo_function(CURL *handle, curl_xferinfo_callback callback);

// curl_global_init(CURL_GLOBAL_ALL); the flag is a macro expression.
CURLcode strata_curl_global_init_all(void);

// Return values of the read callback (CURLOPT_READFUNCTION), macros in curl.h.
static const size_t strata_curl_readfunc_abort = CURL_READFUNC_ABORT;

#endif
