import Logging
import NIOCore
import QumuloAPI
import QumuloClient
import Synchronization
import SystemPackage

/// The file system a mount serves: the Qumulo namespace through a `QumuloClient`, with every directory's hidden
/// `.snapshot` leading to the directory as each snapshot kept it.
///
/// Design:
/// - Node ids are computed from (snapshot, file id) (``NodeNumbering``); ``NodeTable`` counts the kernel's lookups.
/// - Listings are the product (design.md §2): one paged entries call fills the listing cache, which answers
///   readdir, the lookups after it (positive and negative) and their attributes. Live data is trusted for
///   ``FilesystemConfiguration/attributeTimeout``; snapshot data for as long as there is room, because it cannot
///   change.
/// - Reads go through ``BlockCache`` in ``FilesystemConfiguration/blockSize`` blocks keyed by the file's data
///   revision, and each open file has a ``ReadAheadWindow`` that prefetches blocks ahead of a sequential reader.
/// - Close-to-open: opening a live file fetches its attributes afresh; the kernel keeps its cached pages
///   (`FOPEN_KEEP_CACHE`) only if the data revision is the one it cached.
/// - Every failure leaves as a ``FilesystemError`` from one table (`FilesystemError+Client.swift`).
///
/// Thread safety: all state is in lock-protected tables and caches; operations run concurrently.
public final class QumuloFilesystem: FilesystemOperations {
    // Rooms, each the one owner of its state, with its own lock. Lock order, where two are held at once:
    // `inodes` (the table) before an `InodeState`; an `InodeState` before `ExtentMemory`. Every other lock (the caches below,
    // `handles`, `listingsInFlight`, the block cache, the write budget, each `StreamedListing`) is a leaf: held
    // for a dictionary operation, never while taking another or across a suspension.
    let client: QumuloClient
    let configuration: FilesystemConfiguration
    let logger: Logger
    let clock: CoreClock
    let nodes: NodeTable
    /// What this mount knows of each object: attributes in answer order, write-back, what the kernel caches.
    let inodes: InodeTable
    let listingCache: ExpiringCache<FileObject, DirectoryListing>
    /// The file id behind each live name this mount handed to the kernel lately, so an unlink or a rename that
    /// replaces a name knows whose link count changed even when the directory's listing is not cached.
    let childIDs: ExpiringCache<ChildName, String>
    /// Lookups in each live directory that had no listing to answer them and asked the server one by one, in
    /// the current run of them. A directory looked up name after name (a `cp -r`, `tar c` or `xargs cat` that
    /// outlives the listing its `readdir` fetched) is listed again in the background once a run has cost more
    /// requests than twice the listing's pages: the names after it cost nothing until the listing expires.
    let lookupsWithoutListing: ExpiringCache<FileObject, Int>
    /// The fewest such lookups that make a directory worth listing again, however small it is.
    static let busyDirectory = 16
    /// Children per page of a listing, as the cluster pages them by default.
    static let listingPageSize: UInt64 = 1000
    /// Listings being fetched, which readers use page by page as they arrive.
    let listingsInFlight = Mutex<[FileObject: StreamedListing]>([:])
    let snapshotCache: ExpiringCache<Int, [SnapshotInfo]>
    let snapshotFetches = SingleFlight<Int, [SnapshotInfo]>()
    /// For each (snapshot, live directory): the directory as the snapshot has it, or nil if it did not exist then.
    let snapshotRoots: ExpiringCache<FileObject, FileAttributes?>
    let reader: FileReader
    let writeBack: WriteBack
    let handles = HandleTable()
    /// As old as attributes may be and still count as fetched for an open: a lookup and the open after it arrive
    /// within microseconds to a few milliseconds, and on a WAN an answer is as old as one round trip anyway.
    static let revalidationGrace = 0.05

    /// Connects the core to a cluster: finds the root (whose id clients must discover, not assume).
    public init(
        client: QumuloClient, configuration: FilesystemConfiguration, logger: Logger, clock: CoreClock = .continuous
    ) async throws {
        self.client = client
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        listingCache = ExpiringCache(capacity: 4096, clock: clock)
        childIDs = ExpiringCache(capacity: 100_000, clock: clock)
        lookupsWithoutListing = ExpiringCache(capacity: 4096, clock: clock)
        snapshotCache = ExpiringCache(capacity: 1, clock: clock)
        snapshotRoots = ExpiringCache(capacity: 100_000, clock: clock)
        reader = FileReader(configuration: configuration, client: client)
        writeBack = WriteBack(configuration: configuration, client: client, logger: logger, clock: clock)
        inodes = InodeTable(capacity: 200_000, policy: InodeState.WritePolicy(
            memory: writeBack.memory, maxUploads: configuration.uploadsPerFile,
            checksInvariants: configuration.checksInvariants))
        let sent = clock.now
        let root = try await client.attributes(of: .path("/")).value
        nodes = NodeTable(rootFileID: root.id)
        applyAnswer(root, of: FileObject(snapshot: nil, fileID: root.id), sentAt: sent)
    }

