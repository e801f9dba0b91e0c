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

/* Reads args[i] as letter c into the next pointer(s) of ap. */
static int
read_one(syn_task *t, char c, const syn_value *v, size_t i, va_list *ap)
{
	int rc;
	switch (c) {
	case 'b':
		rc = syn_value_get_bool(v, va_arg(*ap, bool *));
		break;
	case 'i':
		rc = syn_value_get_int(v, va_arg(*ap, int64_t *));
		break;
	case 'u':
		rc = syn_value_get_uint(v, va_arg(*ap, uint64_t *));
		break;
	case 'd':
		rc = syn_value_get_double(v, va_arg(*ap, double *));
		break;
	case 's':
		rc = syn_value_get_str(v, va_arg(*ap, const char **), NULL);
		break;
	case 'y': {
		const void **p = va_arg(*ap, const void **);
		rc = syn_value_get_bytes(v, p, va_arg(*ap, size_t *));
		break;
	}
	case 'h':
		rc = v->type == SYN_TYPE_HANDLE ? 0 : SYN_EBADTYPE;
		*va_arg(*ap, const syn_handle **) =
		    rc == 0 ? v->as.handle : NULL;
		break;
	case 'p':
		rc = v->type == SYN_TYPE_PTR ? 0 : SYN_EBADTYPE;
		*va_arg(*ap, void **) = rc == 0 ? v->as.ptr : NULL;
		break;
	case 'o':
		rc = v->type == SYN_TYPE_OBJECT ? 0 : SYN_EBADTYPE;
		if (rc == 0 && sni_task_lent() != NULL) {
			rc = SYN_ESTATE; /* its calls run meanwhile */
		}
		*va_arg(*ap, void **) = rc == 0 ? v->as.object : NULL;
		break;
	case 'P':
		rc = v->type == SYN_TYPE_PROXY ? 0 : SYN_EBADTYPE;
		*va_arg(*ap, syn_proxy **) = rc == 0 ? v->as.proxy : NULL;
		break;
	default: /* l, m, v */
		rc = (c == 'v' || v->type == wanted_type(c)) ? 0 : SYN_EBADTYPE;
		*va_arg(*ap, const syn_value **) = rc == 0 ? v : NULL;
		break;
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
