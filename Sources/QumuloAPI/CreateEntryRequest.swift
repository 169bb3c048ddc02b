/// The body of `POST /v1/files/{dir}/entries/` (`api_files_create_entry`): create, link or rename into `{dir}`.
public struct CreateEntryRequest: Codable, Hashable, Sendable {
    public enum Action: String, Codable, Sendable {
        case createFile = "CREATE_FILE"
        case createDirectory = "CREATE_DIRECTORY"
        case createSymlink = "CREATE_SYMLINK"
        case createLink = "CREATE_LINK"
        case createUnixFile = "CREATE_UNIX_FILE"
        case rename = "RENAME"
    }

    public var action: Action
    public var name: String
    /// The symlink's target text (CREATE_SYMLINK), or the absolute path of the source (CREATE_LINK, RENAME).
    public var oldPath: String?
    /// RENAME only: replace an existing destination.
    public var clobber: Bool?
    public var symlinkTargetType: SymlinkTargetType?
    public var unixFileType: FileType?
    public var majorMinorNumbers: MajorMinorNumbers?

    public init(
        action: Action, name: String, oldPath: String? = nil, clobber: Bool? = nil,
        symlinkTargetType: SymlinkTargetType? = nil, unixFileType: FileType? = nil,
        majorMinorNumbers: MajorMinorNumbers? = nil
    ) {
        self.action = action
        self.name = name
        self.oldPath = oldPath
        self.clobber = clobber
        self.symlinkTargetType = symlinkTargetType
        self.unixFileType = unixFileType
        self.majorMinorNumbers = majorMinorNumbers
    }

    enum CodingKeys: String, CodingKey {
        case action, name, clobber
        case oldPath = "old_path"
        case symlinkTargetType = "symlink_target_type"
        case unixFileType = "unix_file_type"
        case majorMinorNumbers = "major_minor_numbers"
    }
}