    /// Checks the invariants of every room; traps on a violation. For tests, after every step.
    public func checkInvariants() {
        inodes.checkInvariants()
        reader.blocks.checkInvariants()
    }

    /// Lookups the kernel holds, per node: for tests of the accounting.
    public var heldLookups: [NodeID: UInt64] { nodes.heldLookups }
    public var unbalancedForgets: Int { nodes.unbalancedForgets }
    public var cacheStatistics: BlockCacheStatistics { reader.blocks.statistics }

    // MARK: Names and attributes

    public func lookup(_ parent: NodeID, name: String) async throws(FilesystemError) -> LookupResult {
        switch try key(of: parent) {
        case .snapshotDirectory(let directoryID):
            guard let snapshot = try await snapshotsCovering(directoryID).first(where: { $0.snapshot.name == name }) else {
                return .missing(cacheFor: configuration.negativeTimeout)
            }
            return .found(remember(try snapshot.entry))
        case .object(let directory):
            try Self.checkName(name)
            if name == ".snapshot", directory.snapshot == nil {
                return .found(remember(try await snapshotDirectoryEntry(of: directory)))
            }
            let negative = lifetime(of: directory) == FilesystemConfiguration.forever
                ? FilesystemConfiguration.forever : configuration.negativeTimeout
            if let listing = listingCache.value(for: directory) {
                guard let listed = listing[name] else { return .missing(cacheFor: negative) }
                let object = FileObject(snapshot: directory.snapshot, fileID: listed.id)
                rememberName(name, of: listed.id, in: directory)
                let current = try await attributes(of: object, listed: listed, listedAt: listing.fetchedAt)
                return .found(remember(entry(for: object, current)))
            }
            let parentAttributes = try await attributes(of: directory)
            guard parentAttributes.type == .directory else { throw FilesystemError(.notDirectory, "\(directory)") }
            if directory.snapshot == nil { countLookupWithoutListing(in: directory, children: parentAttributes.childCount) }
            let child: FileAttributes
            let sent = clock.now
            do {
                child = try await client.attributes(of: .path(parentAttributes.path + name), snapshot: directory.snapshot).value
            } catch {
                let failure = FilesystemError(error, "lookup \(name) in \(directory)")
                if failure.errno == .noSuchFileOrDirectory { return .missing(cacheFor: negative) }
                throw failure
            }
            let object = FileObject(snapshot: directory.snapshot, fileID: child.id)
            let shown = applyAnswer(child, of: object, sentAt: sent, fetched: true)
            rememberName(name, of: child.id, in: directory)
            return .found(remember(entry(for: object, shown)))
        }
    }

    /// Counts a lookup the server answers alone, and starts listing the directory once that is the cheaper way.
    private func countLookupWithoutListing(in directory: FileObject, children: UInt64) {
        let pages = Int(clamping: (children + Self.listingPageSize - 1) / Self.listingPageSize)
        let run = (lookupsWithoutListing.value(for: directory) ?? 0) + 1
        guard run >= max(Self.busyDirectory, 2 * pages) else {
            lookupsWithoutListing.set(run, for: directory, lifetime: configuration.attributeTimeout)
            return
        }
        lookupsWithoutListing.remove(directory)
        _ = streamedListing(of: directory)
    }

    public func forget(_ node: NodeID, lookups: UInt64) {
        nodes.forget(node, lookups: lookups)
    }

    public func attributes(of node: NodeID) async throws(FilesystemError) -> AttributesReply {
        switch try key(of: node) {
        case .snapshotDirectory(let directoryID):
            let entry = try await snapshotDirectoryEntry(of: FileObject(snapshot: nil, fileID: directoryID))
            return AttributesReply(attributes: entry.attributes, timeout: entry.attributeTimeout)
        case .object(let object):
            let entry = entry(for: object, try await attributes(of: object))
            return AttributesReply(attributes: entry.attributes, timeout: entry.attributeTimeout)
        }
    }

