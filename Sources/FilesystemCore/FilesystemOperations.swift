import NIOCore
import QumuloAPI
import SystemPackage

/// The contract between the FUSE bridge and the file system: every operation the kernel asks for, as async
/// Swift with no FUSE types, so the core is testable without mounting.
///
/// Lookup counting: every `Entry` the bridge hands to the kernel adds one lookup to its node (`lookup`,
/// and each READDIRPLUS entry that fit in the reply, which the bridge reports with `didReturn(_:)` just before
/// replying), and the kernel's FORGET takes them away (`forget(_:lookups:)`). When a reply carrying entries
/// cannot be delivered, the bridge gives their lookups back with `forget(_:lookups: 1)`. A node lives while its
/// count is above zero.
///
/// Cancellation: the bridge cancels an operation's task when the kernel interrupts the request; an operation
/// that stops for that reason throws `EINTR`.
public protocol FilesystemOperations: Sendable {
    /// Looks `name` up in directory `parent`. A found entry has had one lookup added already.
    func lookup(_ parent: NodeID, name: String) async throws(FilesystemError) -> LookupResult
    /// The kernel dropped `lookups` references to `node`. Never fails, never blocks on I/O.
    func forget(_ node: NodeID, lookups: UInt64)
    func attributes(of node: NodeID) async throws(FilesystemError) -> AttributesReply

    func openDirectory(_ node: NodeID) async throws(FilesystemError) -> OpenReply
    /// Entries from cookie `offset` on (0 is the start; each entry's `offset` is the cookie after it), at most
    /// `limit` of them. With `plus`, each entry carries its attributes, and no lookup is counted until the
    /// bridge calls `didReturn(_:)` with the ones the kernel actually received.
    func readDirectory(
        _ node: NodeID, handle: UInt64, offset: UInt64, limit: Int, plus: Bool
    ) async throws(FilesystemError) -> [DirectoryEntry]
    /// Counts one lookup for each READDIRPLUS entry packed into a reply (never `.` or `..`); called just before
    /// the reply is sent.
    func didReturn(_ nodes: [NodeID])
    func releaseDirectory(_ node: NodeID, handle: UInt64)

    func open(_ node: NodeID, flags: Int32) async throws(FilesystemError) -> OpenReply
    /// Up to `size` bytes at `offset`; fewer only at the end of the file.
    func read(_ node: NodeID, handle: UInt64, offset: UInt64, size: Int) async throws(FilesystemError) -> ByteBuffer
    func release(_ node: NodeID, handle: UInt64) async
    func readLink(_ node: NodeID) async throws(FilesystemError) -> String

    func statistics(_ node: NodeID) async throws(FilesystemError) -> FilesystemStatistics
    /// The value of an extended attribute; `ENODATA` when absent.
    func extendedAttribute(_ node: NodeID, name: String) async throws(FilesystemError) -> [UInt8]
    func extendedAttributeNames(_ node: NodeID) async throws(FilesystemError) -> [String]

    // MARK: Changes. Inside snapshots, `.snapshot` and read-only mounts every one fails with EROFS.

    /// Creates and opens a regular file (`O_CREAT`); with `O_EXCL` in `flags` an existing name is EEXIST,
    /// without it the existing file is opened. The entry has had one lookup added.
    func create(_ parent: NodeID, name: String, mode: UInt32, flags: Int32, caller: Caller)
        async throws(FilesystemError) -> (Entry, OpenReply)
    /// mknod: a regular file, FIFO, socket or device, by the type bits of `mode`.
    func makeNode(_ parent: NodeID, name: String, mode: UInt32, device: UInt64, caller: Caller)
        async throws(FilesystemError) -> Entry
    func makeDirectory(_ parent: NodeID, name: String, mode: UInt32, caller: Caller) async throws(FilesystemError) -> Entry
    func makeSymlink(_ parent: NodeID, name: String, target: String, caller: Caller) async throws(FilesystemError) -> Entry
    /// A new name `name` in `parent` for the file `node`.
    func link(_ node: NodeID, to parent: NodeID, name: String) async throws(FilesystemError) -> Entry
    func unlink(_ parent: NodeID, name: String) async throws(FilesystemError)
    func removeDirectory(_ parent: NodeID, name: String) async throws(FilesystemError)
    func rename(_ parent: NodeID, name: String, to newParent: NodeID, newName: String, flags: RenameFlags)
        async throws(FilesystemError)

