import CFuse3
import CFuse3Shim
import FilesystemCore
#if canImport(Glibc)
import Glibc
#endif

// The one file of thin wrappers around C calls that take pointers (libfuse, posix_spawn). Everything else in the module works
// with Swift values; each wrapper says why its use of a pointer is safe.

/// A request from the kernel, waiting for its reply.
///
/// `fuse_req_t` is a pointer and so not `Sendable`; this wrapper may cross into a Task because libfuse allows
/// replying from any thread, and the request stays valid until its one reply (which `PendingReply` guarantees)
/// frees it.
struct FUSERequest: @unchecked Sendable {
    let raw: OpaquePointer

    /// libfuse never calls an operation with a NULL request.
    init(_ raw: fuse_req_t?) {
        self.raw = raw!
    }

    /// The session's `BridgeContext`; only until the reply, which frees the request. Safe: the userdata is
    /// retained from `fuse_session_new` until after `fuse_session_destroy`, and teardown drains every request
    /// before that.
    var context: BridgeContext {
        Unmanaged<BridgeContext>.fromOpaque(fuse_req_userdata(raw)).takeUnretainedValue()
    }

    /// Calls `BridgeContext.interrupt(id)` when the kernel interrupts this request, at once if it already did.
    ///
    /// Safe: the data pointer carries the id as an integer, not a reference, so there is nothing to keep alive;
    /// libfuse stops calling the function once the reply is sent.
    func onInterrupt(_ id: RequestID) {
        fuse_req_interrupt_func(raw, { request, data in
            guard let request else { return }
            FUSERequest(request).context.interrupt(RequestID(rawValue: UInt64(UInt(bitPattern: data))))
        }, UnsafeMutableRawPointer(bitPattern: UInt(id.rawValue)))
    }

    /// The uid and gid of the process that made the request. Safe: libfuse returns a pointer into the request,
    /// valid until the reply; the values are copied out at once.
    var caller: Caller {
        let context = fuse_req_ctx(raw)!.pointee
        return Caller(uid: context.uid, gid: context.gid)
    }

    // MARK: Replies. Each returns 0, or a negative errno when the kernel did not take the reply (the request
    // was interrupted and forgotten, or the connection is gone). Every one frees the request.

    func replyError(_ errno: Int32) -> Int32 {
        fuse_reply_err(raw, errno)
    }

    /// Also the negative entry: `ino` 0 with an entry timeout. Safe: libfuse copies `entry` before returning.
    func replyEntry(_ entry: fuse_entry_param) -> Int32 {
        withUnsafePointer(to: entry) { fuse_reply_entry(raw, $0) }
    }

    /// Safe: libfuse copies `attributes` before returning.
    func replyAttributes(_ attributes: stat, timeout: Double) -> Int32 {
        withUnsafePointer(to: attributes) { fuse_reply_attr(raw, $0, timeout) }
    }

    /// Safe: libfuse copies the handle and flags out of `info` before returning.
    func replyOpen(_ info: fuse_file_info) -> Int32 {
        withUnsafePointer(to: info) { fuse_reply_open(raw, $0) }
    }

    /// CREATE's answer: the new entry and the open handle. Safe: libfuse copies both before returning.
    func replyCreate(_ entry: fuse_entry_param, _ info: fuse_file_info) -> Int32 {
        withUnsafePointer(to: entry) { entry in withUnsafePointer(to: info) { fuse_reply_create(raw, entry, $0) } }
    }

    /// WRITE's and COPY_FILE_RANGE's answer: the bytes taken.
    func replyWrite(_ count: Int) -> Int32 {
        fuse_reply_write(raw, count)
    }