    public func readLink(_ node: NodeID) async throws(FilesystemError) -> String {
        guard case .object(let object) = try key(of: node) else { throw FilesystemError(.invalidArgument) }
        let link = try await attributes(of: object)
        guard link.type == .symlink else { throw FilesystemError(.invalidArgument, "\(object) is not a symlink") }
        do {
            let target = try await client.read(.id(object.fileID), offset: 0, length: Int(max(link.size, 1)),
                                               snapshot: object.snapshot)
            return String(decoding: target.readableBytesView, as: UTF8.self)
        } catch {
            throw FilesystemError(error, "readlink \(object)")
        }
    }

    /// Changes fail with EROFS inside snapshots and `.snapshot` directories, and anywhere on a read-only mount.
    func checkChangeable(_ nodes: [NodeID]) throws(FilesystemError) {
        if configuration.readOnly { throw FilesystemError(.readOnlyFileSystem, "the mount is read-only") }
        for node in nodes {
            switch self.nodes.key(of: node) {
            case .object(let object)? where object.snapshot == nil: continue
            case nil: throw FilesystemError(.staleNFSFileHandle, "unknown \(node)")
            default: throw FilesystemError(.readOnlyFileSystem, "snapshots never change")
            }
        }
    }

    public func statistics(_ node: NodeID) async throws(FilesystemError) -> FilesystemStatistics {
        do {
            let stats = try await client.fileSystemStats()
            let blockSize = UInt64(max(stats.blockSizeBytes, 512))
            // The API counts no inodes; report plenty, as network file systems without a limit do.
            let files: UInt64 = 1 << 32
            return FilesystemStatistics(
                blockSize: blockSize, totalBlocks: stats.totalSizeBytes / blockSize,
                freeBlocks: stats.freeSizeBytes / blockSize, availableBlocks: stats.freeSizeBytes / blockSize,
                totalFiles: files, freeFiles: files, nameMax: UInt64(QumuloAPI.maxNameBytes))
        } catch {
            throw FilesystemError(error, "statfs")
        }
    }

    // MARK: Extended attributes

    /// `user.*` names are the file's generic user metadata (what S3 shows as object tags); other namespaces hold
    /// nothing here.
    public func extendedAttribute(_ node: NodeID, name: String) async throws(FilesystemError) -> [UInt8] {
        guard case .object(let object) = try key(of: node), name.hasPrefix(Self.userPrefix) else {
            throw FilesystemError(.noData)
        }
        do {
            return try await client.userMetadata(of: .id(object.fileID), type: .generic,
                                                 key: String(name.dropFirst(Self.userPrefix.count)), snapshot: object.snapshot)
        } catch {
            let failure = FilesystemError(error, "getxattr \(name) of \(object)")
            throw failure.errno == .noSuchFileOrDirectory ? FilesystemError(.noData) : failure
        }
    }

    public func extendedAttributeNames(_ node: NodeID) async throws(FilesystemError) -> [String] {
        guard case .object(let object) = try key(of: node) else { return [] }
        do {
            return try await client.userMetadataEntries(of: .id(object.fileID), type: .generic, snapshot: object.snapshot)
                .map { Self.userPrefix + $0.key }
        } catch {
            throw FilesystemError(error, "listxattr \(object)")
        }
    }

    static let userPrefix = "user."

    // MARK: Directories

    public func openDirectory(_ node: NodeID) async throws(FilesystemError) -> OpenReply {
        let key = try key(of: node)
        var immutable = false
        if case .object(let object) = key {
            let attributes = try await attributes(of: object)
            guard attributes.type == .directory else { throw FilesystemError(.notDirectory, "\(object)") }
            immutable = object.snapshot != nil
        }
        let handle = handles.open(.directory(DirectoryHandle(key: key)))
        // Only a snapshot's listing may stay in the kernel. A live listing the kernel served from its own cache
        // would come without attributes, and `ls -l` after the attribute timeout would then cost one request per
        // entry; listed afresh (from our one-second listing cache), READDIRPLUS brings every entry's attributes.
        return OpenReply(handle: handle, keepCache: immutable, cacheDirectory: immutable)
    }

