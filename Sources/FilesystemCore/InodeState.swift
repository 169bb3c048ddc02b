import NIOCore
import QumuloAPI
import Synchronization

/// How new an answer of the server about one object is: its data revision, then its change time. Every data
/// change moves the revision on, and every change at all the change time, so of two answers about the same object
/// the larger one describes the later state, whatever order they arrived in.
struct AnswerOrder: Comparable, Sendable {
    var dataRevision: UInt64
    var changeTime: Timestamp

    init(_ attributes: FileAttributes) {
        // A cluster that reports no revision is ordered by change time alone.
        dataRevision = attributes.dataRevision ?? 0
        changeTime = attributes.changeTime
    }

    static func < (lhs: AnswerOrder, rhs: AnswerOrder) -> Bool {
        (lhs.dataRevision, lhs.changeTime) < (rhs.dataRevision, rhs.changeTime)
    }
}

/// Everything this mount knows of one object, and the one owner of it (design.md §2, "one owner per file's
/// truth"): the newest attributes the server answered and how long they are trusted, the data version the
/// kernel caches pages of, and for a file written here its write-back state.
///
/// Rules kept here and nowhere else:
/// - Every answer of the server goes through ``apply(_:sentAt:lifetime:now:fetched:)``: an answer older than the one
///   held (``AnswerOrder``) never replaces it. Several uploads of one file are in flight at once and end in any order.
/// - What the kernel is told comes from ``shown`` under the same lock as the writes: while writes are pending or
///   in flight, size and mtime are the local ones, never smaller or older.
/// - Answers to requests sent before this mount changed the object in a way no answer shows (an unlink of one of
///   its links, a setxattr), listings included, are not trusted (``invalidate(now:)``, ``fromListing(_:listedAt:now:)``).
///
/// Writes land in `dirty`, sorted disjoint extents; an extent that reaches the upload size is taken out and sent
/// as one `PATCH data?offset=`, several at once, never two overlapping (a later write over a range in flight
/// waits in `dirty` until that upload ends, so the server sees writes in order). Reads see the server's bytes,
/// then the uploads in flight, then `dirty`. A failed upload is counted; every handle is told of failures it has
/// not heard of at its next `write`, `flush` or `fsync`. Attribute changes while the file is open (the owner and
/// mode of a new file, then `tar`'s fchown, fchmod and futimens) wait here too, merged into one
/// `PATCH info/attributes` sent after the data at the next flush; until then the file shows them.
///
/// A state machine: ``QumuloFilesystem`` performs the uploads and reports how they ended.
///
/// Locking: one mutex over all of it, never held across a suspension or while calling out, except into
/// ``ExtentMemory`` (a leaf). ``InodeTable``'s lock may be held when taking it, never the reverse.
final class InodeState: Sendable {
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

    /// An upload to start: its number for ``finishUpload(_:_:sentAt:lifetime:now:)`` and its bytes.
    struct Upload: Sendable {
        var number: Int
        var extent: Extent
    }

    /// How writes are cut into uploads, and whether every change checks the invariants; the same for every file
    /// of a mount.
    struct WritePolicy: Sendable {
        var memory: ExtentMemory
        var maxUploads: Int
        var checksInvariants = false
        var uploadSize: Int { memory.bufferSize }
    }

    let object: FileObject
    let policy: WritePolicy

