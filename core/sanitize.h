/*
 * core/sanitize.h: which sanitizers this build runs under (SNI_ASAN,
 * SNI_TSAN), and whether valgrind's client requests are at hand
 * (SNI_VALGRIND), for the code that must tell them what it does.
 */
#ifndef SNI_SANITIZE_H
#define SNI_SANITIZE_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SNI_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define SNI_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SNI_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define SNI_TSAN 1
#endif

/* valgrind's requests, when its headers are installed: a few instructions
 * that do nothing outside valgrind. */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define SNI_VALGRIND 1
#endif
#endif

#endif /* SNI_SANITIZE_H */