    public func readDirectory(
        _ node: NodeID, handle: UInt64, offset: UInt64, limit: Int, plus: Bool
    ) async throws(FilesystemError) -> [DirectoryEntry] {
        var directory = try handles.directory(handle)
        // Offset 0 is a fresh start (opendir or rewinddir): list again. Later offsets resume the same listing,
        // so seekdir and repeated offsets never skip or repeat an entry.
        if directory.listing == nil || offset == 0 {
            directory.listing = try await startListing(of: directory.key, node: node)
            handles.update(handle, to: .directory(directory))
        }
        let limit = max(limit, 1)
        switch directory.listing! {
        case .fixed(let entries):
            guard offset < UInt64(entries.count) else { return [] }
            return Array(entries[Int(offset) ..< min(entries.count, Int(offset) + limit)])
        case .streamed(let here, let object, let listing):
            // Cookies 0 and 1 are `.` and `..`; child i comes after cookie i + 2.
            var entries: [DirectoryEntry] = []
            if offset == 0 { entries.append(DirectoryEntry(name: ".", offset: 1, entry: here, countsLookup: false)) }
            if offset <= 1 {
                // The parent is not tracked; the kernel fills in `..` itself and never links it.
                entries.append(DirectoryEntry(name: "..", offset: 2, entry: here, countsLookup: false))
            }
            let first = Int(clamping: max(offset, 2) - 2)
            for (index, child) in try await listing.children(from: first, count: limit - entries.count).enumerated() {
                let childObject = FileObject(snapshot: object.snapshot, fileID: child.id)
                if plus { rememberName(child.name, of: child.id, in: object) }
                // The child's inode is never older than a listing, and has what this mount changed since. A child
                // changed here after the listing was fetched is listed with a timeout of 0, so `stat` asks for it.
                let current = inodes.inode(childObject).fromListing(child, listedAt: listing.fetchedAt, now: clock.now)
                var listed = entry(for: childObject, current ?? child)
                if current == nil { listed.attributeTimeout = 0 }
                entries.append(DirectoryEntry(name: child.name, offset: UInt64(first + index + 3), entry: listed))
            }
            return entries
        }
    }

    public func didReturn(_ nodes: [NodeID]) {
        self.nodes.remember(nodes)
    }

    public func releaseDirectory(_ node: NodeID, handle: UInt64) {
        handles.close(handle)
    }

    /// A directory handle's listing from the start: for a live or snapshot directory its children as they come
    /// from the server; for `.snapshot`, `.`, `..` and the snapshots, each with the cookie of the entry after it.
    private func startListing(of key: NodeKey, node: NodeID) async throws(FilesystemError) -> HandleListing {
        let here = try await attributes(of: node)
        let selfEntry = Entry(node: node, attributes: here.attributes, entryTimeout: here.timeout, attributeTimeout: here.timeout)
        switch key {
        case .snapshotDirectory(let directoryID):
            var entries = [
                DirectoryEntry(name: ".", offset: 1, entry: selfEntry, countsLookup: false),
                DirectoryEntry(name: "..", offset: 2, entry: selfEntry, countsLookup: false),
            ]
            for snapshot in try await snapshotsCovering(directoryID) {
                entries.append(DirectoryEntry(name: snapshot.snapshot.name, offset: UInt64(entries.count + 1),
                                              entry: try snapshot.entry))
            }
            return .fixed(entries)
        case .object(let directory):
            return .streamed(here: selfEntry, directory: directory, streamedListing(of: directory))
        }
    }

    /// The whole listing of a directory, cached as long as it can be trusted; concurrent callers share one fetch.
    func listing(of directory: FileObject) async throws(FilesystemError) -> DirectoryListing {
        try await streamedListing(of: directory).complete()
    }

    /// The cached listing of a directory, the one being fetched, or a new fetch.
    private func streamedListing(of directory: FileObject) -> StreamedListing {
        if let cached = listingCache.value(for: directory) { return StreamedListing(complete: cached) }
        let (listing, isNew) = listingsInFlight.withLock { inFlight in
            if let running = inFlight[directory] { return (running, false) }
            let listing = StreamedListing(fetchedAt: clock.now)
            inFlight[directory] = listing
            return (listing, true)
        }
        if isNew {
            Task { [self] in await fetchListing(of: directory, into: listing) }
        }
        return listing
    }