    fileprivate struct State {
        /// The newest answer of the server, and its order.
        var attributes: FileAttributes?
        var order: AnswerOrder?
        /// Until then the attributes answer without asking the server; nil when they must be asked for.
        var freshUntil: ContinuousClock.Instant?
        /// Answers to requests sent before then (listings included) are older than what this mount knows: it
        /// changed the object since, in a way no answer it holds shows.
        var staleBefore: ContinuousClock.Instant?
        /// When the attributes last came from the server for a lookup or stat, until an open uses that fetch as
        /// its close-to-open check.
        var fetchedForOpen: ContinuousClock.Instant?
        /// The data version the kernel last cached pages of, for `FOPEN_KEEP_CACHE`.
        var kernelVersion: String?

        /// The size with every pending write; meaningful while writes are pending.
        var size: UInt64 = 0
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

        /// When the mount last used what is held: the table drops the idle inodes used longest ago first.
        var lastUsed: ContinuousClock.Instant?

        /// Bytes written that the server has not confirmed: dirty or being uploaded.
        var writesPending: Bool { !dirty.isEmpty || !uploading.isEmpty }
        /// Whether what this mount shows differs from the server's answer: pending writes, a held attribute
        /// change, a last name moved aside.
        var showsLocalChanges: Bool { writesPending || attributeChange != nil || hidden != nil }
        var serverSize: UInt64 { attributes?.size ?? 0 }

        /// The attributes as this mount must show them: with the size and time of pending writes (a smaller size
        /// would make the kernel cut its idea of the file short, and appends would land in the wrong place) and the
        /// pending attribute change; with no link once its last name is gone.
        var shown: FileAttributes? {
            guard var shown = attributes else { return nil }
            if writesPending {
                shown.size = max(shown.size, size)
                if let lastWrite { shown.modificationTime = max(shown.modificationTime, lastWrite) }
            }
            if let attributeChange { shown.apply(attributeChange) }
            // Moved aside when its last name went: as far as programs can tell it has no name left.
            if hidden != nil { shown.numLinks = 0 }
            return shown
        }

        func isFresh(at now: ContinuousClock.Instant) -> Bool {
            freshUntil.map { $0 > now } ?? false
        }

        /// Whether an answer to a request sent at `sentAt` may be trusted: it left after this mount's last change
        /// that no answer shows.
        func answersTrusted(sentAt: ContinuousClock.Instant) -> Bool {
            staleBefore.map { sentAt >= $0 } ?? true
        }

        /// Trusts what is held for `lifetime` more seconds, and no less than before.
        mutating func trust(for lifetime: Double, now: ContinuousClock.Instant) {
            let until = now + .milliseconds(Int64(min(lifetime, FilesystemConfiguration.forever) * 1000))
            freshUntil = max(freshUntil ?? until, until)
        }

        /// Takes `answer` unless the one held is newer.
        mutating func take(_ answer: FileAttributes) {
            let order = AnswerOrder(answer)
            if let held = self.order, order < held { return }
            if !writesPending { size = answer.size }
            attributes = answer
            self.order = order
        }
    }

    private let state: Mutex<State>

    init(object: FileObject, policy: WritePolicy) {
        self.object = object
        self.policy = policy
        state = Mutex(State())
    }

    // MARK: Attributes

    /// Applies an answer of the server to a request sent at `sentAt`, unless a newer one is held, and trusts what
    /// is held for `lifetime` more seconds either way (an answer older than the one held means the held one is at
    /// least as current), unless the request left before this mount last changed the object. Returns the
    /// attributes to show. `fetched` marks a fetch of the attributes alone, which an open may count as its
    /// close-to-open check.
    @discardableResult
    func apply(
        _ answer: FileAttributes, sentAt: ContinuousClock.Instant, lifetime: Double, now: ContinuousClock.Instant,
        fetched: Bool = false
    ) -> FileAttributes {
        locked { state in
            state.take(answer)
            state.lastUsed = now
            guard state.answersTrusted(sentAt: sentAt) else { return state.shown! }
            state.trust(for: lifetime, now: now)
            if fetched { state.fetchedForOpen = now }
            return state.shown!
        }
    }

    /// The attributes to show, if they are still trusted.
    func fresh(now: ContinuousClock.Instant) -> FileAttributes? {
        locked { state in
            state.lastUsed = now
            return state.isFresh(at: now) ? state.shown : nil
        }
    }

    /// When the mount last used what is held, for the table's eviction.
    var lastUsed: ContinuousClock.Instant? { locked { $0.lastUsed } }

    /// The attributes to show, trusted or not: for log lines and for what must not wait on the server.
    var known: FileAttributes? { locked { $0.shown } }

    /// A child's attributes as a listing fetched at `listedAt` had them, unless this mount holds newer ones; nil
    /// when copies that old are known stale, so the caller must ask the server.
    func fromListing(_ listed: FileAttributes, listedAt: ContinuousClock.Instant, now: ContinuousClock.Instant) -> FileAttributes? {
        locked { state in
            state.lastUsed = now
            if state.isFresh(at: now), let shown = state.shown { return shown }
            if let staleBefore = state.staleBefore, listedAt < staleBefore { return nil }
            let heldIsNewer = state.order.map { AnswerOrder(listed) < $0 } ?? false
            guard heldIsNewer || state.showsLocalChanges, let shown = state.shown else { return listed }
            return shown
        }
    }

