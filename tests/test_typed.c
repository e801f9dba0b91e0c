/*
 * Typed interfaces: the functions and classes of typed_api.h, generated
 * from one declaration each, called every way with C types.
 */
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "typed_api.h"

SYN_FUNCTIONS_DEFINE(calc, CALC)
SYN_CLASS_DEFINE(store, STORE)

/* ---- the implementations ------------------------------------------------
 */

int
calc_square_impl(syn_task *t, int64_t x, int64_t *ret)
{
	*ret = x * x;
	return 0;
}

int
calc_add_impl(syn_task *t, int64_t a, int64_t b, int64_t *ret)
{
	*ret = a + b;
	return 0;
}

int
calc_half_impl(syn_task *t, double x, double *ret)
{
	*ret = x / 2;
	return 0;
}

int
calc_negate_impl(syn_task *t, bool b, bool *ret)
{
	*ret = !b;
	return 0;
}

int
calc_greet_impl(syn_task *t, syn_cstr name, syn_cstr *ret)
{
	if (name[0] == '\0') {
		return syn_raise(t, SYN_EUSER(4), "nobody to greet");
	}
	*ret = syn_task_printf(t, "hello, %s", name).as.str;
	return 0;
}

int
calc_reverse_impl(syn_task *t, syn_buf data, syn_buf *ret)
{
	unsigned char *r = syn_task_alloc(t, data.len + 1);
	if (r == NULL) {
		return SYN_ENOMEM;
	}
	for (size_t i = 0; i < data.len; i++) {
		r[i] = ((const unsigned char *) data.data)[data.len - 1 - i];
	}
	*ret = (syn_buf) { r, data.len };
	return 0;
}

int
calc_describe_impl(syn_task *t, syn_vptr v, syn_cstr *ret)
{
	*ret = syn_type_name(v->type);
	return 0;
}

static const syn_value answer_items[2] = { { SYN_TYPE_INT, 0, { .i = 42 } },
	{ SYN_TYPE_BOOL, 0, { .b = true } } };
static const syn_value answer_value    = { SYN_TYPE_LIST, 2,
	   { .list = answer_items } };

int
calc_answer_impl(syn_task *t, syn_vptr *ret)
{
	*ret = &answer_value;
	return 0;
}

int
calc_sum3_impl(syn_task *t, int64_t a, int64_t b, int64_t c, int64_t *ret)
{
	*ret = a + b + c;
	return 0;
}

int
calc_sum4_impl(
    syn_task *t, int64_t a, int64_t b, int64_t c, int64_t d, int64_t *ret)
{
	*ret = a + b + c + d;
	return 0;
}

int
calc_nap_impl(syn_task *t, int64_t ms)
{
	return syn_sleep(t, (syn_duration) ms);
}

int
calc_count_impl(syn_task *t, int64_t n)
{
	int rc = 0;
	for (int64_t i = 0; i < n && rc == 0; i++) {
		rc = calc_count_yield(t, i);
	}
	return rc == SYN_EITERCLOSED ? 0 : rc;
}

static atomic_int store_finis;

int
store_init_impl(syn_task *t, store_state *self, syn_cstr name)
{
	if (strlen(name) >= sizeof(self->name)) {
		return syn_raise(t, SYN_EINVAL, "name too long");
	}
	strcpy(self->name, name);
	return 0;
}

void
store_fini_impl(store_state *self)
{
	atomic_fetch_add(&store_finis, 1);
}

int
store_name_impl(syn_task *t, store_state *self, syn_cstr *ret)
{
	*ret = self->name;
	return 0;
}

int
store_add_impl(syn_task *t, store_state *self, int64_t n)
{
	self->entries += n;
	return 0;
}

int
store_entries_impl(syn_task *t, store_state *self, int64_t *ret)
{
	*ret = self->entries;
	return 0;
}

int
store_me_impl(syn_task *t, store_state *self, store_ref *ret)
{
	*ret = store_self(self);
	return 0;
}

/* merge(other): adds other's entries (awaited if other lives elsewhere). */
int
store_merge_impl(syn_task *t, store_state *self, store_ref other, int64_t *ret)
{
	store_entries_future_t *f;
	int64_t                 n  = 0;
	int                     rc = store_entries_future(other, &f);
	if (rc == 0 && (rc = syn_await(t, SYN_FUTURE(f))) == 0) {
		rc = store_entries_get(f, &n);
	}
	if (f != NULL) {
		store_entries_free(f);
	}
	self->entries += n;
	*ret = self->entries;
	return rc;
}

