/*
 * The core's tables, alone: the pointer map that ids from other
 * processes index (a pending callback by its id plus an offset, a stream
 * by its id, a batch by its pipe and id), and the counts it keeps of
 * what each peer holds open.
 */
#include <stdint.h>

#include "core/ptrmap.h"
#include "helpers.h"

static const void *
key(uintptr_t k)
{
	return (const void *) k;
}

/*
 * Keys 0 and 1 are the map's slot markers: a peer's id that lands on one
 * (an id near 2^64 plus an offset wraps to it) is in no map, is never
 * put, and taking it out changes nothing. A map that took such deletes
 * as real emptied its free slots and probed for ever.
 */
START_TEST(marker_keys_are_never_keys)
{
	sni_ptrmap m = SNI_PTRMAP_INIT;
	int        v = 7;
	ck_assert_int_eq(sni_ptrmap_put(&m, key(0), &v), SYN_EINVAL);
	ck_assert_int_eq(sni_ptrmap_put(&m, key(1), &v), SYN_EINVAL);
	ck_assert_int_eq(sni_ptrmap_put(&m, key(2), &v), 0);
	for (int i = 0; i < 1000; i++) { /* each once emptied a slot */
		ck_assert_ptr_null(sni_ptrmap_del(&m, key((uintptr_t) i % 2)));
		ck_assert_ptr_null(sni_ptrmap_get(&m, key((uintptr_t) i % 2)));
	}
	ck_assert_uint_eq(m.len, 1);
	ck_assert_ptr_eq(sni_ptrmap_get(&m, key(2)), &v);
	ck_assert_ptr_null(sni_ptrmap_get(&m, key(3))); /* probing ends */
	for (uintptr_t k = 3; k < 100; k++) {
		ck_assert_int_eq(sni_ptrmap_put(&m, key(k), &v), 0);
	}
	ck_assert_uint_eq(m.len, 98);
	ck_assert_ptr_eq(sni_ptrmap_del(&m, key(50)), &v);
	ck_assert_ptr_null(sni_ptrmap_get(&m, key(50)));
	ck_assert_uint_eq(m.len, 97);
	sni_ptrmap_fini(&m);
}
END_TEST

/* Counts by id (what each peer holds open): up, down to none, for many
 * ids at once, with ids 0 and UINT32_MAX among them. */
START_TEST(counts_by_id)
{
	sni_ptrmap m = SNI_PTRMAP_INIT;
	ck_assert_uint_eq(sni_count_of(&m, 5), 0);
	for (uint32_t id = 0; id < 200; id++) {
		for (uint32_t k = 0; k <= id % 7; k++) {
			ck_assert_int_eq(sni_count_add(&m, id, true), 0);
		}
	}
	ck_assert_int_eq(sni_count_add(&m, UINT32_MAX, true), 0);
	ck_assert_uint_eq(sni_count_of(&m, UINT32_MAX), 1);
	for (uint32_t id = 0; id < 200; id++) {
		ck_assert_uint_eq(sni_count_of(&m, id), id % 7 + 1);
		for (uint32_t k = 0; k <= id % 7; k++) {
			ck_assert_int_eq(sni_count_add(&m, id, false), 0);
		}
		ck_assert_uint_eq(sni_count_of(&m, id), 0);
	}
	ck_assert_uint_eq(m.len, 1); /* only UINT32_MAX's is left */
	sni_ptrmap_fini(&m);
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("marker_keys", marker_keys_are_never_keys),
		TH_CASE("counts", counts_by_id),
	};
	return TH_SUITE("tables", cases);
}