    /// Stops trusting the attributes: the next use asks the server. The answer held still orders later ones.
    func expire() {
        locked { $0.freshUntil = nil }
    }

    /// This mount changed the object in a way no answer it holds shows: the attributes held, and every answer to a
    /// request sent until now (listings included), are stale.
    func invalidate(now: ContinuousClock.Instant) {
        locked { state in
            state.freshUntil = nil
            state.staleBefore = now
        }
    }

    /// Whether the attributes came from the server within `grace` seconds for a lookup or stat; counts once.
    func takeFetchForOpen(within grace: Double, now: ContinuousClock.Instant) -> Bool {
        locked { state in
            defer { state.fetchedForOpen = nil }
            guard let fetched = state.fetchedForOpen else { return false }
            return now < fetched + .milliseconds(Int64(grace * 1000))
        }
    }

    /// Whether the kernel's cached pages are of the current version or hold this mount's own pending writes; from
    /// now on the current version counts as cached.
    func kernelMayKeepPages(version: (FileAttributes) -> String) -> Bool {
        locked { state in
            guard let attributes = state.attributes else { return false }
            let current = version(attributes)
            defer { state.kernelVersion = current }
            return state.kernelVersion == current || state.writesPending
        }
    }

    /// The data version the kernel last cached pages of.
    var kernelVersion: String? { locked { $0.kernelVersion } }

    // MARK: Handles

    func addHandle() {
        locked { $0.handles += 1 }
    }

    /// Returns whether that was the last handle.
    func removeHandle() -> Bool {
        locked { state in
            state.handles -= 1
            return state.handles == 0
        }
    }

    var isOpen: Bool { locked { $0.handles > 0 } }

    /// The failures so far, which a new handle starts out having heard of.
    var failureCount: Int { locked { $0.failures } }

    /// The failure a handle that has heard of `seen` failures has not been told of, and the new count.
    func unreportedFailure(seen: Int) -> (FilesystemError, Int)? {
        locked { state in
            guard state.failures > seen, let failure = state.lastFailure else { return nil }
            return (failure, state.failures)
        }
    }

    /// Where the file was when last heard of, for log lines about it.
    var path: String { locked { $0.attributes?.path ?? "file \(object.fileID)" } }

    func readView(version: (FileAttributes) -> String) -> ReadView? {
        locked { state in
            guard let attributes = state.attributes else { return nil }
            return ReadView(version: version(attributes), serverSize: attributes.size,
                            size: state.writesPending ? max(state.size, attributes.size) : attributes.size,
                            overlays: Array(state.uploading.values) + state.dirty)
        }
    }

    var hasPendingWrites: Bool { locked { $0.writesPending } }

    /// Whether anything is waiting for the next flush: data or an attribute change.
    var hasPendingChanges: Bool { locked { $0.writesPending || $0.attributeChange != nil } }

    /// Whether the table may drop this inode: nothing holds it open, nothing waits to be sent.
    var isIdle: Bool {
        locked { $0.handles == 0 && !$0.showsLocalChanges }
    }

    /// Holds an attribute change for the next flush, merged over any held already.
    func deferChange(_ change: SetAttributesRequest) {
        locked { state in
            state.attributeChange = state.attributeChange.map { $0.merging(change) } ?? change
        }
    }

    /// The held attribute change, to send once the data is on the server.
    func takeAttributeChange() -> SetAttributesRequest? {
        locked { state in
            defer { state.attributeChange = nil }
            return state.attributeChange
        }
    }

    /// Records that the file's last name was moved aside (``QumuloFilesystem/unlink(_:name:)``).
    func hide(in directory: FileObject, as name: String) {
        locked { $0.hidden = (directory, name) }
    }

    /// Whether the file's last name was moved aside: it has no name left but that one, which goes at the last
    /// release.
    var isHidden: Bool { locked { $0.hidden != nil } }

    /// The name the file was moved aside to, once: the last release removes it.
    func takeHidden() -> (directory: FileObject, name: String)? {
        locked { state in
            defer { state.hidden = nil }
            return state.hidden
        }
    }

