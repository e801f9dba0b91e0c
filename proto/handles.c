/*
 * proto/handles.c: the handles of an encoded message, visited in place.
 *
 * Where a message crosses from one process to another, the handles in it
 * name synchronizers by ids that only mean something on one side; the
 * connection rewrites them there, in the message's own bytes (a handle's
 * encoding has a fixed size), before anybody decodes it.
 */
#include <string.h>

#include "proto.h"

static int walk(sni_reader *r, uint32_t depth, sni_handle_fn fn, void *ctx);

/* A fixext16 handle at p (its type byte just before): decoded, shown to
 * fn, written back. */
static int
visit(uint8_t *p, sni_handle_fn fn, void *ctx)
{
	syn_handle h     = { sni_load_be(p, 8), sni_load_be(p + 8, 8) };
	bool       owned = p[-1] == SNI_EXT_OBJECT;
	int        rc;
	if ((rc = fn(ctx, &h, &owned)) != 0) {
		return rc;
	}
	p[-1] = owned ? SNI_EXT_OBJECT : SNI_EXT_HANDLE;
	for (int i = 0; i < 8; i++) {
		p[i]     = (uint8_t) (h.owner >> (56 - 8 * i));
		p[8 + i] = (uint8_t) (h.object >> (56 - 8 * i));
	}
	return 0;
}

static int
walk_items(
    sni_reader *r, uint64_t n, uint32_t depth, sni_handle_fn fn, void *ctx)
{
	if (depth == 0) {
		sni_detail_set("values nested too deep");
		return SYN_EPROTO;
	}
	for (uint64_t i = 0; i < n; i++) {
		int rc = walk(r, depth - 1, fn, ctx);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int
walk(sni_reader *r, uint32_t depth, sni_handle_fn fn, void *ctx)
{
	sni_head       h;
	const uint8_t *p;
	int            rc = sni_read_head(r, &h);
	if (rc != 0) {
		return rc;
	}
	switch (h.sh) {
	case SH_STR:
	case SH_BIN:
		return sni_take(r, h.num, &p) ? 0 : sni_truncated();
	case SH_ARRAY:
		return walk_items(r, h.num, depth, fn, ctx);
	case SH_MAP:
		return walk_items(r, h.num * 2, depth, fn, ctx);
	case SH_EXT:
		if (!sni_take(r, h.num, &p)) {
			return sni_truncated();
		}
		if (h.num == 16 &&
		    (h.type == SNI_EXT_HANDLE || h.type == SNI_EXT_OBJECT)) {
			return visit((uint8_t *) p, fn, ctx);
		}
		if (h.num == 16 && h.type == SNI_EXT_PROXY) {
			sni_detail_set("a proxy's reference, which cannot "
			               "leave its process");
			return SYN_EPROTO;
		}
		return 0;
	case SH_BAD:
		sni_detail_set("not msgpack");
		return SYN_EPROTO;
	default: /* numbers, nil, bools: read_head consumed them */
		return 0;
	}
}

int
sni_msg_each_handle(
    void *body, size_t len, uint32_t max_depth, sni_handle_fn fn, void *ctx)
{
	if (len < SNI_HDR_LEN) {
		return sni_truncated();
	}
	/* A quick look first: no fixext16 byte, no handle. */
	if (memchr((uint8_t *) body + SNI_HDR_LEN, 0xd8, len - SNI_HDR_LEN) ==
	    NULL) {
		return 0;
	}
	sni_reader r;
	sni_reader_init(&r, (uint8_t *) body + SNI_HDR_LEN, len - SNI_HDR_LEN);
	while (sni_reader_left(&r) > 0) {
		int rc = walk(&r, max_depth, fn, ctx);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}
