/*
 * proto/context.c: a call context on the wire, the map of keys and plain
 * values that a CALL or an OPEN carries after its last field (see
 * proto.h, "Call contexts").
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"

/* The limits a context's values are read with: lim's depth, less the
 * map's own level, and nothing that names an object or a pointer. */
static sni_limits
value_limits(const sni_limits *lim)
{
	sni_limits vl   = *lim;
	vl.max_depth    = lim->max_depth > 0 ? lim->max_depth - 1 : 0;
	vl.allow_ptr    = false;
	vl.deny_handles = true;
	vl.max_size     = SYN_CONTEXT_MAX;
	return vl;
}

/* A key: a string of 1 to SYN_CONTEXT_KEY_MAX bytes of UTF-8. */
static int
read_key(sni_reader *r, const char **key, uint32_t *len)
{
	int rc = sni_read_str(r, key, len);
	if (rc == 0 && (*len == 0 || *len > SYN_CONTEXT_KEY_MAX)) {
		sni_detail_set("a context key of %u bytes", *len);
		rc = SYN_EPROTO;
	}
	return rc;
}

/* The map's head: its count of entries, 1 or more. */
static int
read_count(sni_reader *r, uint32_t *count)
{
	sni_head h;
	if (sni_read_head(r, &h) != 0 || h.sh != SH_MAP || h.num == 0) {
		sni_detail_set("a call context is a map of 1 or more entries");
		return SYN_EPROTO;
	}
	*count = (uint32_t) h.num;
	return 0;
}

/* Whether key (klen bytes) is one of the n keys in keys/lens. */
static bool
key_seen(const char *const *keys, const uint32_t *lens, uint32_t n,
    const char *key, uint32_t klen)
{
	for (uint32_t i = 0; i < n; i++) {
		if (lens[i] == klen && memcmp(keys[i], key, klen) == 0) {
			return true;
		}
	}
	return false;
}

int
sni_context_scan(sni_reader *r, const sni_limits *lim)
{
	const uint8_t *start = r->p;
	sni_limits     vl    = value_limits(lim);
	const char    *keys[SYN_CONTEXT_KEYS_MAX];
	uint32_t       lens[SYN_CONTEXT_KEYS_MAX];
	uint32_t       count;
	int            rc = read_count(r, &count);
	if (rc == 0 && count > SYN_CONTEXT_KEYS_MAX) {
		sni_detail_set("a call context of %u keys, more than %d", count,
		    SYN_CONTEXT_KEYS_MAX);
		rc = SYN_EPROTO;
	}
	for (uint32_t i = 0; rc == 0 && i < count; i++) {
		size_t need = 0;
		if ((rc = read_key(r, &keys[i], &lens[i])) == 0 &&
		    key_seen(keys, lens, i, keys[i], lens[i])) {
			sni_detail_set(
			    "a call context holds key \"%.*s\" twice",
			    (int) lens[i], keys[i]);
			rc = SYN_EPROTO;
		}
		if (rc == 0) {
			rc = sni_scan_value(r, &vl, &need);
		}
	}
	if (rc == 0 && (size_t) (r->p - start) > SYN_CONTEXT_MAX) {
		sni_detail_set("a call context of %zu bytes is larger than %d",
		    (size_t) (r->p - start), SYN_CONTEXT_MAX);
		rc = SYN_EMSGSIZE;
	}
	return rc;
}

/* Moves r past the next value, without recursion (a task may walk its
 * context on a small stack); false if the bytes end first. */
static bool
skip_value(sni_reader *r)
{
	uint64_t left = 1; /* values still to pass */
	while (left > 0) {
		sni_head       h;
		const uint8_t *p;
		if (sni_read_head(r, &h) != 0) {
			return false;
		}
		left--;
		if (h.sh == SH_STR || h.sh == SH_BIN || h.sh == SH_EXT) {
			if (!sni_take(r, h.num, &p)) {
				return false;
			}
		} else if (h.sh == SH_ARRAY || h.sh == SH_MAP) {
			left += h.sh == SH_MAP ? 2 * h.num : h.num;
		}
		if (left > sni_reader_left(r)) { /* (a value takes a byte) */
			return false;
		}
	}
	return true;
}

/* One entry of a checked context at r: its key, and its value's bytes;
 * false if the bytes are not a context after all. */
static bool
next_entry(sni_reader *r, const char **key, uint32_t *klen, const uint8_t **v,
    size_t *vlen)
{
	if (sni_read_str(r, key, klen) != 0) {
		return false;
	}
	*v         = r->p;
	bool whole = skip_value(r);
	*vlen      = (size_t) (r->p - *v);
	return whole;
}

