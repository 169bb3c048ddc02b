/// Every tuning knob of the file system core, with why its default was chosen.
public struct FilesystemConfiguration: Sendable {
    /// Seconds the kernel and the core trust a live name, its attributes and a directory listing. One second
    /// makes `ls -l` after `ls` free and shows a change made elsewhere within a second. Never 0: the kernel would
    /// look up again every entry it just listed (design.md §2).
    public var attributeTimeout: Double = 1
    /// Seconds a live name known to be absent is remembered; short, so a file created elsewhere appears soon.
    public var negativeTimeout: Double = 1
    /// Hard bound, in bytes, on cached file data (blocks read and read ahead).
    public var cacheSize: Int
    /// Most bytes read ahead of one sequential reader. 64 MiB keeps a fast link busy across request latency.
    public var readAhead: Int = 64 << 20
    /// Bytes per ranged GET and per cache block. 4 MiB amortizes request overhead (measured: 128 KiB requests
    /// reach half the throughput of 4 MiB ones) while keeping the first byte of a random read quick.
    public var blockSize: Int = 4 << 20
    /// Bytes written and not yet uploaded, across the mount; writers wait while it is full. 128 MiB keeps 16
    /// uploads in flight, enough for several busy files, within the memory a read cache already takes.
    public var writeBuffer: Int = 128 << 20
    /// Bytes per `PATCH data` of a file being written sequentially: large enough to amortize a request, small
    /// enough that several are in flight within the write buffer.
    public var uploadSize: Int = 8 << 20
    /// Uploads in flight per file.
    public var uploadsPerFile = 4
    /// Refuse every change with EROFS.
    public var readOnly = false
    /// Every change of an inode checks its invariants (``InodeState``) and traps on a violation: on in debug builds,
    /// which every test tier runs, so each mount test checks them at every step; off in release builds.
    public var checksInvariants = Self.isDebugBuild
    /// Owner and group shown for objects whose owner is not an NFS identity (a local or SMB user).
    public var defaultUID: UInt32 = 0
    public var defaultGID: UInt32 = 0

    /// Snapshots never change, so whatever the core learned about them stays true: the longest timeout the
    /// kernel handles well (a year) instead of infinity.
    public static let forever: Double = 365 * 86400

    #if DEBUG
    static let isDebugBuild = true
    #else
    static let isDebugBuild = false
    #endif

    public init(cacheSize: Int) {
        self.cacheSize = cacheSize
    }
}