    /// Fills `listing` a page at a time, each child's attributes cached on the way; once complete it goes to the
    /// listing cache before it stops being the one in flight, so no reader in between starts another fetch. A
    /// listing this mount changed the directory under (``forgetListing(of:)``) is not cached.
    private func fetchListing(of directory: FileObject, into listing: StreamedListing) async {
        var outcome: Result<Void, FilesystemError> = .success(())
        do {
            for try await page in client.entryPages(of: .id(directory.fileID), snapshot: directory.snapshot) {
                for child in page {
                    applyAnswer(child, of: FileObject(snapshot: directory.snapshot, fileID: child.id),
                                sentAt: listing.fetchedAt)
                }
                listing.add(page)
            }
        } catch {
            outcome = .failure(FilesystemError(error, "list \(directory)"))
        }
        listing.finish(outcome)
        let complete = try? await listing.complete()
        listingsInFlight.withLock { inFlight in
            guard inFlight[directory] === listing else { return }
            if let complete { listingCache.set(complete, for: directory, lifetime: lifetime(of: directory)) }
            inFlight[directory] = nil
        }
    }

    // MARK: Files

    public func open(_ node: NodeID, flags: Int32) async throws(FilesystemError) -> OpenReply {
        guard case .object(let object) = try key(of: node) else { throw FilesystemError(.isDirectory) }
        if flags & 0o3 != 0 /* O_WRONLY or O_RDWR */ || flags & 0o1000 != 0 /* O_TRUNC */ {
            try checkChangeable([node])
        }
        // Close-to-open: a live file's attributes are fetched afresh on open, so a change made elsewhere before
        // the open is seen, whatever the attribute cache holds. The lookup of this very open may have just done
        // it; its fetch counts once, so the open after the next change elsewhere asks again.
        let inode = inodes.inode(object)
        if object.snapshot == nil, !inode.takeFetchForOpen(within: Self.revalidationGrace, now: clock.now) {
            if flags & 0o3 == 0, flags & 0o1000 == 0, let known = inode.fresh(now: clock.now), !inode.hasPendingWrites {
                reader.prefetchSmallFile(inode.object, version: dataVersion(of: known), known, kernelHas: inode.kernelVersion)
            }
            inode.expire()
        }
        // This fetch is the open's own check: it stands for no later open.
        let attributes = try await attributes(of: object, countsForOpen: false)
        guard attributes.type == .file else {
            throw FilesystemError(attributes.type == .directory ? .isDirectory : .invalidArgument, "open \(object)")
        }
        return openHandle(object, attributes)
    }

    /// A handle on a file whose attributes were just fetched, and whether the kernel may keep its cached pages:
    /// only if they are of the current version, or hold this mount's own pending writes.
    func openHandle(_ object: FileObject, _ attributes: FileAttributes) -> OpenReply {
        let file = inodes.addHandle(object)
        // Dropped from the table since the fetch (it was idle then) and made anew: with nothing pending, what was
        // fetched is the server's answer.
        if file.known == nil { applyAnswer(attributes, of: object, sentAt: clock.now) }
        let keepCache = file.kernelMayKeepPages(version: dataVersion(of:))
        let handle = handles.open(.file(FileHandle(
            file: file, reportedFailures: file.failureCount,
            readAhead: ReadAheadWindow(initial: configuration.blockSize, maximum: configuration.readAhead))))
        return OpenReply(handle: handle, keepCache: keepCache)
    }

    /// The version blocks of a file's data are cached under.
    func dataVersion(of attributes: FileAttributes) -> String {
        let time = attributes.modificationTime
        return attributes.dataRevision.map(String.init) ?? "\(time.seconds).\(time.nanoseconds):\(attributes.size)"
    }

    public func read(_ node: NodeID, handle: UInt64, offset: UInt64, size: Int) async throws(FilesystemError) -> ByteBuffer {
        // One look at the handle: its file, what that file holds now, and the read-ahead this read moves on.
        let (object, view, plan) = try handles.withFile(handle) { opened throws(FilesystemError) in
            guard let view = opened.file.readView(version: dataVersion(of:)) else {
                throw FilesystemError(.ioError, "\(opened.file.object) is open with no attributes")
            }
            return (opened.file.object, view, reader.plan(view, offset: offset, size: size, readAhead: &opened.readAhead))
        }
        return try await reader.read(object, view, plan)
    }

    /// The last close of a handle: its file's pending writes go to the server first (a failure nobody was told of
    /// has been logged by the upload), then the handle is gone.
    public func release(_ node: NodeID, handle: UInt64) async {
        guard let opened = try? handles.file(handle) else {
            handles.close(handle)
            return
        }
        await drain(opened.file)
        handles.close(handle)
        var last = inodes.removeHandle(opened.file)
        // A change made through the node between the drain and now (a chmod by path) must not wait for an open
        // that may never come.
        while last, opened.file.hasPendingChanges {
            await drain(opened.file)
            last = inodes.settle(opened.file)
        }
        if last, let hidden = opened.file.takeHidden() {
            do {
                try await client.unlink(hidden.name, from: .id(hidden.directory.fileID))
                removed(hidden.name, from: hidden.directory)
            } catch {
                logger.warning("could not remove a file unlinked while open", metadata: [
                    "file.path": "\(opened.file.path)", "file.hidden_name": "\(hidden.name)", "error": "\(error)"])
            }
        }
    }

