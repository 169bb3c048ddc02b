// The libfuse 3 low-level API as Swift sees it.
//
// FUSE_USE_VERSION 312 pins the API of libfuse 3.12: at this level `fuse_session_loop_mt` is a real function
// Swift can call (below 3.12 it is a function-like macro Swift cannot see). Anything Swift cannot import
// (variadic functions, function-like macros, the 3.17 header wrapper around `fuse_session_new`) lives in the
// CFuse3Shim target instead.
#ifndef QFUSE_CFUSE3_SHIM_H
#define QFUSE_CFUSE3_SHIM_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif

#include <fuse_lowlevel.h>

#endif