int
store_child_impl(syn_task *t, store_state *self, syn_cstr name, store_ref *ret)
{
	void     *child;
	syn_value arg = syn_str(name);
	int       rc  = syn_object_new(t, "store", &arg, 1, &child);
	if (rc == 0) {
		*ret = store_self(child);
	}
	return rc;
}

int
store_keys_impl(syn_task *t, store_state *self, int64_t n)
{
	int rc = 0;
	for (int64_t i = 0; i < n && rc == 0; i++) {
		rc = store_keys_yield(t,
		    syn_task_printf(t, "%s-%lld", self->name, (long long) i)
		        .as.str);
	}
	return rc == SYN_EITERCLOSED ? 0 : rc;
}

/* wrapped(): the object itself, inside a list. */
int
store_wrapped_impl(syn_task *t, store_state *self, syn_vptr *ret)
{
	syn_value *v = syn_task_alloc(t, 2 * sizeof(syn_value));
	v[0]         = syn_object(self);
	v[1]         = syn_list(&v[0], 1);
	*ret         = &v[1];
	return 0;
}

/* ---- the tests ----------------------------------------------------------
 */

static syn_synchronizer
typed_sync(void)
{
	syn_synchronizer s = th_new();
	ck_assert_syn_ok(calc_register(s));
	ck_assert_syn_ok(store_register(s));
	atomic_store(&store_finis, 0);
	return s;
}

