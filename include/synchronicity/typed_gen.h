/*
 * synchronicity: the code that typed.h's macros generate, entry by entry.
 * Included by typed.h; read typed.h for what the generated functions are.
 *
 * An interface list calls, per entry, one of five macros it receives (by
 * number of arguments) with the prefix C, the kind, the name, the result
 * type R and the argument pairs. Each generator below is such a set of
 * five macros; they all go through SNI_ADn, which hands a generator M the
 * entry as (X, C, K, name, R, n, params, args, decls, reads, names), X
 * being FN for functions and M for methods.
 */
#ifndef SYNCHRONICITY_TYPED_GEN_H
#define SYNCHRONICITY_TYPED_GEN_H

#define SNI_UNPAREN(...) __VA_ARGS__

/* The helpers a declaration makes that a file need not use (clang warns
 * about an unused static inline function of the file itself). */
#if defined(__GNUC__) || defined(__clang__)
#define SNI_MAYBE_UNUSED __attribute__((unused))
#else
#define SNI_MAYBE_UNUSED
#endif

/* L(the five macros of a set, C): the set expanded before L counts. */
#define SNI_APPLY(L, ...) L(__VA_ARGS__)

#define SNI_AD0(G, X, C, K, name, R)                                       \
	G(X, C, K, name, R, 0, (SNI_P0()), (SNI_A0()), SNI_D0(), SNI_R0(), \
	    (SNI_N0()))
#define SNI_AD1(G, X, C, K, name, R, T1, a1)                       \
	G(X, C, K, name, R, 1, (SNI_P1(T1, a1)), (SNI_A1(T1, a1)), \
	    SNI_D1(T1, a1), SNI_R1(T1, a1), (SNI_N1(T1, a1)))
#define SNI_AD2(G, X, C, K, name, R, T1, a1, T2, a2)          \
	G(X, C, K, name, R, 2, (SNI_P2(T1, a1, T2, a2)),      \
	    (SNI_A2(T1, a1, T2, a2)), SNI_D2(T1, a1, T2, a2), \
	    SNI_R2(T1, a1, T2, a2), (SNI_N2(T1, a1, T2, a2)))
#define SNI_AD3(G, X, C, K, name, R, T1, a1, T2, a2, T3, a3)                  \
	G(X, C, K, name, R, 3, (SNI_P3(T1, a1, T2, a2, T3, a3)),              \
	    (SNI_A3(T1, a1, T2, a2, T3, a3)), SNI_D3(T1, a1, T2, a2, T3, a3), \
	    SNI_R3(T1, a1, T2, a2, T3, a3), (SNI_N3(T1, a1, T2, a2, T3, a3)))
#define SNI_AD4(G, X, C, K, name, R, T1, a1, T2, a2, T3, a3, T4, a4)     \
	G(X, C, K, name, R, 4, (SNI_P4(T1, a1, T2, a2, T3, a3, T4, a4)), \
	    (SNI_A4(T1, a1, T2, a2, T3, a3, T4, a4)),                    \
	    SNI_D4(T1, a1, T2, a2, T3, a3, T4, a4),                      \
	    SNI_R4(T1, a1, T2, a2, T3, a3, T4, a4),                      \
	    (SNI_N4(T1, a1, T2, a2, T3, a3, T4, a4)))

/* ---- what differs between functions (FN) and methods (M) -------------- */

#define SNI_FIRST_FN(C) syn_synchronizer s_
#define SNI_FIRST_M(C) C##_ref self_
#define SNI_IMPL_FIRST_FN(C) syn_task *t_
#define SNI_IMPL_FIRST_M(C) syn_task *t_, C##_state *self_
#define SNI_GLUE_SELF_FN
#define SNI_GLUE_SELF_M void *self_,
#define SNI_IMPL_ARGS_FN(C) t_
#define SNI_IMPL_ARGS_M(C) t_, (C##_state *) self_
#define SNI_WIRE_FN(C, name) #C "_" #name
#define SNI_WIRE_M(C, name) #name

#define SNI_DO_CALL_FN(C, name, r_) \
	syn_call(s_, SNI_WIRE_FN(C, name), args_, nargs_, r_)