    /// Sends `bytes` as the reply body; the kernel copies them during the call, so this is the only copy between
    /// the caller's buffer and the reading process.
    func replyBuffer(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        fuse_reply_buf(raw, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
    }

    func replyReadLink(_ target: String) -> Int32 {
        target.withCString { fuse_reply_readlink(raw, $0) }
    }

    /// Safe: libfuse copies `statistics` before returning.
    func replyStatistics(_ statistics: statvfs) -> Int32 {
        withUnsafePointer(to: statistics) { fuse_reply_statfs(raw, $0) }
    }

    /// The size of an extended attribute's value or name list, for a size-0 probe.
    func replyExtendedAttributeSize(_ size: Int) -> Int32 {
        fuse_reply_xattr(raw, size)
    }

    /// For FORGET, which takes no reply; frees the request.
    func replyNone() {
        fuse_reply_none(raw)
    }

    /// Appends one READDIR entry at `offset` bytes into `buffer`; returns the size the entry needs, which was
    /// written only if it fit. Safe: libfuse writes at most `buffer.count - offset` bytes from that point, and
    /// copies the name and `attributes` during the call.
    func addDirectoryEntry(
        into buffer: UnsafeMutableRawBufferPointer, at offset: Int, name: String, attributes: stat, cookie: UInt64
    ) -> Int {
        Self.appending(to: buffer, at: offset, name: name, attributes) { start, space, name, attributes in
            fuse_add_direntry(raw, start, space, name, attributes, off_t(bitPattern: cookie))
        }
    }

    /// Appends one READDIRPLUS entry; as ``addDirectoryEntry(into:at:name:attributes:cookie:)``.
    func addDirectoryEntryPlus(
        into buffer: UnsafeMutableRawBufferPointer, at offset: Int, name: String, entry: fuse_entry_param, cookie: UInt64
    ) -> Int {
        Self.appending(to: buffer, at: offset, name: name, entry) { start, space, name, entry in
            fuse_add_direntry_plus(raw, start, space, name, entry, off_t(bitPattern: cookie))
        }
    }

    /// The free space from `offset` on, the name as a C string and a pointer to `value`, for one `fuse_add_*`.
    private static func appending<Value>(
        to buffer: UnsafeMutableRawBufferPointer, at offset: Int, name: String, _ value: Value,
        _ add: (UnsafeMutablePointer<CChar>, Int, UnsafePointer<CChar>, UnsafePointer<Value>) -> Int
    ) -> Int {
        let start = buffer.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
        return name.withCString { name in
            withUnsafePointer(to: value) { add(start, buffer.count - offset, name, $0) }
        }
    }
}

extension off_t {
    /// Readdir cookies are opaque 64-bit values that travel in the kernel's signed `off_t`.
    init(bitPattern cookie: UInt64) {
        self = off_t(Int64(bitPattern: cookie))
    }
}

/// A session created by `qfuse_session_new`, from the thread that owns it.
///
/// Not `Sendable` in C; the session thread alone mounts, loops, unmounts and destroys it, and other threads only
/// ever read the pointer.
struct FUSESessionHandle: @unchecked Sendable {
    let raw: OpaquePointer

    /// A session for `options` with the bridge's operations, or nil after libfuse printed why. Safe: libfuse
    /// copies `operations` and the option strings; `userdata` stays retained by the caller until `destroy()`.
    static func make(options: String, operations: fuse_lowlevel_ops, userdata: UnsafeMutableRawPointer) -> FUSESessionHandle? {
        let session = withUnsafePointer(to: operations) { operations in
            options.withCString { qfuse_session_new($0, operations, MemoryLayout<fuse_lowlevel_ops>.size, userdata) }
        }
        return session.map { FUSESessionHandle(raw: OpaquePointer($0)) }
    }

    /// Mounts; 0 or -1 after libfuse printed why.
    func mount(at mountpoint: String) -> Int32 {
        mountpoint.withCString { fuse_session_mount(raw, $0) }
    }

    /// Runs the multi-threaded loop on the calling thread until the session ends; 0, or an errno (negative
    /// or positive, as libfuse reports it). Safe: the configuration is created and freed around the call.
    func loop(maxThreads: Int) -> Int32 {
        guard let configuration = fuse_loop_cfg_create() else { return -ENOMEM }
        defer { fuse_loop_cfg_destroy(configuration) }
        fuse_loop_cfg_set_max_threads(configuration, UInt32(maxThreads))
        return fuse_session_loop_mt(raw, configuration)
    }

    /// Makes SIGINT, SIGTERM and SIGHUP end the loop; call on the thread that will run ``loop(maxThreads:)``.
    func installExitSignals() -> Bool {
        qfuse_exit_signals_install(UnsafeMutableRawPointer(raw)) == 0
    }

    func removeExitSignals() {
        qfuse_exit_signals_remove()
    }

    /// The exit signal that ended the loop, if one did.
    var exitSignal: Int32? {
        let signal = qfuse_exit_signal_received()
        return signal == 0 ? nil : signal
    }

    /// Unmounts (lazily, as libfuse does) and closes the device; a no-op if the kernel already unmounted.
    func unmount() {
        fuse_session_unmount(raw)
    }

    func destroy() {
        fuse_session_destroy(raw)
    }
}

/// `qfuse_spawn_detached` with Swift strings. Safe: every C string is duplicated before the call and freed
/// after it, and posix_spawn copies argv and envp into the child before returning.
func spawnDetached(
    _ path: String, arguments: [String], environment: [String: String], standardInput: Int32, standardOutput: Int32,
    standardError: Int32
) -> (pid: pid_t, errno: Int32) {
    let argv = arguments.map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        for string in argv { free(string) }
        for string in envp { free(string) }
    }
    var pid: pid_t = 0
    let result = qfuse_spawn_detached(&pid, path, argv, envp, standardInput, standardOutput, standardError)
    return (pid, result)
}