/* Every type, blocking. */
START_TEST(typed_blocking_calls)
{
	syn_synchronizer s = typed_sync();
	int64_t          i;
	double           d;
	bool             b;
	syn_cstr         str;
	syn_buf          buf;
	syn_vptr         v;
	ck_assert_syn_ok(calc_square(s, 12, &i));
	ck_assert_int_eq(i, 144);
	ck_assert_syn_ok(calc_add(s, 40, 2, &i));
	ck_assert_int_eq(i, 42);
	ck_assert_syn_ok(calc_half(s, 5.0, &d));
	ck_assert(d == 2.5);
	ck_assert_syn_ok(calc_negate(s, true, &b));
	ck_assert(!b);
	ck_assert_syn_ok(calc_greet(s, "world", &str));
	ck_assert_str_eq(str, "hello, world");
	syn_typed_free(str);
	ck_assert_syn_rc(calc_greet(s, "", &str), SYN_EUSER(4));
	ck_assert_str_eq(syn_last_error()->message, "nobody to greet");
	ck_assert_syn_ok(calc_reverse(s, (syn_buf) { "abc", 3 }, &buf));
	ck_assert(buf.len == 3 && memcmp(buf.data, "cba", 3) == 0);
	syn_typed_free(buf.data);
	ck_assert_syn_ok(calc_reverse(s, (syn_buf) { "", 0 }, &buf));
	ck_assert(buf.len == 0 && buf.data != NULL); /* empty, yet freeable */
	syn_typed_free(buf.data);
	syn_value list = syn_list(NULL, 0);
	ck_assert_syn_ok(calc_describe(s, &list, &str));
	ck_assert_str_eq(str, "list");
	syn_typed_free(str);
	ck_assert_syn_ok(calc_answer(s, &v));
	ck_assert(v->type == SYN_TYPE_LIST && v->len == 2 &&
	    v->as.list[0].as.i == 42);
	syn_vptr_free(v);
	ck_assert_syn_ok(calc_sum3(s, 1, 2, 3, &i));
	ck_assert_int_eq(i, 6);
	ck_assert_syn_ok(calc_sum4(s, 1, 2, 3, 4, &i));
	ck_assert_int_eq(i, 10);
	ck_assert_syn_ok(calc_square(s, 3, NULL)); /* the result not wanted */
	double t0 = th_now_ms();
	ck_assert_syn_ok(calc_nap(s, 20));
	ck_assert(th_now_ms() - t0 >= 19);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* Futures, aio and iterators, typed. */
START_TEST(typed_async_forms)
{
	syn_synchronizer      s = typed_sync();
	calc_square_future_t *fs[10];
	for (int i = 0; i < 10; i++) {
		ck_assert_syn_ok(calc_square_future(s, i, &fs[i]));
	}
	for (int i = 0; i < 10; i++) {
		int64_t r;
		ck_assert_syn_ok(calc_square_get(fs[i], &r));
		ck_assert_int_eq(r, i * i);
		calc_square_free(fs[i]);
	}
	calc_nap_future_t *nap;
	ck_assert_syn_ok(calc_nap_future(s, 5, &nap));
	ck_assert_syn_ok(calc_nap_get(nap));
	calc_nap_free(nap);
	nng_aio *aio;
	ck_assert_int_eq(nng_aio_alloc(&aio, NULL, NULL), 0);
	calc_greet_aio(s, "aio", aio);
	nng_aio_wait(aio);
	syn_cstr str;
	ck_assert_syn_ok(calc_greet_aio_get(aio, &str));
	ck_assert_str_eq(str, "hello, aio");
	syn_typed_free(str);
	calc_nap_aio(s, 1, aio);
	nng_aio_wait(aio);
	ck_assert_syn_ok(calc_nap_aio_get(aio));
	nng_aio_free(aio);
	calc_count_iter *it;
	ck_assert_syn_ok(calc_count_open(s, 3, &it));
	for (int64_t i = 0; i < 3; i++) {
		int64_t item;
		if (i == 1) { /* the async request of an item */
			calc_count_next_t *nf;
			ck_assert_syn_ok(calc_count_next_future(it, &nf));
			ck_assert_syn_ok(calc_count_next_get(nf, &item));
			calc_count_next_free(nf);
		} else {
			ck_assert_syn_ok(calc_count_next(it, &item));
		}
		ck_assert_int_eq(item, i);
	}
	ck_assert_syn_rc(calc_count_next(it, NULL), SYN_EEND);
	ck_assert_syn_ok(calc_count_close(it));

	/* (an error thrown in ends count with it; a close not waited for) */
	int64_t item;
	ck_assert_syn_ok(calc_count_open(s, 5, &it));
	ck_assert_syn_ok(calc_count_next(it, &item));
	ck_assert_syn_rc(
	    calc_count_throw(it, SYN_EUSER(4), "stop", &item), SYN_EUSER(4));
	ck_assert_str_eq(syn_last_error()->message, "stop");
	ck_assert_syn_rc(calc_count_next(it, &item), SYN_EEND);
	ck_assert_syn_ok(calc_count_close(it));
	ck_assert_syn_ok(calc_count_open(s, 5, &it));
	ck_assert_syn_ok(calc_count_next(it, &item));
	syn_future *closed;
	ck_assert_syn_ok(calc_count_close_future(it, &closed)); /* (it: gone) */
	ck_assert_syn_ok(syn_future_wait(closed));
	syn_future_free(closed);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* A typed class: constructor, methods, refs in and out, generators. */
START_TEST(typed_class)
{
	syn_synchronizer s = typed_sync();
	store_ref        a, b, again, child;
	ck_assert_syn_ok(store_new(s, "a", &a));
	ck_assert_syn_ok(store_new(s, "b", &b));
	ck_assert_syn_rc(
	    store_new(
	        s, "a name that is far too long to fit in 32 bytes", &again),
	    SYN_EINVAL);
	ck_assert_syn_ok(store_add(a, 3));
	ck_assert_syn_ok(store_add(b, 4));
	int64_t n;
	ck_assert_syn_ok(store_entries(a, &n));
	ck_assert_int_eq(n, 3);
	syn_cstr name;
	ck_assert_syn_ok(store_name(b, &name));
	ck_assert_str_eq(name, "b");
	syn_typed_free(name);
	/* Identity: me() is the very ref. */
	ck_assert_syn_ok(store_me(a, &again));
	ck_assert(again == a);
	store_release(again);
	/* A ref as an argument: b's entries merged into a. */
	ck_assert_syn_ok(store_merge(a, b, &n));
	ck_assert_int_eq(n, 7);
	/* A new object from a method. */
	ck_assert_syn_ok(store_child(a, "c", &child));
	ck_assert_syn_ok(store_name(child, &name));
	ck_assert_str_eq(name, "c");
	syn_typed_free(name);
	/* Async forms of a method, and a generator method. */
	store_entries_future_t *f;
	ck_assert_syn_ok(store_entries_future(b, &f));
	ck_assert_syn_ok(store_entries_get(f, &n));
	ck_assert_int_eq(n, 4);
	store_entries_free(f);
	store_keys_iter *it;
	ck_assert_syn_ok(store_keys_open(a, 2, &it));
	ck_assert_syn_ok(store_keys_next(it, &name));
	ck_assert_str_eq(name, "a-0");
	syn_typed_free(name);
	ck_assert_syn_ok(store_keys_close(it));
	/* The async constructor. */
	store_new_t *nf;
	store_ref    d;
	ck_assert_syn_ok(store_new_future(s, "d", &nf));
	ck_assert_syn_ok(store_new_get(nf, &d));
	store_new_free(nf);
	ck_assert_syn_ok(store_name(d, &name));
	ck_assert_str_eq(name, "d");
	syn_typed_free(name);
	store_release(d);
	/* A value holding an object keeps its proxy until it is freed. */
	syn_vptr wrapped;
	ck_assert_syn_ok(store_wrapped(b, &wrapped));
	ck_assert_int_eq(wrapped->as.list[0].type, SYN_TYPE_PROXY);
	ck_assert_syn_ok(
	    syn_invoke(wrapped->as.list[0].as.proxy, "entries", NULL, 0, NULL));
	syn_vptr_free(wrapped);
	store_release(child);
	store_release(b);
	store_release(a);
	for (int i = 0; i < 500 && atomic_load(&store_finis) < 4; i++) {
		usleep(1000);
	}
	ck_assert_int_eq(atomic_load(&store_finis), 4);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The typed and the dynamic layers are the same calls. */
START_TEST(typed_and_dynamic_meet)
{
	syn_synchronizer s = typed_sync();
	syn_value        x = syn_int(9);
	syn_result       r = SYN_RESULT_INIT;
	ck_assert_syn_ok(syn_call(s, "calc_square", &x, 1, &r));
	ck_assert_int_eq(r.value.as.i, 81);
	syn_value bad = syn_str("nine");
	ck_assert_syn_rc(
	    syn_call(s, "calc_square", &bad, 1, NULL), SYN_EBADTYPE);
	ck_assert_ptr_nonnull(
	    strstr(syn_last_error()->message, "argument 0 (x)"));
	ck_assert_syn_rc(syn_call(s, "calc_square", NULL, 0, NULL), SYN_EINVAL);
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* not_a_number(x): a dynamic function under a typed name, returning a
 * string where the typed caller expects an int. */
static int
not_a_number(syn_task *t, const syn_value *args, size_t nargs, syn_value *ret)
{
	(void) t, (void) args, (void) nargs;
	*ret = syn_str("seven");
	return 0;
}

/* A number result of the wrong type fails with SYN_EBADTYPE and says so
 * (the last error was left from whatever failed before). */
START_TEST(wrong_number_result_says_so)
{
	syn_synchronizer s = th_new();
	th_register(s, "calc_square", not_a_number, NULL);
	ck_assert_syn_rc(syn_call(s, "nope", NULL, 0, NULL), SYN_ENOENT);
	int64_t i;
	ck_assert_syn_rc(calc_square(s, 3, &i), SYN_EBADTYPE);
	ck_assert_ptr_nonnull(strstr(syn_last_error()->message, "str"));
	ck_assert_syn_ok(syn_synchronizer_destroy(s));
}
END_TEST

/* The take functions refuse NULL values and outputs (they crashed on
 * some: found by review). */
START_TEST(take_refuses_null)
{
	syn_value v = syn_str("x");
	syn_cstr  c = NULL;
	syn_buf   b;
	syn_vptr  p;
	void     *r;
	ck_assert_syn_rc(syn_typed_take_cstr(&v, NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_typed_take_cstr(NULL, &c), SYN_EINVAL);
	ck_assert_syn_rc(syn_typed_take_buf(&v, NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_typed_take_buf(NULL, &b), SYN_EINVAL);
	ck_assert_syn_rc(syn_typed_take_vptr(&v, NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_typed_take_vptr(NULL, &p), SYN_EINVAL);
	ck_assert_syn_rc(syn_typed_take_ref(&v, NULL), SYN_EINVAL);
	ck_assert_syn_rc(syn_typed_take_ref(NULL, &r), SYN_EINVAL);
	ck_assert_str_eq(syn_last_error()->message, "value is NULL");
	ck_assert_ptr_null(c);
}
END_TEST

Suite *
suite(void)
{
	const th_case cases[] = {
		TH_CASE("blocking", typed_blocking_calls),
		TH_CASE("async_forms", typed_async_forms),
		TH_CASE("class", typed_class),
		TH_CASE("dynamic", typed_and_dynamic_meet),
		TH_CASE("wrong_number", wrong_number_result_says_so),
		TH_CASE("take_null", take_refuses_null),
	};
	return TH_SUITE("typed", cases);
}
