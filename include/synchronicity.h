/*
 * synchronicity for C: write asynchronous code once, confined to an actor
 * thread, and offer it blocking, as futures, and through nng_aio.
 *
 * The one header users include. Start with synchronizer.h (the actor),
 * function.h (registering and calling functions), task.h (what code inside
 * a synchronizer can await), future.h and value.h; iter.h iterates
 * generators, class.h makes objects behind proxies, typed.h declares
 * typed interfaces over all of it; error.h has the codes, version.h the
 * version (SYN_VERSION_*, syn_version()).
 */
#ifndef SYNCHRONICITY_H
#define SYNCHRONICITY_H

#include <nng/nng.h>

#include <synchronicity/cancel.h>
#include <synchronicity/class.h>
#include <synchronicity/context.h>
#include <synchronicity/error.h>
#include <synchronicity/export.h>
#include <synchronicity/function.h>
#include <synchronicity/future.h>
#include <synchronicity/iter.h>
#include <synchronicity/serve.h>
#include <synchronicity/synchronizer.h>
#include <synchronicity/task.h>
#include <synchronicity/typed.h>
#include <synchronicity/value.h>
#include <synchronicity/version.h>

#endif /* SYNCHRONICITY_H */
