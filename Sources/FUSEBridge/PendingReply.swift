import CFuse3
import FilesystemCore
import Logging
import NIOCore
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A request the kernel is waiting on, answered exactly once.
///
/// Noncopyable, and every reply method is `consuming`: after a reply the value is gone, so a second reply does
/// not compile. A path that drops one without replying gets EIO sent from `deinit` and an error in the log, so
/// the process blocked in the system call is never left waiting. (Every stored property is trivial, which
/// `discard self` requires.)
struct PendingReply: ~Copyable {
    private let request: FUSERequest
    /// Taken from the request while it is valid: a reply frees the request, and its userdata with it. Unretained
    /// is safe: the session keeps the context alive until every request is answered.
    private let contextReference: Unmanaged<BridgeContext>
    /// The tracker entry to close after replying; nil for a request answered on the libfuse thread.
    private let id: RequestID?
    let operation: StaticString

    init(_ request: FUSERequest, id: RequestID?, operation: StaticString) {
        self.request = request
        self.contextReference = Unmanaged.passUnretained(request.context)
        self.id = id
        self.operation = operation
    }

    deinit {
        context.logger.error(
            "request dropped without a reply; answering EIO",
            metadata: ["fuse.op": "\(operation)"])
        _ = request.replyError(EIO)
        if let id { context.requests.close(id) }
    }

    var context: BridgeContext { contextReference.takeUnretainedValue() }

    /// Ends the tracking after a reply. Every reply method ends with it.
    private consuming func finish(_ result: Int32) {
        if result != 0 {
            context.logger.trace("reply not delivered",
                                 metadata: ["fuse.op": "\(operation)", "fuse.errno": "\(Errno(rawValue: -result))"])
        }
        if let id { context.requests.close(id) }
        discard self
    }

    // MARK: Errors

    consuming func error(_ errno: Errno) {
        let result = request.replyError(errno.rawValue)
        finish(result)
    }

    /// Replies with the error's errno and logs it: at debug for answers that are part of normal life (a
    /// missing name, an interrupted read), at warning for the ones that mean something broke.
    consuming func error(_ error: FilesystemError) {
        let level: Logger.Level = error.errno == .ioError ? .warning : .debug
        context.logger.log(level: level, "request failed",
                           metadata: ["fuse.op": "\(operation)", "fuse.errno": "\(error.errno.rawValue)",
                                      "fuse.error": "\(error)"])
        self.error(error.errno)
    }

    consuming func success() {
        let result = request.replyError(0)
        finish(result)
    }

    // MARK: Entries and attributes

    /// A found entry, or a name the kernel may remember as absent. The core counted a lookup for a found one;
    /// if the kernel did not take the reply, that lookup is given back, or the node would never be forgotten.
    consuming func lookup(_ result: LookupResult) {
        switch result {
        case .found(let entry):
            let sent = request.replyEntry(fuse_entry_param(entry))
            if sent != 0 { context.filesystem.forget(entry.node, lookups: 1) }
            finish(sent)
        case .missing(let timeout):
            var negative = fuse_entry_param()
            negative.ino = 0
            negative.entry_timeout = timeout
            finish(request.replyEntry(negative))
        }
    }

    /// CREATE's answer. If the kernel did not take it, the lookup is given back and the handle closed, or the
    /// node and the open file would live for the rest of the mount.
    consuming func created(_ entry: Entry, _ reply: OpenReply, opened: FileInfo) {
        let sent = request.replyCreate(fuse_entry_param(entry), opened.replying(reply))
        if sent != 0 {
            let filesystem = context.filesystem
            filesystem.forget(entry.node, lookups: 1)
            Task.detached { await filesystem.release(entry.node, handle: reply.handle) }
        }
        finish(sent)
    }

    consuming func written(_ count: Int) {
        let result = request.replyWrite(count)
        finish(result)
    }

    consuming func attributes(_ reply: AttributesReply) {
        let result = request.replyAttributes(stat(reply.attributes), timeout: reply.timeout)
        finish(result)
    }

    // MARK: Handles and data

    /// The handle and cache flags for `open` or `opendir`; `opened` is the request's own file info.
    consuming func open(_ reply: OpenReply, opened: FileInfo) {
        let result = request.replyOpen(opened.replying(reply))
        finish(result)
    }

    /// The bytes of a READ, sent straight from the buffer's storage.
    consuming func data(_ buffer: ByteBuffer) {
        let result = buffer.withUnsafeReadableBytes { request.replyBuffer($0) }
        finish(result)
    }

    /// A packed READDIR or READDIRPLUS reply. The lookups of the entries that fit are counted before the
    /// reply is sent, since the kernel may FORGET them the moment it has them; if the kernel did not take the
    /// reply they are given back.
    consuming func directory(_ buffer: borrowing DirectoryBuffer) {
        let filesystem = context.filesystem
        if !buffer.returnedNodes.isEmpty { filesystem.didReturn(buffer.returnedNodes) }
        let result = buffer.withUnsafeBytes { request.replyBuffer($0) }
        if result != 0 {
            for node in buffer.returnedNodes { filesystem.forget(node, lookups: 1) }
        }
        finish(result)
    }

    consuming func readLink(_ target: String) {
        let result = request.replyReadLink(target)
        finish(result)
    }

    consuming func statistics(_ statistics: FilesystemStatistics) {
        let result = request.replyStatistics(statvfs(statistics))
        finish(result)
    }

    /// An extended attribute's value or a NUL-separated name list, for a buffer of `size` bytes: a size-0
    /// probe gets the length, a buffer too small gets ERANGE.
    consuming func extendedAttribute(_ bytes: [UInt8], size: Int) {
        if size == 0 {
            let result = request.replyExtendedAttributeSize(bytes.count)
            finish(result)
        } else if bytes.count > size {
            error(.outOfRange)
        } else {
            let result = bytes.withUnsafeBytes { request.replyBuffer($0) }
            finish(result)
        }
    }
}
