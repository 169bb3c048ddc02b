import NIOCore
import QumuloAPI
import Synchronization

/// One file as this mount has it open, shared by all its handles: the data version reads are keyed by, and the
/// written bytes that are not on the server yet (write-back, design.md §2).
///
/// Writes land in `dirty`, sorted disjoint extents; an extent that reaches ``uploadSize`` is taken out and sent as
/// one `PATCH data?offset=`, several at once, never two overlapping (a later write over a range in flight waits
/// in `dirty` until that upload ends, so the server sees writes in order). Reads see the server's bytes, then the
/// uploads in flight, then `dirty`, so a reader always gets what was last written. A failed upload is counted;
/// every handle is told of failures it has not heard of at its next `write`, `flush` or `fsync`.
///
/// Attribute changes while the file is open (the owner and mode of a new file, then `tar`'s fchown, fchmod and
/// futimens) wait here too, merged into one `PATCH info/attributes` sent after the data at the next flush: one
/// request instead of four per extracted file. Until then the file shows them.
///
/// A pure state machine: ``QumuloFilesystem`` performs the uploads and reports how they ended.
final class OpenFile: Sendable {
    struct Extent: Sendable {
        var offset: UInt64
        var data: ByteBuffer
        var end: UInt64 { offset + UInt64(data.readableBytes) }
    }

    /// What a read needs: the server's version and size, and the newer bytes to lay over them, oldest first.
    struct ReadView {
        var version: String
        var serverSize: UInt64
        var size: UInt64
        var overlays: [Extent]
    }

    /// An upload to start: its number for ``finish(_:_:)`` and its bytes.
    struct Upload: Sendable {
        var number: Int
        var extent: Extent
    }

    let object: FileObject
    /// Where the file was when opened, for log lines about it.
    let path: String
    let maxUploads: Int
    private let memory: ExtentMemory
    var uploadSize: Int { memory.bufferSize }

    fileprivate struct State {
        var version: String
        var serverSize: UInt64
        /// The size with every pending write.
        var size: UInt64
        var dirty: [Extent] = []
        var dirtyBytes = 0
        var uploading: [Int: Extent] = [:]
        var nextUpload = 0
        var lastWrite: Timestamp?
        var attributeChange: SetAttributesRequest?
        /// Where the file was moved when unlinked while open, to remove at its last release.
        var hidden: (directory: FileObject, name: String)?
        var failures = 0
        var lastFailure: FilesystemError?
        /// Bumped whenever an upload ends, for ``waitForProgress(after:)``.
        var progress = 0
        var progressWaiters: [CheckedContinuation<Void, Never>] = []
        var handles = 0

        /// Bytes written that the server has not confirmed: dirty or being uploaded.
        var writesPending: Bool { !dirty.isEmpty || !uploading.isEmpty }
    }

    private let state: Mutex<State>

    init(object: FileObject, path: String, version: String, size: UInt64, memory: ExtentMemory, maxUploads: Int) {
        self.object = object
        self.path = path
        self.memory = memory
        self.maxUploads = maxUploads
        state = Mutex(State(version: version, serverSize: size, size: size))
    }

    // MARK: Handles

    func addHandle() {
        state.withLock { $0.handles += 1 }
    }

    /// Returns whether that was the last handle.
    func removeHandle() -> Bool {
        state.withLock { state in
            state.handles -= 1
            return state.handles == 0
        }
    }

    var isOpen: Bool { state.withLock { $0.handles > 0 } }

    /// The failures so far, which a new handle starts out having heard of.
    var failureCount: Int { state.withLock { $0.failures } }

    /// The failure a handle that has heard of `seen` failures has not been told of, and the new count.
    func unreportedFailure(seen: Int) -> (FilesystemError, Int)? {
        state.withLock { state in
            guard state.failures > seen, let failure = state.lastFailure else { return nil }
            return (failure, state.failures)
        }
    }

    // MARK: Server state

