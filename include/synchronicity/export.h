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

/*
 * Marks a function whose result must not be ignored: the compiler warns
 * when it is (a generator that ignores SYN_EITERCLOSED from syn_yield()
 * never ends).
 */
#if defined(__GNUC__) || defined(__clang__)
#define SYN_MUST_CHECK __attribute__((warn_unused_result))
#else
#define SYN_MUST_CHECK
#endif

#endif /* SYNCHRONICITY_EXPORT_H */
