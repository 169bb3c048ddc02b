/// The type of a file system object, as the `type` attribute names it.
public enum FileType: String, Codable, Sendable, CaseIterable {
    case file = "FS_FILE_TYPE_FILE"
    case directory = "FS_FILE_TYPE_DIRECTORY"
    case symlink = "FS_FILE_TYPE_SYMLINK"
    case pipe = "FS_FILE_TYPE_UNIX_PIPE"
    case characterDevice = "FS_FILE_TYPE_UNIX_CHARACTER_DEVICE"
    case blockDevice = "FS_FILE_TYPE_UNIX_BLOCK_DEVICE"
    case socket = "FS_FILE_TYPE_UNIX_SOCKET"

    /// The types `CREATE_UNIX_FILE` may create.
    public var isUnixSpecial: Bool {
        switch self {
        case .pipe, .characterDevice, .blockDevice, .socket: true
        case .file, .directory, .symlink: false
        }
    }

    public var isDevice: Bool { self == .characterDevice || self == .blockDevice }
}

/// What a symlink points at, for SMB clients (`mklink` vs `mklink /D`); NFS-style links are `unknown`.
public enum SymlinkTargetType: String, Codable, Sendable {
    case unknown = "FS_FILE_TYPE_UNKNOWN"
    case file = "FS_FILE_TYPE_FILE"
    case directory = "FS_FILE_TYPE_DIRECTORY"
}

/// Device numbers of a character or block device.
public struct MajorMinorNumbers: Codable, Hashable, Sendable {
    public var major: UInt32
    public var minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }
}
