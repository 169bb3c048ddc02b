import Logging
import NIOCore
import QumuloAPI
import QumuloClient
import Synchronization

/// Write-back (design.md §2): bytes written through the mount wait in their file's ``InodeState`` and leave as
/// large `PATCH data?offset=` uploads, several per file at once, within one budget for the whole mount.
///
/// A writer waits while the budget is spent; only full extents leave on their own, so when the budget is full
/// every active file's dirty extents are sent, full or not (scattered small writes would otherwise hold the budget
/// forever). Each upload runs in a task of its own, so a writer interrupted by a signal never cancels bytes it
/// already handed over, and its answer is applied to the file in the same step that ends it.
///
/// Locking: none of its own; ``WriteBudget`` and ``ExtentMemory`` are leaves, and an ``InodeState``'s lock is
/// never held while they are taken here.
final class WriteBack: Sendable {
    let budget: WriteBudget
    let memory: ExtentMemory
    private let client: QumuloClient
    private let logger: Logger
    private let clock: CoreClock
    /// How long a live file's attributes are trusted once an upload's answer brings them.
    private let attributeTimeout: Double

    init(configuration: FilesystemConfiguration, client: QumuloClient, logger: Logger, clock: CoreClock) {
        budget = WriteBudget(limit: configuration.writeBuffer)
        // One spare per upload a sequential writer keeps in flight.
        memory = ExtentMemory(bufferSize: configuration.uploadSize, maxSpares: configuration.uploadsPerFile)
        self.client = client
        self.logger = logger
        self.clock = clock
        attributeTimeout = configuration.attributeTimeout
    }

    /// Takes `data` for `file` at `offset`, once the budget has room, and starts the uploads that made due.
    func write(_ data: ByteBuffer, at offset: UInt64, of file: InodeState, active inodes: InodeTable) async {
        if !budget.hasRoom(for: data.readableBytes) {
            for file in inodes.activeInodes { startUploads(file.dueUploads(all: true), of: file) }
        }
        await budget.acquire(data.readableBytes)
        let (added, due) = file.write(data, at: offset)
        budget.release(data.readableBytes - added)
        startUploads(due, of: file)
    }

    /// Starts each upload in a task of its own; each one ends by starting the uploads that became due.
    func startUploads(_ uploads: [InodeState.Upload], of file: InodeState) {
        for upload in uploads {
            // Handed over, not captured: the task must own the extent alone to pass its memory on afterwards.
            let handoff = Mutex<InodeState.Upload?>(upload)
            Task { [self] in
                guard let upload = handoff.withLock({ $0.take() }) else { return }
                let number = upload.number
                let extent = (consume upload).extent
                let result: Result<FileAttributes, FilesystemError>
                let sent = clock.now
                do {
                    result = .success(try await client.write(.id(file.object.fileID), offset: extent.offset, extent.data).value)
                } catch {
                    let failure = FilesystemError(error, "write \(extent.data.readableBytes) bytes at \(extent.offset) of \(file.path)")
                    logger.error("write failed", metadata: [
                        "file.path": "\(file.path)", "file.offset": "\(extent.offset)",
                        "file.bytes": "\(extent.data.readableBytes)", "error": "\(failure)",
                    ])
                    result = .failure(failure)
                }
                // The answer and the end of the upload are one step: in between, the file would show neither the
                // local size nor the server's.
                file.finishUpload(number, result, sentAt: sent, lifetime: attributeTimeout, now: clock.now)
                budget.release(extent.data.readableBytes)
                memory.recycle((consume extent).data)
                startUploads(file.dueUploads(all: false), of: file)
            }
        }
    }

    /// Returns once every write of `file` so far, then its held attribute change (sent by `send`), has reached the
    /// server or failed; a failure of the change is counted for the file's handles.
    func drain(
        _ file: InodeState, sendingChange send: (SetAttributesRequest) async throws(FilesystemError) -> Void
    ) async {
        while true {
            startUploads(file.dueUploads(all: true), of: file)
            let (idle, progress) = file.idle
            if idle { break }
            await file.waitForProgress(after: progress)
        }
        guard let change = file.takeAttributeChange(), !change.isEmpty else { return }
        do {
            try await send(change)
        } catch {
            logger.error("attribute change failed", metadata: ["file.path": "\(file.path)", "error": "\(error)"])
            file.recordFailure(error)
        }
    }
}
