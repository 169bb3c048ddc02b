import QumuloAPI

extension NodeAttributes {
    /// POSIX attributes of a Qumulo object: type bits from `type`, permissions from `mode`, uid/gid from NFS
    /// identities (others show as the configured defaults), `st_blocks` from the cluster's block count.
    init(_ attributes: FileAttributes, inode: UInt64, configuration: FilesystemConfiguration) {
        let clusterBlockSize: UInt64 = 4096
        self.init(
            inode: inode,
            mode: attributes.type.modeBits | attributes.mode.rawValue,
            linkCount: attributes.numLinks,
            uid: Self.posixID(attributes.ownerDetails, .nfsUID) ?? configuration.defaultUID,
            gid: Self.posixID(attributes.groupDetails, .nfsGID) ?? configuration.defaultGID,
            device: attributes.majorMinorNumbers.map { Self.makeDevice(major: $0.major, minor: $0.minor) } ?? 0,
            size: attributes.size,
            blocks: attributes.datablocks * clusterBlockSize / 512,
            blockSize: UInt32(configuration.blockSize),
            accessTime: attributes.accessTime,
            modificationTime: attributes.modificationTime,
            changeTime: attributes.changeTime)
    }

    private static func posixID(_ details: IdentityDetails, _ kind: IdentityDetails.Kind) -> UInt32? {
        details.idType == kind ? UInt32(details.idValue) : nil
    }

    /// glibc's `makedev`: 12 bits of major and 20 of minor, split as the kernel's `new_encode_dev` wants.
    static func makeDevice(major: UInt32, minor: UInt32) -> UInt64 {
        let major = UInt64(major), minor = UInt64(minor)
        return (major & 0xFFFF_F000) << 32 | (major & 0xFFF) << 8 | (minor & 0xFFFF_FF00) << 12 | (minor & 0xFF)
    }

    /// The `.snapshot` directory: read-only, owned like its directory, timed like it.
    static func snapshotDirectory(of directory: NodeAttributes, inode: UInt64) -> NodeAttributes {
        var attributes = directory
        attributes.inode = inode
        attributes.mode = FileType.directory.modeBits | 0o555
        attributes.linkCount = 2
        attributes.size = 0
        attributes.blocks = 0
        return attributes
    }

    var isDirectory: Bool { mode & 0o170000 == FileType.directory.modeBits }
}

extension FileType {
    /// The `S_IF*` bits of `st_mode`.
    var modeBits: UInt32 {
        switch self {
        case .file: 0o100000
        case .directory: 0o040000
        case .symlink: 0o120000
        case .pipe: 0o010000
        case .characterDevice: 0o020000
        case .blockDevice: 0o060000
        case .socket: 0o140000
        }
    }
}

// SystemPackage has a `FileType` and a `FileMode` of its own; files that import it name the API's through these.
typealias QumuloFileType = FileType
typealias QumuloFileMode = FileMode

extension FileType {
    /// The type of an `S_IF*` value.
    init?(modeBits: UInt32) {
        guard let type = FileType.allCases.first(where: { $0.modeBits == modeBits }) else { return nil }
        self = type
    }
}