    /// Takes `data` for the file at `offset`; it may reach the server later (write-back). Returns the bytes taken.
    /// A failed earlier upload of this file that this handle has not been told of fails here.
    func write(_ node: NodeID, handle: UInt64, offset: UInt64, data: ByteBuffer) async throws(FilesystemError) -> Int
    /// `close` of one descriptor: every pending write of the file reaches the server, and a failure of any
    /// since this handle last heard is reported.
    func flush(_ node: NodeID, handle: UInt64) async throws(FilesystemError)
    /// fsync: as `flush`; `handle` is nil for a directory or a file synced without one.
    func synchronize(_ node: NodeID, handle: UInt64?) async throws(FilesystemError)
    func setAttributes(_ node: NodeID, handle: UInt64?, _ changes: AttributeChanges)
        async throws(FilesystemError) -> AttributesReply
    /// `flags` are `XATTR_CREATE` (fail if present) and `XATTR_REPLACE` (fail if absent).
    func setExtendedAttribute(_ node: NodeID, name: String, value: [UInt8], flags: Int32) async throws(FilesystemError)
    func removeExtendedAttribute(_ node: NodeID, name: String) async throws(FilesystemError)
    /// fallocate: only `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE` maps to the API; other modes are EOPNOTSUPP.
    func allocate(_ node: NodeID, handle: UInt64, mode: Int32, offset: UInt64, length: UInt64) async throws(FilesystemError)
    /// copy_file_range, done by the server: returns the bytes copied, 0 at or past the source's end.
    func copyRange(
        from source: NodeID, handle sourceHandle: UInt64, offset sourceOffset: UInt64,
        to target: NodeID, handle targetHandle: UInt64, offset targetOffset: UInt64, length: UInt64
    ) async throws(FilesystemError) -> Int
}

/// Who asked, from the request's context: new objects belong to them.
public struct Caller: Hashable, Sendable {
    public var uid: UInt32
    public var gid: UInt32

    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
}

/// `renameat2` flags.
public struct RenameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// `RENAME_NOREPLACE`: fail with EEXIST rather than replace.
    public static let noReplace = RenameFlags(rawValue: 1)
    /// `RENAME_EXCHANGE`: swap two names atomically; the API has no such operation.
    public static let exchange = RenameFlags(rawValue: 2)
}

/// What a SETATTR changes; nil leaves a field alone.
public struct AttributeChanges: Hashable, Sendable {
    public enum Time: Hashable, Sendable {
        /// `UTIME_NOW`: the time of the request.
        case now
        case at(Timestamp)
    }

    /// Permission bits only (`07777`).
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    /// Truncate or extend.
    public var size: UInt64?
    public var accessTime: Time?
    public var modificationTime: Time?

    public init(mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, size: UInt64? = nil,
                accessTime: Time? = nil, modificationTime: Time? = nil) {
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.accessTime = accessTime
        self.modificationTime = modificationTime
    }
}

/// A FUSE node id. The root is 1 (`FUSE_ROOT_ID`); the others mean nothing outside one mount.
public struct NodeID: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    public static let root = NodeID(rawValue: 1)

    public var description: String { "node \(rawValue)" }
}

/// What `stat` shows, already in POSIX terms.
public struct NodeAttributes: Hashable, Sendable {
    /// `st_ino`: the Qumulo file id on the live tree, a distinct stable number per (snapshot, file) elsewhere.
    public var inode: UInt64
    /// `st_mode`: file type bits and permissions.
    public var mode: UInt32
    public var linkCount: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// `st_rdev` of devices, as `makedev(major, minor)`.
    public var device: UInt64
    public var size: UInt64
    /// `st_blocks`, in 512-byte units.
    public var blocks: UInt64
    /// `st_blksize`: the I/O size that suits the mount.
    public var blockSize: UInt32
    public var accessTime: Timestamp
    public var modificationTime: Timestamp
    public var changeTime: Timestamp

