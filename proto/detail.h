/*
 * proto/detail.h: the thread-local detail of the error a proto function
 * returns. Internal to the library.
 */
#ifndef SNI_DETAIL_H
#define SNI_DETAIL_H

/*
 * A thread-local detail for the error a proto function returns, so that
 * "argument 2: string is not valid UTF-8" reaches the caller. The core
 * layer reads it when it reports the error.
 */
void sni_detail_set(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* As sni_detail_set, for a fixed text: no formatting, so that it fits
 * where little stack is left. */
void        sni_detail_put(const char *text);
const char *sni_detail_get(void);
void        sni_detail_clear(void);

#endif /* SNI_DETAIL_H */
