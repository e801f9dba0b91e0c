/*
 * proto/utf8.c: strict UTF-8 validation (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), with a fast path for ASCII.
 */
#include <string.h>

#include "proto.h"

static bool
ascii_run(const uint8_t **sp, const uint8_t *end)
{
	const uint8_t *s = *sp;
	while (end - s >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		if ((w & 0x8080808080808080ull) != 0) {
			break;
		}
		s += 8;
	}
	while (s < end && *s < 0x80) {
		s++;
	}
	*sp = s;
	return s == end;
}

/* Length of the sequence led by c, and the valid range of its 2nd byte. */
static int
sequence_shape(uint8_t c, uint8_t *lo, uint8_t *hi)
{
	*lo = 0x80;
	*hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf) {
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0) {
			*lo = 0xa0; /* no overlong */
		} else if (c == 0xed) {
			*hi = 0x9f; /* no surrogates */
		}
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0) {
			*lo = 0x90;
		} else if (c == 0xf4) {
			*hi = 0x8f; /* nothing above U+10FFFF */
		}
		return 4;
	}
	return 0;
}

size_t
sni_utf8_prefix(const uint8_t *s, size_t n)
{
	if (n == 0) {
		return 0; /* s may be NULL (an empty string) */
	}
	const uint8_t *start = s;
	const uint8_t *end   = s + n;
	while (!ascii_run(&s, end)) {
		uint8_t lo, hi;
		int     len = sequence_shape(s[0], &lo, &hi);
		if (len == 0 || end - s < len || s[1] < lo || s[1] > hi) {
			return (size_t) (s - start);
		}
		for (int i = 2; i < len; i++) {
			if ((s[i] & 0xc0) != 0x80) {
				return (size_t) (s - start);
			}
		}
		s += len;
	}
	return n;
}
