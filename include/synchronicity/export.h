/*
 * synchronicity: symbol visibility. The shared library is built with hidden
 * visibility; only declarations marked SYN_API are exported.
 */
#ifndef SYNCHRONICITY_EXPORT_H
#define SYNCHRONICITY_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define SYN_API __attribute__((visibility("default")))
#else
#define SYN_API
#endif

#endif /* SYNCHRONICITY_EXPORT_H */
