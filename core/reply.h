/*
 * core/reply.h: handing a call's reply back to where the call came from,
 * a future of this process or a door slot. Actor thread only.
 */
#ifndef SNI_REPLY_H
#define SNI_REPLY_H

#include <stdint.h>

#include <nng/nng.h>

typedef struct sni_wbuf sni_wbuf; /* proto/writer.h */

/*
 * Delivers msg (a RETURN or ERROR body, or NULL when none could be built)
 * with code rc to origin (an sni_origin) at origin_ptr. Takes msg.
 */
void sni_reply_deliver(int origin, void *origin_ptr, nng_msg *msg, int rc);

/*
 * Delivers the reply encoded in w (freed) with code rc: inline in the
 * future when it takes it and msg is NULL, else in msg (taken) or a new
 * message. Out of memory, or w->err set, delivers no message and rc
 * (SYN_ENOMEM when rc is 0).
 */
void sni_reply_send(
    int origin, void *origin_ptr, nng_msg *msg, sni_wbuf *w, int rc);

/*
 * Replies with an error: builds the ERROR body in msg (or a new message
 * when msg is NULL) and delivers it. Takes msg. message NULL gives
 * syn_strerror(code).
 */
void sni_reply_error(int origin, void *origin_ptr, nng_msg *msg,
    uint64_t call_id, int code, const char *message, const char *where);

/* A new ERROR message for call_id, of code with message and where
 * (either may be NULL): NULL when it does not fit in memory. */
nng_msg *sni_reply_error_msg(
    uint64_t call_id, int code, const char *message, const char *where);

/* A new RETURN nil message for call_id: NULL when it does not fit in
 * memory. */
nng_msg *sni_reply_nil_msg(uint64_t call_id);

/* A bare SYN_ENOMEM ERROR for call_id, for when no reply could be
 * built: NULL when even that does not fit in memory. */
nng_msg *sni_reply_oom(uint64_t call_id);

/* Replies with nil in msg (taken): a CLOSE's or a RELEASE's answer. */
void sni_reply_nil(
    int origin, void *origin_ptr, nng_msg *msg, uint64_t call_id);

#endif /* SNI_REPLY_H */
