/*
 * actors/args.c: syn_unpack, reading a call's arguments with clear errors.
 */
#include <stdarg.h>
#include <string.h>

#include "core/task.h"

/* The type a format letter asks for, or -1 for an unknown letter. */
static int
wanted_type(char c)
{
	switch (c) {
	case 'b':
		return SYN_TYPE_BOOL;
	case 'i':
	case 'u':
		return SYN_TYPE_INT;
	case 'd':
		return SYN_TYPE_DOUBLE;
	case 's':
		return SYN_TYPE_STR;
	case 'y':
		return SYN_TYPE_BYTES;
	case 'l':
		return SYN_TYPE_LIST;
	case 'm':
		return SYN_TYPE_MAP;
	case 'h':
		return SYN_TYPE_HANDLE;
	case 'p':
		return SYN_TYPE_PTR;
	case 'o':
		return SYN_TYPE_OBJECT;
	case 'P':
		return SYN_TYPE_PROXY;
	case 'v':
		return SYN_TYPE_NIL; /* anything */
	default:
		return -1;
	}
}

static const char *
wanted_name(char c)
{
	return c == 'u' ? "unsigned int"
	                : (c == 'v' ? "any" : syn_type_name(wanted_type(c)));
}

/*
 * Reads v as letter c into the next pointer(s) of ap; *given is false
 * when the pointer to read into is NULL (nothing is read then).
 */
static int
read_into(char c, const syn_value *v, va_list *ap, bool *given)
{
	int   rc = 0;
	void *o;
	switch (c) {
	case 'b':
		o  = va_arg(*ap, bool *);
		rc = o != NULL ? syn_value_get_bool(v, o) : 0;
		break;
	case 'i':
		o  = va_arg(*ap, int64_t *);
		rc = o != NULL ? syn_value_get_int(v, o) : 0;
		break;
	case 'u':
		o  = va_arg(*ap, uint64_t *);
		rc = o != NULL ? syn_value_get_uint(v, o) : 0;
		break;
	case 'd':
		o  = va_arg(*ap, double *);
		rc = o != NULL ? syn_value_get_double(v, o) : 0;
		break;
	case 's':
		o  = va_arg(*ap, const char **);
		rc = o != NULL ? syn_value_get_str(v, o, NULL) : 0;
		break;
	case 'y': {
		o           = va_arg(*ap, const void **);
		size_t *len = va_arg(*ap, size_t *);
		rc          = o != NULL ? syn_value_get_bytes(v, o, len) : 0;
		break;
	}
	case 'h': {
		const syn_handle **h = va_arg(*ap, const syn_handle **);
		rc = v->type == SYN_TYPE_HANDLE ? 0 : SYN_EBADTYPE;
		if ((o = h) != NULL && rc == 0) {
			*h = v->as.handle;
		}
		break;
	}
	case 'p':
	case 'o': {
		void **out = va_arg(*ap, void **);
		rc = v->type == (c == 'p' ? SYN_TYPE_PTR : SYN_TYPE_OBJECT)
		    ? 0
		    : SYN_EBADTYPE;
		if (rc == 0 && c == 'o' && sni_task_lent() != NULL) {
			rc = SYN_ESTATE; /* its calls run meanwhile */
		}
		if ((o = out) != NULL && rc == 0) {
			*out = c == 'p' ? v->as.ptr : v->as.object;
		}
		break;
	}
	case 'P': {
		syn_proxy **out = va_arg(*ap, syn_proxy **);
		rc              = v->type == SYN_TYPE_PROXY ? 0 : SYN_EBADTYPE;
		if ((o = out) != NULL && rc == 0) {
			*out = v->as.proxy;
		}
		break;
	}
	default: { /* l, m, v */
		const syn_value **out = va_arg(*ap, const syn_value **);
		rc = (c == 'v' || v->type == wanted_type(c)) ? 0 : SYN_EBADTYPE;
		if ((o = out) != NULL) {
			*out = rc == 0 ? v : NULL;
		}
		break;
	}
	}
	*given = o != NULL;
	return rc;
}

/* Reads args[i] as letter c into the next pointer(s) of ap. */
static int
read_one(syn_task *t, char c, const syn_value *v, size_t i, va_list *ap)
{
	bool given;
	int  rc = read_into(c, v, ap, &given);
	if (!given) {
		return syn_raise(t, SYN_EINVAL,
		    "syn_unpack: the pointer for argument %zu is NULL", i);
	}
	if (rc == SYN_ERANGE) {
		return syn_raise(t, rc, "%s: argument %zu does not fit %s",
		    t->call.name, i, wanted_name(c));
	}
	if (rc == SYN_ESTATE) {
		return syn_raise(t, rc,
		    "%s: argument %zu is an object of this synchronizer, which "
		    "a blocking method cannot use (its calls run meanwhile)",
		    t->call.name, i);
	}
	if (rc != 0) {
		return syn_raise(t, SYN_EBADTYPE,
		    "%s: argument %zu is %s, expected %s", t->call.name, i,
		    syn_type_name(v->type), wanted_name(c));
	}
	return 0;
}

/* Checks fmt and counts its required and optional arguments. */
static int
count_format(syn_task *t, const char *fmt, size_t *required, size_t *total)
{
	bool optional = false;
	*required     = 0;
	*total        = 0;
	for (const char *p = fmt; *p != '\0'; p++) {
		if (*p == '|' && !optional) {
			optional = true;
		} else if (wanted_type(*p) < 0) {
			return syn_raise(t, SYN_EINVAL,
			    "syn_unpack: bad format \"%s\"", fmt);
		} else {
			(*total)++;
			*required += optional ? 0 : 1;
		}
	}
	return 0;
}

int
syn_unpack(
    syn_task *t, const syn_value *args, size_t nargs, const char *fmt, ...)
{
	size_t required, total;
	int    rc = sni_task_check_data(t);
	if (rc != 0) {
		return rc;
	}
	if (fmt == NULL || (nargs > 0 && args == NULL)) {
		return syn_raise(
		    t, SYN_EINVAL, "syn_unpack: NULL format or args");
	}
	if ((rc = count_format(t, fmt, &required, &total)) != 0) {
		return rc;
	}
	if (nargs < required || nargs > total) {
		return syn_raise(t, SYN_EINVAL,
		    "%s takes %s%zu argument%s, got %zu", t->call.name,
		    required == total
		        ? ""
		        : (nargs < required ? "at least " : "at most "),
		    nargs < required ? required : total,
		    (nargs < required ? required : total) == 1 ? "" : "s",
		    nargs);
	}
	va_list ap;
	va_start(ap, fmt);
	size_t i = 0;
	for (const char *p = fmt; *p != '\0' && i < nargs && rc == 0; p++) {
		if (*p != '|') {
			rc = read_one(t, *p, &args[i], i, &ap);
			i++;
		}
	}
	va_end(ap);
	return rc;
}