#define SNI_DO_CALL_M(C, name, r_) \
	syn_ref_invoke(self_, SNI_WIRE_M(C, name), args_, nargs_, r_)
#define SNI_DO_FUT_FN(C, name, f_) \
	syn_call_future(s_, SNI_WIRE_FN(C, name), args_, nargs_, f_)
#define SNI_DO_FUT_M(C, name, f_) \
	syn_ref_invoke_future(self_, SNI_WIRE_M(C, name), args_, nargs_, f_)
#define SNI_DO_AIO_FN(C, name, aio_) \
	syn_call_aio(s_, SNI_WIRE_FN(C, name), args_, nargs_, aio_)
#define SNI_DO_AIO_M(C, name, aio_) \
	syn_ref_invoke_aio(self_, SNI_WIRE_M(C, name), args_, nargs_, aio_)
#define SNI_DO_ITER_FN(C, name, it_) \
	syn_iter_open(s_, SNI_WIRE_FN(C, name), args_, nargs_, NULL, it_)
#define SNI_DO_ITER_M(C, name, it_) \
	syn_ref_invoke_iter(self_, SNI_WIRE_M(C, name), args_, nargs_, it_)

/* ==== declarations ====================================================== */

#define SNI_DECL(X, C, K, name, R, n, P, A, D, RD, N) \
	SNI_DECL_##K(X, C, name, R, P)

#define SNI_DECL_FUNC(X, C, name, R, P)                                       \
	typedef struct C##_##name##_future_t C##_##name##_future_t;           \
	int C##_##name(SNI_FIRST_##X(C) SNI_UNPAREN P, R *ret_);              \
	int C##_##name##_future(                                              \
	    SNI_FIRST_##X(C) SNI_UNPAREN P, C##_##name##_future_t **fp_);     \
	int  C##_##name##_get(C##_##name##_future_t *f_, R *ret_);            \
	void C##_##name##_free(C##_##name##_future_t *f_);                    \
	void C##_##name##_aio(SNI_FIRST_##X(C) SNI_UNPAREN P, nng_aio *aio_); \
	int  C##_##name##_aio_get(nng_aio *aio_, R *ret_);                    \
	int  C##_##name##_impl(SNI_IMPL_FIRST_##X(C) SNI_UNPAREN P, R *ret_);

#define SNI_DECL_PROC(X, C, name, R, P)                                       \
	typedef struct C##_##name##_future_t C##_##name##_future_t;           \
	int C##_##name(SNI_FIRST_##X(C) SNI_UNPAREN P);                       \
	int C##_##name##_future(                                              \
	    SNI_FIRST_##X(C) SNI_UNPAREN P, C##_##name##_future_t **fp_);     \
	int  C##_##name##_get(C##_##name##_future_t *f_);                     \
	void C##_##name##_free(C##_##name##_future_t *f_);                    \
	void C##_##name##_aio(SNI_FIRST_##X(C) SNI_UNPAREN P, nng_aio *aio_); \
	int  C##_##name##_aio_get(nng_aio *aio_);                             \
	int  C##_##name##_impl(SNI_IMPL_FIRST_##X(C) SNI_UNPAREN P);

#define SNI_DECL_GEN(X, C, name, R, P)                                                             \
	typedef struct C##_##name##_iter C##_##name##_iter;                                        \
	int                              C##_##name##_open(                                        \
	                                 SNI_FIRST_##X(C) SNI_UNPAREN P, C##_##name##_iter **it_); \
	int C##_##name##_next(C##_##name##_iter *it_, R *item_);                                   \
	int C##_##name##_close(C##_##name##_iter *it_);                                            \
	int C##_##name##_close_future(                                                             \
	    C##_##name##_iter *it_, syn_future **fp_);                                             \
	int C##_##name##_throw(C##_##name##_iter *it_, int code_,                                  \
	    const char *message_, R *item_);                                                       \
	typedef struct C##_##name##_next_t C##_##name##_next_t;                                    \
	int                                C##_##name##_next_future(                               \
	                                   C##_##name##_iter *it_, C##_##name##_next_t **fp_);     \
	int  C##_##name##_next_get(C##_##name##_next_t *f_, R *item_);                             \
	void C##_##name##_next_free(C##_##name##_next_t *f_);                                      \
	int  C##_##name##_impl(SNI_IMPL_FIRST_##X(C) SNI_UNPAREN P);                               \
	SNI_MAYBE_UNUSED SYN_MUST_CHECK static inline int C##_##name##_yield(                      \
	    syn_task *t_, R item_)                                                                 \
	{                                                                                          \
		syn_value v_ = SYN_TO_VALUE_(item_);                                               \
		return syn_yield(t_, &v_, NULL);                                                   \
	}