    /// Takes fresh attributes from the server (an open, a change of attributes) when nothing is pending, as then
    /// they are the whole truth; with writes pending, the local state stays.
    func refresh(_ attributes: FileAttributes, version: String) {
        state.withLock { state in
            guard state.dirty.isEmpty, state.uploading.isEmpty else { return }
            state.version = version
            state.serverSize = attributes.size
            state.size = attributes.size
        }
    }

    var readView: ReadView {
        state.withLock { state in
            ReadView(version: state.version, serverSize: state.serverSize, size: state.size,
                     overlays: Array(state.uploading.values) + state.dirty)
        }
    }

    /// The server's attributes as this mount must show them: with the size and time of pending writes (a
    /// smaller size would make the kernel cut its idea of the file short, and appends would land in the wrong
    /// place) and the pending attribute change.
    func presenting(_ attributes: FileAttributes) -> FileAttributes {
        state.withLock { state in
            var shown = attributes
            if let lastWrite = state.lastWrite, !(state.dirty.isEmpty && state.uploading.isEmpty) {
                shown.size = max(shown.size, state.size)
                shown.modificationTime = max(shown.modificationTime, lastWrite)
            }
            if let change = state.attributeChange { shown.apply(change) }
            return shown
        }
    }

    var hasPendingWrites: Bool { state.withLock { $0.writesPending } }

    /// Whether anything is waiting for the next flush: data or an attribute change.
    var hasPendingChanges: Bool { state.withLock { $0.writesPending || $0.attributeChange != nil } }

    /// Holds an attribute change for the next flush, merged over any held already.
    func deferChange(_ change: SetAttributesRequest) {
        state.withLock { state in
            state.attributeChange = state.attributeChange.map { $0.merging(change) } ?? change
        }
    }

    /// The held attribute change, to send once the data is on the server.
    func takeAttributeChange() -> SetAttributesRequest? {
        state.withLock { state in
            defer { state.attributeChange = nil }
            return state.attributeChange
        }
    }

    /// Records that the file's last name was moved aside (``QumuloFilesystem/unlink(_:name:)``).
    func hide(in directory: FileObject, as name: String) {
        state.withLock { $0.hidden = (directory, name) }
    }

    /// The name the file was moved aside to, once: the last release removes it.
    func takeHidden() -> (directory: FileObject, name: String)? {
        state.withLock { state in
            defer { state.hidden = nil }
            return state.hidden
        }
    }

    /// Counts a failure of this file's flush that is not an upload's (a held attribute change).
    func recordFailure(_ error: FilesystemError) {
        state.withLock { state in
            state.failures += 1
            state.lastFailure = error
        }
    }

    // MARK: Writes

    /// Records a write; returns the change in dirty bytes (what the write budget must hold) and the uploads that
    /// are now due.
    func write(_ data: ByteBuffer, at offset: UInt64) -> (addedBytes: Int, due: [Upload]) {
        state.withLock { state in
            let before = state.dirtyBytes
            state.merge(Extent(offset: offset, data: data), memory: memory)
            let added = state.dirtyBytes - before
            state.size = max(state.size, offset + UInt64(data.readableBytes))
            state.lastWrite = .now()
            // A write after futimens moves the time on, as it would have had the times been set at once.
            state.attributeChange?.modificationTime = nil
            return (added, takeUploads(&state, all: false))
        }
    }

    /// The uploads due once one has ended: full extents, or everything when `all` (a flush).
    func dueUploads(all: Bool) -> [Upload] {
        state.withLock { takeUploads(&$0, all: all) }
    }

