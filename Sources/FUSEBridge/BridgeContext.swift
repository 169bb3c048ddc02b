import FilesystemCore
import Logging

/// The state one session's callbacks share, handed to libfuse as the session's userdata.
///
/// Threading: callbacks run on libfuse's threads and only decode and dispatch; the work runs in detached
/// Tasks. Everything here is immutable or guarded on its own (`requests`, `initialized`), so no lock is held
/// across a call into the core or libfuse.
final class BridgeContext: Sendable {
    let filesystem: any FilesystemOperations
    let configuration: FUSEConfiguration
    let logger: Logger
    let requests = RequestTracker()
    /// Resolved by the INIT callback with what was negotiated, or by the session thread if the session ended
    /// before INIT came.
    let initialized = OneShot<Result<ConnectionSettings, FUSEMountError>>()

    init(filesystem: any FilesystemOperations, configuration: FUSEConfiguration, logger: Logger) {
        self.filesystem = filesystem
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs `body` in a detached Task with the request's `PendingReply`, tracked so INTERRUPT can cancel it and
    /// teardown can wait for it.
    ///
    /// Detached: a Task that inherited an actor could be scheduled on a thread that is itself blocked in the
    /// FUSE loop or in a system call on this mount.
    func start(
        _ request: FUSERequest, _ operation: StaticString,
        _ body: @escaping @Sendable (any FilesystemOperations, consuming PendingReply) async -> Void
    ) {
        let id = requests.open()
        request.onInterrupt(id)
        let filesystem = self.filesystem
        let task = Task.detached {
            await body(filesystem, PendingReply(request, id: id, operation: operation))
        }
        requests.attach(task, to: id)
    }

    /// Answers on the calling libfuse thread, for what needs no I/O.
    func answer(_ request: FUSERequest, _ operation: StaticString, _ body: (consuming PendingReply) -> Void) {
        body(PendingReply(request, id: nil, operation: operation))
    }

    /// The kernel interrupted a request (its process got a signal): cancel the Task, whose core call then ends
    /// early and replies, typically EINTR.
    func interrupt(_ id: RequestID) {
        logger.trace("interrupt", metadata: ["fuse.request": "\(id)"])
        requests.interrupt(id)
    }
}

/// Runs a core call and captures its typed error, so a reply is consumed on exactly one path of a `switch`.
func outcome<Value>(_ body: () async throws(FilesystemError) -> Value) async -> Result<Value, FilesystemError> {
    do {
        return .success(try await body())
    } catch {
        return .failure(error)
    }
}
