// FUSEBridge: the kernel side of qfuse, and the only module that touches `fuse_req_t` and pointers.
//
// Design:
// - libfuse's low-level API, multi-threaded (`fuse_session_loop_mt`). A callback never does the work itself: it
//   decodes the request into Swift values, starts a detached Task that calls the `FilesystemOperations` method,
//   and returns, so a few libfuse threads carry any number of slow network operations. Detached, because a
//   Task that inherits an actor whose thread sits in the FUSE loop deadlocks.
// - Every request is answered exactly once, by construction: the Task owns a `PendingReply`, a noncopyable value
//   whose reply methods are `consuming`. A second reply does not compile; a forgotten one answers EIO from
//   `deinit` and logs the bug.
// - INTERRUPT cancels the request's Task (`fuse_req_interrupt_func`); the core sees an ordinary cancellation.
// - Lookup counts: the core counts a lookup when it hands out an `Entry`; the bridge reports which READDIRPLUS
//   entries actually fit into the reply (`didReturn`), and gives back the count of an entry the kernel never
//   received because the reply failed (an interrupted request), so FORGETs always balance.
// - Per-session state lives in one `BridgeContext`, passed to libfuse as the session's userdata; there are no
//   globals except the signal handlers' (process-wide by nature, in CFuse3Shim).
// - Teardown: the loop ends (unmount, exit signal, abort), in-flight Tasks are cancelled and drained, then the
//   session is unmounted and destroyed, never before its last reply.
//
// Files: `FUSEMount` (lifecycle), `FUSEConfiguration` (knobs), `LowLevelOperations` (the op table and request
// decoding), `BridgeContext+*.swift` (each op: core call and reply), `PendingReply`, `RequestTracker`,
// `DirectoryBuffer`, `DetachedProcess`, `CCalls` (every C call that takes pointers, each with why it is
// safe).