    public init(inode: UInt64, mode: UInt32, linkCount: UInt32, uid: UInt32, gid: UInt32, device: UInt64,
                size: UInt64, blocks: UInt64, blockSize: UInt32, accessTime: Timestamp,
                modificationTime: Timestamp, changeTime: Timestamp) {
        self.inode = inode
        self.mode = mode
        self.linkCount = linkCount
        self.uid = uid
        self.gid = gid
        self.device = device
        self.size = size
        self.blocks = blocks
        self.blockSize = blockSize
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.changeTime = changeTime
    }
}

/// A node with its attributes and how long the kernel may trust each, as `fuse_entry_param` carries them.
public struct Entry: Hashable, Sendable {
    public var node: NodeID
    public var generation: UInt64
    public var attributes: NodeAttributes
    /// Seconds the kernel may keep the name → node binding.
    public var entryTimeout: Double
    /// Seconds the kernel may keep the attributes.
    public var attributeTimeout: Double

    public init(node: NodeID, generation: UInt64 = 0, attributes: NodeAttributes, entryTimeout: Double,
                attributeTimeout: Double) {
        self.node = node
        self.generation = generation
        self.attributes = attributes
        self.entryTimeout = entryTimeout
        self.attributeTimeout = attributeTimeout
    }
}

/// The answer to a lookup: a node, or a name known to be absent that the kernel may remember as such
/// (a negative entry: `ino` 0 with an entry timeout).
public enum LookupResult: Hashable, Sendable {
    case found(Entry)
    case missing(cacheFor: Double)
}

public struct AttributesReply: Hashable, Sendable {
    public var attributes: NodeAttributes
    public var timeout: Double

    public init(attributes: NodeAttributes, timeout: Double) {
        self.attributes = attributes
        self.timeout = timeout
    }
}

/// One directory entry for READDIR or READDIRPLUS.
public struct DirectoryEntry: Hashable, Sendable {
    public var name: String
    /// The cookie that resumes the listing after this entry.
    public var offset: UInt64
    /// The node and attributes; for READDIR only `attributes.inode` and the type bits of `attributes.mode` count.
    public var entry: Entry
    /// False for `.` and `..`, which READDIRPLUS returns without counting a lookup.
    public var countsLookup: Bool

    public init(name: String, offset: UInt64, entry: Entry, countsLookup: Bool = true) {
        self.name = name
        self.offset = offset
        self.entry = entry
        self.countsLookup = countsLookup
    }
}

/// An open file or directory handle and the kernel cache flags that go with it (`fuse_file_info`).
public struct OpenReply: Hashable, Sendable {
    public var handle: UInt64
    /// `FOPEN_KEEP_CACHE`: the data the kernel cached for this file is still current.
    public var keepCache: Bool
    /// `FOPEN_DIRECT_IO`: bypass the page cache.
    public var directIO: Bool
    /// `FOPEN_CACHE_DIR`: the kernel may cache this directory's listing.
    public var cacheDirectory: Bool

    public init(handle: UInt64, keepCache: Bool = false, directIO: Bool = false, cacheDirectory: Bool = false) {
        self.handle = handle
        self.keepCache = keepCache
        self.directIO = directIO
        self.cacheDirectory = cacheDirectory
    }
}

/// `statfs` in POSIX terms.
public struct FilesystemStatistics: Hashable, Sendable {
    public var blockSize: UInt64
    public var totalBlocks: UInt64
    public var freeBlocks: UInt64
    public var availableBlocks: UInt64
    public var totalFiles: UInt64
    public var freeFiles: UInt64
    public var nameMax: UInt64

    public init(blockSize: UInt64, totalBlocks: UInt64, freeBlocks: UInt64, availableBlocks: UInt64,
                totalFiles: UInt64, freeFiles: UInt64, nameMax: UInt64) {
        self.blockSize = blockSize
        self.totalBlocks = totalBlocks
        self.freeBlocks = freeBlocks
        self.availableBlocks = availableBlocks
        self.totalFiles = totalFiles
        self.freeFiles = freeFiles
        self.nameMax = nameMax
    }
}

/// A failed operation, as the errno the kernel gets, with what went wrong for the log.
public struct FilesystemError: Error, Hashable, Sendable, CustomStringConvertible {
    public var errno: Errno
    public var message: String

    public init(_ errno: Errno, _ message: String = "") {
        self.errno = errno
        self.message = message
    }

    public var description: String { message.isEmpty ? "\(errno)" : "\(errno): \(message)" }
}