#define SNI_DECL_INIT(X, C, name, R, P)                                               \
	int C##_new(syn_synchronizer s_ SNI_UNPAREN P, C##_ref *out_);                \
	typedef struct C##_new_t C##_new_t;                                           \
	int                      C##_new_future(                                      \
	                         syn_synchronizer s_ SNI_UNPAREN P, C##_new_t **fp_); \
	int  C##_new_get(C##_new_t *f_, C##_ref *out_);                               \
	void C##_new_free(C##_new_t *f_);                                             \
	int  C##_init_impl(syn_task *t_, C##_state *self_ SNI_UNPAREN P);

/* ==== definitions: the caller's side ==================================== */

/* A body: makes the call CALL (into r_), takes its result into *out
 * (when not NULL) and returns the code. */
#define SNI_RETURN_TAKEN(CALL, out)                    \
	syn_result r_  = SYN_RESULT_INIT;              \
	int        rc_ = (CALL);                       \
	if (rc_ == 0 && (out) != NULL) {               \
		rc_ = SYN_TAKE_VALUE_(&r_.value, out); \
	}                                              \
	if (r_.mem_ != NULL || r_.held_ != NULL) {     \
		syn_result_fini(&r_); /* (else nil) */ \
	}                                              \
	return rc_;

/* GET (wait for a future of type T, then read its R result) and FREE. */
#define SNI_GET_FORM_AS(GET, FREE, T, R)                                  \
	int GET(T *f_, R *ret_)                                           \
	{                                                                 \
		const syn_value *v_;                                      \
		int              rc_ = syn_future_wait(SYN_FUTURE(f_));   \
		if (rc_ == 0 && ret_ != NULL &&                           \
		    (rc_ = syn_future_value(SYN_FUTURE(f_), &v_)) == 0) { \
			rc_ = SYN_TAKE_VALUE_(v_, ret_);                  \
		}                                                         \
		return rc_;                                               \
	}                                                                 \
	SNI_FREE_FORM(FREE, T)
#define SNI_FREE_FORM(FREE, T)                   \
	void FREE(T *f_)                         \
	{                                        \
		syn_future_free(SYN_FUTURE(f_)); \
	}

/* F_get and F_free, for futures of type F_t. */
#define SNI_GET_FORM(F, R) SNI_GET_FORM_AS(F##_get, F##_free, F##_t, R)

#define SNI_CALLER(X, C, K, name, R, n, P, A, D, RD, N) \
	SNI_CALLER_##K(X, C, name, R, P, A)

#define SNI_CALLER_FUTURE_AIO(X, C, name, P, A)                              \
	int C##_##name##_future(                                             \
	    SNI_FIRST_##X(C) SNI_UNPAREN P, C##_##name##_future_t **fp_)     \
	{                                                                    \
		SNI_ARGS_ARRAY(SNI_UNPAREN A);                               \
		return SNI_DO_FUT_##X(C, name, (syn_future **) fp_);         \
	}                                                                    \
	void C##_##name##_aio(SNI_FIRST_##X(C) SNI_UNPAREN P, nng_aio *aio_) \
	{                                                                    \
		SNI_ARGS_ARRAY(SNI_UNPAREN A);                               \
		SNI_DO_AIO_##X(C, name, aio_);                               \
	}