    /// Counts a failure of this file's flush that is not an upload's (a held attribute change).
    func recordFailure(_ error: FilesystemError) {
        locked { state in
            state.failures += 1
            state.lastFailure = error
        }
    }

    // MARK: Writes

    /// Records a write; returns the change in dirty bytes (what the write budget must hold) and the uploads that
    /// are now due.
    func write(_ data: ByteBuffer, at offset: UInt64) -> (addedBytes: Int, due: [Upload]) {
        locked { state in
            if !state.writesPending { state.size = state.serverSize }
            let before = state.dirtyBytes
            state.merge(Extent(offset: offset, data: data), memory: policy.memory)
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
        locked { takeUploads(&$0, all: all) }
    }

    /// Records how upload `number` ended, in one step with the answer it got: a success is applied as any answer
    /// (in order), a failure is counted and its bytes are gone (the client already retried them).
    func finishUpload(
        _ number: Int, _ result: Result<FileAttributes, FilesystemError>, sentAt: ContinuousClock.Instant,
        lifetime: Double, now: ContinuousClock.Instant
    ) {
        let waiters = locked { state in
            state.uploading[number] = nil
            switch result {
            case .success(let answer):
                state.take(answer)
                if state.answersTrusted(sentAt: sentAt) { state.trust(for: lifetime, now: now) }
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
        locked { (!$0.writesPending, $0.progress) }
    }

    /// Returns once an upload ended after progress count `progress`.
    func waitForProgress(after progress: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = locked { state in
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
            let full = extent.data.readableBytes >= policy.uploadSize
            let room = all || state.uploading.count < policy.maxUploads
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

    // MARK: Invariants

    /// Checks what must hold after every step; traps on a violation. Tests call it; with
    /// ``WritePolicy/checksInvariants`` every change checks it too.
    func checkInvariants() {
        state.withLock { $0.check(object) }
    }

    /// Runs `body` under the lock, then checks the invariants if the mount asked for that.
    private func locked<Result>(_ body: (inout State) -> Result) -> Result {
        state.withLock { state in
            let result = body(&state)
            if policy.checksInvariants { state.check(object) }
            return result
        }
    }
}

extension InodeState.State {
    /// What must hold of one inode at every step.
    fileprivate func check(_ object: FileObject) {
        var counted = 0
        for (index, extent) in dirty.enumerated() {
            counted += extent.data.readableBytes
            precondition(extent.data.readableBytes > 0, "\(object): an empty dirty extent")
            if index > 0 {
                precondition(dirty[index - 1].end < extent.offset, "\(object): dirty extents overlap or touch")
            }
        }
        precondition(counted == dirtyBytes, "\(object): dirty bytes \(dirtyBytes), extents hold \(counted)")
        let flights = uploading.values.sorted { $0.offset < $1.offset }
        for (earlier, later) in zip(flights, flights.dropFirst()) {
            precondition(earlier.end <= later.offset, "\(object): two uploads in flight overlap")
        }
        precondition(handles >= 0, "\(object): more releases than opens")
        precondition(attributes == nil || order == AnswerOrder(attributes!),
                     "\(object): the order held is not that of the attributes held")
        if writesPending, let shown = shown {
            let written = (dirty + Array(uploading.values)).map(\.end).max() ?? 0
            precondition(shown.size >= written, "\(object): shows \(shown.size) bytes, writes reach \(written)")
            precondition(shown.size >= size, "\(object): shows \(shown.size) bytes, pending writes make \(size)")
        }
        if writesPending || attributeChange != nil || hidden != nil {
            precondition(object.snapshot == nil, "\(object): a change pending in a snapshot")
        }
    }

    /// Lays `new` over the dirty extents, joining it with every one it overlaps or touches, so they stay sorted,
    /// disjoint and apart. A write that continues the extent before it (the sequential case) appends in place.
    fileprivate mutating func merge(_ new: InodeState.Extent, memory: ExtentMemory) {
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
                dirty.insert(InodeState.Extent(offset: new.offset, data: room), at: low)
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
        dirty.replaceSubrange(low ..< upper, with: [InodeState.Extent(offset: min(first.offset, new.offset), data: joined)])
        dirtyBytes += joined.readableBytes
    }
}