    // MARK: Helpers

    /// A name the cluster could never hold fails as POSIX says, before any request: a lookup of it is not ENOENT.
    static func checkName(_ name: String) throws(FilesystemError) {
        guard name.utf8.count <= QumuloAPI.maxNameBytes else {
            throw FilesystemError(.fileNameTooLong, "\(name.utf8.count) bytes: \(name.prefix(32))…")
        }
    }

    func key(of node: NodeID) throws(FilesystemError) -> NodeKey {
        guard let key = nodes.key(of: node) else { throw FilesystemError(.staleNFSFileHandle, "unknown \(node)") }
        return key
    }

    /// How long facts about an object stay true: snapshots never change.
    func lifetime(of object: FileObject) -> Double {
        object.snapshot == nil ? configuration.attributeTimeout : FilesystemConfiguration.forever
    }

    /// A child's attributes as a listing fetched at `listedAt` had them, unless this mount holds newer ones or
    /// knows copies that old stale.
    func attributes(
        of object: FileObject, listed: FileAttributes, listedAt: ContinuousClock.Instant
    ) async throws(FilesystemError) -> FileAttributes {
        if let current = inodes.inode(object).fromListing(listed, listedAt: listedAt, now: clock.now) { return current }
        return try await attributes(of: object)
    }

    /// This mount changed a live object in a way no answer it holds shows: what is held, and every answer to a
    /// request sent before now, listings included, is stale.
    func invalidateAttributes(of object: FileObject) {
        inodes.inode(object).invalidate(now: clock.now)
    }

    /// The attributes of an object to show, from the server unless trusted ones are held. A fetch counts as the
    /// close-to-open check of an open that follows within ``revalidationGrace``, unless `countsForOpen` is false.
    func attributes(of object: FileObject, countsForOpen: Bool = true) async throws(FilesystemError) -> FileAttributes {
        let inode = inodes.inode(object)
        if let fresh = inode.fresh(now: clock.now) { return fresh }
        let sent = clock.now
        do {
            let answer = try await client.attributes(of: .id(object.fileID), snapshot: object.snapshot).value
            return applyAnswer(answer, of: object, sentAt: sent, fetched: countsForOpen)
        } catch {
            throw FilesystemError(error, "attributes of \(object)")
        }
    }

    /// Applies an answer of the server about `object` to a request that left at `sentAt` to its inode, in order
    /// (``InodeState/apply(_:sentAt:lifetime:now:fetched:)``); returns the attributes to show.
    @discardableResult
    func applyAnswer(
        _ answer: FileAttributes, of object: FileObject, sentAt: ContinuousClock.Instant, fetched: Bool = false
    ) -> FileAttributes {
        inodes.inode(object).apply(answer, sentAt: sentAt, lifetime: lifetime(of: object), now: clock.now,
                                   fetched: fetched && object.snapshot == nil)
    }

    /// The entry of an object with the attributes to show given, its node named but not counted.
    func entry(for object: FileObject, _ attributes: FileAttributes) -> Entry {
        let node = nodes.node(for: .object(object))
        let timeout = lifetime(of: object)
        let shown = NodeAttributes(attributes, inode: nodes.inode(of: node), configuration: configuration)
        return Entry(node: node, attributes: shown, entryTimeout: timeout, attributeTimeout: timeout)
    }

    /// Records which file a live name handed to the kernel leads to (``childIDs``), for as long as the kernel may
    /// use the name without asking again, and as long again.
    func rememberName(_ name: String, of id: String, in directory: FileObject) {
        guard directory.snapshot == nil else { return }
        childIDs.set(id, for: ChildName(directory: directory, name: name), lifetime: configuration.attributeTimeout * 2)
    }

    /// Counts the lookup the kernel takes with an entry it receives.
    func remember(_ entry: Entry) -> Entry {
        nodes.remember([entry.node])
        return entry
    }

}

/// A name in a live directory.
struct ChildName: Hashable, Sendable {
    var directory: FileObject
    var name: String
}