#define SNI_CALLER_FUNC(X, C, name, R, P, A)                               \
	int C##_##name(SNI_FIRST_##X(C) SNI_UNPAREN P, R *ret_)            \
	{                                                                  \
		SNI_ARGS_ARRAY(SNI_UNPAREN A);                             \
		SNI_RETURN_TAKEN(SNI_DO_CALL_##X(C, name, &r_), ret_)      \
	}                                                                  \
	SNI_GET_FORM_AS(                                                   \
	    C##_##name##_get, C##_##name##_free, C##_##name##_future_t, R) \
	int C##_##name##_aio_get(nng_aio *aio_, R *ret_) {                 \
		SNI_RETURN_TAKEN(syn_aio_result(aio_, &r_), ret_)          \
	} SNI_CALLER_FUTURE_AIO(X, C, name, P, A)

#define SNI_CALLER_PROC(X, C, name, R, P, A)                    \
	int C##_##name(SNI_FIRST_##X(C) SNI_UNPAREN P)          \
	{                                                       \
		SNI_ARGS_ARRAY(SNI_UNPAREN A);                  \
		return SNI_DO_CALL_##X(C, name, NULL);          \
	}                                                       \
	int C##_##name##_get(C##_##name##_future_t *f_)         \
	{                                                       \
		return syn_future_wait(SYN_FUTURE(f_));         \
	}                                                       \
	int C##_##name##_aio_get(nng_aio *aio_)                 \
	{                                                       \
		return syn_aio_result(aio_, NULL);              \
	}                                                       \
	SNI_FREE_FORM(C##_##name##_free, C##_##name##_future_t) \
	SNI_CALLER_FUTURE_AIO(X, C, name, P, A)

#define SNI_CALLER_GEN(X, C, name, R, P, A)                                    \
	int C##_##name##_open(                                                 \
	    SNI_FIRST_##X(C) SNI_UNPAREN P, C##_##name##_iter **it_)           \
	{                                                                      \
		SNI_ARGS_ARRAY(SNI_UNPAREN A);                                 \
		return SNI_DO_ITER_##X(C, name, (syn_iter **) it_);            \
	}                                                                      \
	int C##_##name##_next(C##_##name##_iter *it_, R *item_)                \
	{                                                                      \
		SNI_RETURN_TAKEN(syn_iter_next((syn_iter *) it_, &r_), item_)  \
	}                                                                      \
	int C##_##name##_close(C##_##name##_iter *it_)                         \
	{                                                                      \
		return syn_iter_close((syn_iter *) it_);                       \
	}                                                                      \
	int C##_##name##_close_future(                                         \
	    C##_##name##_iter *it_, syn_future **fp_)                          \
	{                                                                      \
		return syn_iter_close_future((syn_iter *) it_, fp_);           \
	}                                                                      \
	int C##_##name##_throw(                                                \
	    C##_##name##_iter *it_, int code_, const char *message_, R *item_) \
	{                                                                      \
		SNI_RETURN_TAKEN(                                              \
		    syn_iter_throw((syn_iter *) it_, code_, message_, &r_),    \
		    item_)                                                     \
	}                                                                      \
	int C##_##name##_next_future(                                          \
	    C##_##name##_iter *it_, C##_##name##_next_t **fp_)                 \
	{                                                                      \
		return syn_iter_next_future(                                   \
		    (syn_iter *) it_, NULL, (syn_future **) fp_);              \
	}                                                                      \
	SNI_GET_FORM(C##_##name##_next, R)

#define SNI_CALLER_INIT(X, C, name, R, P, A)                                   \
	int C##_new(syn_synchronizer s_ SNI_UNPAREN P, C##_ref *out_)          \
	{                                                                      \
		SNI_ARGS_ARRAY(SNI_UNPAREN A);                                 \
		return syn_new(s_, #C, args_, nargs_, (syn_proxy **) out_);    \
	}                                                                      \
	int C##_new_future(syn_synchronizer s_ SNI_UNPAREN P, C##_new_t **fp_) \
	{                                                                      \
		SNI_ARGS_ARRAY(SNI_UNPAREN A);                                 \
		return syn_new_future(                                         \
		    s_, #C, args_, nargs_, (syn_future **) fp_);               \
	}                                                                      \
	SNI_GET_FORM(C##_new, C##_ref)

/* ==== definitions: the implementation's side (glue) ==================== */

#define SNI_GLUE(X, C, K, name, R, n, P, A, D, RD, N) \
	SNI_GLUE_##K(X, C, name, R, n, D, RD, N)

/* Checks and reads the arguments into the declared variables. */
#define SNI_GLUE_READ(C, name, n, D, RD)                            \
	static const char name_[] = #C "_" #name;                   \
	int               rc_     = 0;                              \
	(void) rc_;                                                 \
	(void) args_; /* (an entry with no arguments reads none) */ \
	D;                                                          \
	if (nargs_ != n) {                                          \
		return syn_raise(t_, SYN_EINVAL,                    \
		    "%s takes %d argument%s, got %zu", name_, n,    \
		    n == 1 ? "" : "s", nargs_);                     \
	}                                                           \
	RD

#define SNI_GLUE_FUNC(X, C, name, R, n, D, RD, N)                          \
	static int C##_##name##_glue_(syn_task *t_,                        \
	    SNI_GLUE_SELF_##X const syn_value *args_, size_t nargs_,       \
	    syn_value *ret_)                                               \
	{                                                                  \
		SNI_GLUE_READ(C, name, n, D, RD)                           \
		R r_;                                                      \
		memset(&r_, 0, sizeof(r_));                                \
		if ((rc_ = C##_##name##_impl(                              \
		         SNI_IMPL_ARGS_##X(C) SNI_UNPAREN N, &r_)) == 0) { \
			*ret_ = SYN_TO_VALUE_(r_);                         \
		}                                                          \
		return rc_;                                                \
	}

#define SNI_GLUE_PROC(X, C, name, R, n, D, RD, N)                             \
	static int C##_##name##_glue_(syn_task *t_,                           \
	    SNI_GLUE_SELF_##X const syn_value *args_, size_t nargs_,          \
	    syn_value *ret_)                                                  \
	{                                                                     \
		SNI_GLUE_READ(C, name, n, D, RD)                              \
		(void) ret_;                                                  \
		return C##_##name##_impl(SNI_IMPL_ARGS_##X(C) SNI_UNPAREN N); \
	}

#define SNI_GLUE_GEN SNI_GLUE_PROC

#define SNI_GLUE_INIT(X, C, name, R, n, D, RD, N)                             \
	static int C##_init_glue_(                                            \
	    syn_task *t_, void *self_, const syn_value *args_, size_t nargs_) \
	{                                                                     \
		SNI_GLUE_READ(C, name, n, D, RD)                              \
		return C##_init_impl(t_, (C##_state *) self_ SNI_UNPAREN N);  \
	}

/* ==== registration ====================================================== */

/* A function: one syn_register per entry. */
#define SNI_FREG(X, C, K, name, R, n, P, A, D, RD, N)           \
	if (rc_ == 0) {                                         \
		syn_func_def d_ = { #C "_" #name, SNI_KIND_##K, \
			C##_##name##_glue_, NULL };             \
		rc_             = syn_register(s_, &d_);        \
	}

/* A method: one row of the method table (the constructor has none). */
#define SNI_MROW(X, C, K, name, R, n, P, A, D, RD, N) SNI_MROW_##K(C, name)
#define SNI_MROW_FUNC(C, name) \
	{ #name, SYN_KIND_FUNCTION, C##_##name##_glue_, 0 },
#define SNI_MROW_PROC SNI_MROW_FUNC
#define SNI_MROW_GEN(C, name) \
	{ #name, SYN_KIND_GENERATOR, C##_##name##_glue_, 0 },
#define SNI_MROW_INIT(C, name)

/* ==== the five-macro sets =============================================== */

#define SNI_SET(G, X)                                         \
	SNI_S0_##G##_##X, SNI_S1_##G##_##X, SNI_S2_##G##_##X, \
	    SNI_S3_##G##_##X, SNI_S4_##G##_##X

/* For each generator G in {SNI_DECL, SNI_CALLER, SNI_GLUE, SNI_FREG,
 * SNI_MROW} and mode X in {FN, M}: five adapters. */
#define SNI_S0_DECL_FN(...) SNI_AD0(SNI_DECL, FN, __VA_ARGS__)
#define SNI_S1_DECL_FN(...) SNI_AD1(SNI_DECL, FN, __VA_ARGS__)
#define SNI_S2_DECL_FN(...) SNI_AD2(SNI_DECL, FN, __VA_ARGS__)
#define SNI_S3_DECL_FN(...) SNI_AD3(SNI_DECL, FN, __VA_ARGS__)
#define SNI_S4_DECL_FN(...) SNI_AD4(SNI_DECL, FN, __VA_ARGS__)
#define SNI_S0_DECL_M(...) SNI_AD0(SNI_DECL, M, __VA_ARGS__)
#define SNI_S1_DECL_M(...) SNI_AD1(SNI_DECL, M, __VA_ARGS__)
#define SNI_S2_DECL_M(...) SNI_AD2(SNI_DECL, M, __VA_ARGS__)
#define SNI_S3_DECL_M(...) SNI_AD3(SNI_DECL, M, __VA_ARGS__)
#define SNI_S4_DECL_M(...) SNI_AD4(SNI_DECL, M, __VA_ARGS__)
#define SNI_S0_CALLER_FN(...) SNI_AD0(SNI_CALLER, FN, __VA_ARGS__)
#define SNI_S1_CALLER_FN(...) SNI_AD1(SNI_CALLER, FN, __VA_ARGS__)
#define SNI_S2_CALLER_FN(...) SNI_AD2(SNI_CALLER, FN, __VA_ARGS__)
#define SNI_S3_CALLER_FN(...) SNI_AD3(SNI_CALLER, FN, __VA_ARGS__)
#define SNI_S4_CALLER_FN(...) SNI_AD4(SNI_CALLER, FN, __VA_ARGS__)
#define SNI_S0_CALLER_M(...) SNI_AD0(SNI_CALLER, M, __VA_ARGS__)
#define SNI_S1_CALLER_M(...) SNI_AD1(SNI_CALLER, M, __VA_ARGS__)
#define SNI_S2_CALLER_M(...) SNI_AD2(SNI_CALLER, M, __VA_ARGS__)
#define SNI_S3_CALLER_M(...) SNI_AD3(SNI_CALLER, M, __VA_ARGS__)
#define SNI_S4_CALLER_M(...) SNI_AD4(SNI_CALLER, M, __VA_ARGS__)
#define SNI_S0_GLUE_FN(...) SNI_AD0(SNI_GLUE, FN, __VA_ARGS__)
#define SNI_S1_GLUE_FN(...) SNI_AD1(SNI_GLUE, FN, __VA_ARGS__)
#define SNI_S2_GLUE_FN(...) SNI_AD2(SNI_GLUE, FN, __VA_ARGS__)
#define SNI_S3_GLUE_FN(...) SNI_AD3(SNI_GLUE, FN, __VA_ARGS__)
#define SNI_S4_GLUE_FN(...) SNI_AD4(SNI_GLUE, FN, __VA_ARGS__)
#define SNI_S0_GLUE_M(...) SNI_AD0(SNI_GLUE, M, __VA_ARGS__)
#define SNI_S1_GLUE_M(...) SNI_AD1(SNI_GLUE, M, __VA_ARGS__)
#define SNI_S2_GLUE_M(...) SNI_AD2(SNI_GLUE, M, __VA_ARGS__)
#define SNI_S3_GLUE_M(...) SNI_AD3(SNI_GLUE, M, __VA_ARGS__)
#define SNI_S4_GLUE_M(...) SNI_AD4(SNI_GLUE, M, __VA_ARGS__)
#define SNI_S0_FREG_FN(...) SNI_AD0(SNI_FREG, FN, __VA_ARGS__)
#define SNI_S1_FREG_FN(...) SNI_AD1(SNI_FREG, FN, __VA_ARGS__)
#define SNI_S2_FREG_FN(...) SNI_AD2(SNI_FREG, FN, __VA_ARGS__)
#define SNI_S3_FREG_FN(...) SNI_AD3(SNI_FREG, FN, __VA_ARGS__)
#define SNI_S4_FREG_FN(...) SNI_AD4(SNI_FREG, FN, __VA_ARGS__)
#define SNI_S0_MROW_M(...) SNI_AD0(SNI_MROW, M, __VA_ARGS__)
#define SNI_S1_MROW_M(...) SNI_AD1(SNI_MROW, M, __VA_ARGS__)
#define SNI_S2_MROW_M(...) SNI_AD2(SNI_MROW, M, __VA_ARGS__)
#define SNI_S3_MROW_M(...) SNI_AD3(SNI_MROW, M, __VA_ARGS__)
#define SNI_S4_MROW_M(...) SNI_AD4(SNI_MROW, M, __VA_ARGS__)

/* ==== the public entry points =========================================== */

/* Declares interface L's functions, prefixed C (in a header). */
#define SYN_FUNCTIONS_DECLARE(C, L)        \
	SNI_APPLY(L, SNI_SET(DECL, FN), C) \
	int C##_register(syn_synchronizer s_);

/* Defines them (in one .c file, after the declarations). */
#define SYN_FUNCTIONS_DEFINE(C, L)                 \
	SNI_APPLY(L, SNI_SET(CALLER, FN), C)       \
	SNI_APPLY(L, SNI_SET(GLUE, FN), C)         \
	int C##_register(syn_synchronizer s_)      \
	{                                          \
		int rc_ = 0;                       \
		SNI_APPLY(L, SNI_SET(FREG, FN), C) \
		return rc_;                        \
	}

/*
 * Declares class C (instance type C##_state, defined by the user before)
 * with interface L (in a header).
 */
#define SYN_CLASS_DECLARE(C, L)                                           \
	typedef struct C##_ref_            *C##_ref;                      \
	SNI_MAYBE_UNUSED static inline void C##_release(C##_ref r_)       \
	{                                                                 \
		syn_ref_release(r_);                                      \
	}                                                                 \
	SNI_MAYBE_UNUSED static inline C##_ref C##_ref_dup(C##_ref r_)    \
	{                                                                 \
		return (C##_ref) syn_ref_dup(r_);                         \
	}                                                                 \
	SNI_MAYBE_UNUSED static inline syn_proxy *C##_proxy(C##_ref r_)   \
	{                                                                 \
		return ((uintptr_t) r_ & 1) ? NULL : (syn_proxy *) r_;    \
	}                                                                 \
	SNI_MAYBE_UNUSED static inline C##_ref C##_self(C##_state *self_) \
	{                                                                 \
		return (C##_ref)((uintptr_t) self_ | 1);                  \
	}                                                                 \
	SNI_APPLY(L, SNI_SET(DECL, M), C)                                 \
	void C##_fini_impl(C##_state *self_);                             \
	int  C##_register(syn_synchronizer s_);

/* Defines class C (in one .c file, after the declarations). */
#define SYN_CLASS_DEFINE(C, L) SYN_CLASS_DEFINE_FLAGS(C, L, 0)

/*
 * Defines class C with syn_class_flags: SYN_CLASS_DEFINE_FLAGS(C, L,
 * SYN_CLASS_BLOCKING) makes its init and methods plain blocking functions
 * run on the blocking pool (synchronicity/class.h).
 */
#define SYN_CLASS_DEFINE_FLAGS(C, L, FLAGS)                                   \
	SNI_APPLY(L, SNI_SET(CALLER, M), C)                                   \
	SNI_APPLY(L, SNI_SET(GLUE, M), C)                                     \
	static void C##_fini_glue_(void *self_)                               \
	{                                                                     \
		C##_fini_impl((C##_state *) self_);                           \
	}                                                                     \
	int C##_register(syn_synchronizer s_)                                 \
	{                                                                     \
		static const syn_method_def rows_[] = { SNI_APPLY(            \
		    L, SNI_SET(MROW, M), C) { NULL, 0, NULL, 0 } };           \
		syn_class_def def_ = { #C, sizeof(C##_state), C##_init_glue_, \
			C##_fini_glue_, rows_,                                \
			sizeof(rows_) / sizeof(rows_[0]) - 1, (FLAGS) };      \
		return syn_register_class(s_, &def_);                         \
	}

#endif /* SYNCHRONICITY_TYPED_GEN_H */