    /// Records how upload `number` ended. A success moves the server's size and version on; a failure is counted,
    /// and its bytes are gone (the client already retried them).
    func finish(_ number: Int, _ result: Result<(FileAttributes, String), FilesystemError>) {
        let waiters = state.withLock { state in
            state.uploading[number] = nil
            switch result {
            case .success(let (attributes, version)):
                state.serverSize = max(state.serverSize, attributes.size)
                // Uploads end in any order; an older revision's answer must not replace a newer one's.
                let isOlder = UInt64(version).flatMap { new in UInt64(state.version).map { new < $0 } } ?? false
                if !isOlder { state.version = version }
            case .failure(let error):
                state.failures += 1
                state.lastFailure = error
            }
            state.progress += 1
            defer { state.progressWaiters = [] }
            return state.progressWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Whether nothing is pending, and the progress count to wait on otherwise.
    var idle: (Bool, progress: Int) {
        state.withLock { (!$0.writesPending, $0.progress) }
    }

    /// Returns once an upload ended after progress count `progress`.
    func waitForProgress(after progress: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                guard state.progress == progress else { return true }
                state.progressWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// Moves due extents from `dirty` into flight: any that does not overlap one in flight, if `all`; otherwise
    /// only full ones, while fewer than `maxUploads` are in flight.
    private func takeUploads(_ state: inout State, all: Bool) -> [Upload] {
        var due: [Upload] = []
        var index = 0
        while index < state.dirty.count {
            let extent = state.dirty[index]
            let full = extent.data.readableBytes >= uploadSize
            let room = all || state.uploading.count < maxUploads
            let overlapsFlight = state.uploading.values.contains { $0.offset < extent.end && extent.offset < $0.end }
            guard (all || full), room, !overlapsFlight else {
                index += 1
                continue
            }
            state.dirty.remove(at: index)
            state.dirtyBytes -= extent.data.readableBytes
            let number = state.nextUpload
            state.nextUpload += 1
            state.uploading[number] = extent
            due.append(Upload(number: number, extent: extent))
        }
        return due
    }
}

extension OpenFile.State {
    /// Lays `new` over the dirty extents, joining it with every one it overlaps or touches, so they stay sorted,
    /// disjoint and apart. A write that continues the extent before it (the sequential case) appends in place.
    fileprivate mutating func merge(_ new: OpenFile.Extent, memory: ExtentMemory) {
        // First extent ending at or after the new start, and the first starting after the new end.
        var low = 0, high = dirty.count
        while low < high {
            let middle = (low + high) / 2
            if dirty[middle].end < new.offset { low = middle + 1 } else { high = middle }
        }
        var upper = low
        while upper < dirty.count, dirty[upper].offset <= new.end { upper += 1 }
        guard low < upper else {
            // A large write likely starts a sequential stream: its extent gets room for a whole upload at once.
            if new.data.readableBytes >= memory.bufferSize / 64, new.data.readableBytes < memory.bufferSize {
                var room = memory.take()
                room.writeImmutableBuffer(new.data)
                dirty.insert(OpenFile.Extent(offset: new.offset, data: room), at: low)
            } else {
                dirty.insert(new, at: low)
            }
            dirtyBytes += new.data.readableBytes
            return
        }
        // Appended in place, before anything else holds the extent: a copy of it alive here would make the write
        // copy the whole extent first.
        if upper - low == 1, dirty[low].end == new.offset {
            dirty[low].data.writeImmutableBuffer(new.data)
            dirtyBytes += new.data.readableBytes
            return
        }
        let first = dirty[low], last = dirty[upper - 1]
        var joined = ByteBufferAllocator().buffer(capacity: Int(max(last.end, new.end) - min(first.offset, new.offset)))
        if first.offset < new.offset {
            joined.writeImmutableBuffer(first.data.getSlice(at: first.data.readerIndex, length: Int(new.offset - first.offset))!)
        }
        joined.writeImmutableBuffer(new.data)
        if last.end > new.end {
            let skip = Int(new.end - last.offset)
            joined.writeImmutableBuffer(last.data.getSlice(at: last.data.readerIndex + skip, length: Int(last.end - new.end))!)
        }
        for extent in dirty[low ..< upper] { dirtyBytes -= extent.data.readableBytes }
        dirty.replaceSubrange(low ..< upper, with: [OpenFile.Extent(offset: min(first.offset, new.offset), data: joined)])
        dirtyBytes += joined.readableBytes
    }
}