int
sni_context_find(const uint8_t *cx, size_t len, const char *key, size_t klen,
    const uint8_t **vp, size_t *vlen)
{
	sni_reader r;
	uint32_t   count;
	sni_reader_init(&r, cx, len);
	if (len == 0 || read_count(&r, &count) != 0) {
		return SYN_ENOENT;
	}
	for (uint32_t i = 0; i < count; i++) {
		const char *k;
		uint32_t    kl;
		if (!next_entry(&r, &k, &kl, vp, vlen)) {
			break;
		}
		if (kl == klen && memcmp(k, key, klen) == 0) {
			return 0;
		}
	}
	return SYN_ENOENT;
}

/* Whether v is plain data, depth levels deep at most: nil, a bool, a
 * number, a string, bytes, an error, or a list or map of those. */
static bool
plain_data(const syn_value *v, uint32_t depth)
{
	switch (v->type) {
	case SYN_TYPE_NIL:
	case SYN_TYPE_BOOL:
	case SYN_TYPE_INT:
	case SYN_TYPE_UINT:
	case SYN_TYPE_DOUBLE:
	case SYN_TYPE_STR:
	case SYN_TYPE_BYTES:
	case SYN_TYPE_ERROR:
		return true;
	case SYN_TYPE_LIST:
		for (uint32_t i = 0; depth > 1 && i < v->len; i++) {
			if (!plain_data(&v->as.list[i], depth - 1)) {
				return false;
			}
		}
		return depth > 1 || v->len == 0;
	case SYN_TYPE_MAP:
		for (uint32_t i = 0; depth > 1 && i < v->len; i++) {
			if (!plain_data(&v->as.map[i].key, depth - 1) ||
			    !plain_data(&v->as.map[i].value, depth - 1)) {
				return false;
			}
		}
		return depth > 1 || v->len == 0;
	default:
		return false;
	}
}

/* The entries of cx (checked) but key, into w; their count in *kept.
 * SYN_EINTERNAL if cx is no context (it cannot be). */
static int
copy_others(sni_wbuf *w, const uint8_t *cx, size_t len, const char *key,
    size_t klen, uint32_t *kept)
{
	sni_reader r;
	uint32_t   count;
	*kept = 0;
	sni_reader_init(&r, cx, len);
	if (len == 0) {
		return 0;
	}
	for (uint32_t i = 0, n = read_count(&r, &count) == 0 ? count : 0; i < n;
	     i++) {
		const uint8_t *entry = r.p, *v;
		const char    *k;
		uint32_t       kl;
		size_t         vlen;
		if (!next_entry(&r, &k, &kl, &v, &vlen)) {
			break;
		}
		if (kl != klen || memcmp(k, key, klen) != 0) {
			sni_wbuf_put(w, entry, (size_t) (r.p - entry));
			++*kept;
		}
	}
	if (r.p != r.end) {
		sni_detail_set("the call context is damaged");
		return SYN_EINTERNAL;
	}
	return 0;
}

int
sni_context_with(sni_wbuf *w, const uint8_t *cx, size_t len, const char *key,
    size_t klen, const syn_value *v, uint32_t *count)
{
	if (v != NULL && !plain_data(v, SNI_DEFAULT_MAX_DEPTH - 1)) {
		sni_detail_set("a context value is plain data (no proxies, "
		               "objects, handles or pointers), %u levels deep "
		               "at most",
		    SNI_DEFAULT_MAX_DEPTH - 1);
		return SYN_EINVAL;
	}
	sni_wbuf entries;
	sni_wbuf_init(&entries);
	int rc = copy_others(&entries, cx, len, key, klen, count);
	if (rc == 0 && v != NULL && *count >= SYN_CONTEXT_KEYS_MAX) {
		sni_detail_set("a call context holds %d keys at most",
		    SYN_CONTEXT_KEYS_MAX);
		rc = SYN_EMSGSIZE;
	}
	if (rc == 0 && v != NULL) {
		sni_encode_str(&entries, key, klen);
		rc =
		    sni_encode_value(&entries, v, SNI_DEFAULT_MAX_DEPTH - 1, 0);
		++*count;
	}
	if (rc == 0 && *count > 0) {
		sni_mp_map(w, *count);
		sni_wbuf_put(w, entries.buf, entries.len);
	}
	rc = rc != 0 ? rc : entries.err != 0 ? entries.err : w->err;
	sni_wbuf_fini(&entries);
	if (rc == 0 && w->len > SYN_CONTEXT_MAX) {
		sni_detail_set("the call context would take %zu bytes, more "
		               "than %d",
		    w->len, SYN_CONTEXT_MAX);
		rc = SYN_EMSGSIZE;
	}
	return rc;
}
