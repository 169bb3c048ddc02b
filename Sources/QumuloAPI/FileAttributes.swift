/// The attributes object (`api_files_attributes`): what attribute GETs, listings, creates and writes return.
public struct FileAttributes: Codable, Hashable, Sendable {
    /// The file id; also the `ref` to address the file by, and its inode number.
    public var id: String
    /// Identical to `id`.
    public var fileNumber: String
    /// The entry name; empty when the object was addressed directly rather than through a listing.
    public var name: String
    /// Absolute path; directories end with `/`, the root is `/`.
    public var path: String
    public var type: FileType
    public var mode: FileMode
    @DecimalString public var owner: UInt64
    public var ownerDetails: IdentityDetails
    @DecimalString public var group: UInt64
    public var groupDetails: IdentityDetails
    @DecimalString public var size: UInt64
    /// File-system blocks (`block_size_bytes`, normally 4096) used by data and metadata together.
    @DecimalString public var blocks: UInt64
    @DecimalString public var datablocks: UInt64
    @DecimalString public var metablocks: UInt64
    public var numLinks: UInt32
    public var childCount: UInt64
    public var accessTime: Timestamp
    public var modificationTime: Timestamp
    public var changeTime: Timestamp
    public var creationTime: Timestamp
    public var symlinkTargetType: SymlinkTargetType?
    public var majorMinorNumbers: MajorMinorNumbers?
    public var extendedAttributes: ExtendedAttributes?
    public var directoryEntryHashPolicy: String?
    /// Changes whenever the file's data does: a cache key for its contents.
    @OptionalDecimalString public var dataRevision: UInt64?
    @OptionalDecimalString public var userMetadataRevision: UInt64?
    public var lock: FileLock?

    public init(
        id: String, name: String, path: String, type: FileType, mode: FileMode,
        owner: UInt64, group: UInt64, size: UInt64, blocks: UInt64, datablocks: UInt64, metablocks: UInt64,
        numLinks: UInt32, childCount: UInt64,
        accessTime: Timestamp, modificationTime: Timestamp, changeTime: Timestamp, creationTime: Timestamp,
        symlinkTargetType: SymlinkTargetType? = nil, majorMinorNumbers: MajorMinorNumbers? = nil,
        extendedAttributes: ExtendedAttributes? = nil, directoryEntryHashPolicy: String? = nil,
        dataRevision: UInt64? = nil, userMetadataRevision: UInt64? = nil, lock: FileLock? = nil
    ) {
        self.id = id
        self.fileNumber = id
        self.name = name
        self.path = path
        self.type = type
        self.mode = mode
        self.owner = owner
        self.ownerDetails = AuthID.details(of: owner)
        self.group = group
        self.groupDetails = AuthID.details(of: group)
        self.size = size
        self.blocks = blocks
        self.datablocks = datablocks
        self.metablocks = metablocks
        self.numLinks = numLinks
        self.childCount = childCount
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.changeTime = changeTime
        self.creationTime = creationTime
        self.symlinkTargetType = symlinkTargetType
        self.majorMinorNumbers = majorMinorNumbers
        self.extendedAttributes = extendedAttributes
        self.directoryEntryHashPolicy = directoryEntryHashPolicy
        self.dataRevision = dataRevision
        self.userMetadataRevision = userMetadataRevision
        self.lock = lock
    }

    enum CodingKeys: String, CodingKey {
        case id, name, path, type, mode, owner, group, size, blocks, datablocks, metablocks, lock
        case fileNumber = "file_number"
        case ownerDetails = "owner_details"
        case groupDetails = "group_details"
        case numLinks = "num_links"
        case childCount = "child_count"
        case accessTime = "access_time"
        case modificationTime = "modification_time"
        case changeTime = "change_time"
        case creationTime = "creation_time"
        case symlinkTargetType = "symlink_target_type"
        case majorMinorNumbers = "major_minor_numbers"
        case extendedAttributes = "extended_attributes"
        case directoryEntryHashPolicy = "directory_entry_hash_policy"
        case dataRevision = "data_revision"
        case userMetadataRevision = "user_metadata_revision"
    }
}

/// The SMB flags of a file, each a boolean.
public struct ExtendedAttributes: Codable, Hashable, Sendable {
    public var readOnly = false
    public var hidden = false
    public var system = false
    public var archive = false
    public var temporary = false
    public var compressed = false
    public var notContentIndexed = false
    public var sparseFile = false
    public var offline = false

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case hidden, system, archive, temporary, compressed, offline
        case readOnly = "read_only"
        case notContentIndexed = "not_content_indexed"
        case sparseFile = "sparse_file"
    }

    /// The flags as bits, in `CodingKeys.allCases` order: how a store keeps them in one column.
    public var bits: Int {
        get {
            CodingKeys.allCases.enumerated().reduce(0) { bits, flag in
                self[flag.element] ? bits | (1 << flag.offset) : bits
            }
        }
        set {
            for (offset, flag) in CodingKeys.allCases.enumerated() { self[flag] = newValue & (1 << offset) != 0 }
        }
    }

    /// Sets the flag with wire name `name` (`"hidden"`, `"read_only"`, ...); false if there is no such flag.
    public mutating func set(_ name: String, to value: Bool) -> Bool {
        guard let flag = CodingKeys(stringValue: name) else { return false }
        self[flag] = value
        return true
    }

    private subscript(flag: CodingKeys) -> Bool {
        get {
            switch flag {
            case .readOnly: readOnly
            case .hidden: hidden
            case .system: system
            case .archive: archive
            case .temporary: temporary
            case .compressed: compressed
            case .notContentIndexed: notContentIndexed
            case .sparseFile: sparseFile
            case .offline: offline
            }
        }
        set {
            switch flag {
            case .readOnly: readOnly = newValue
            case .hidden: hidden = newValue
            case .system: system = newValue
            case .archive: archive = newValue
            case .temporary: temporary = newValue
            case .compressed: compressed = newValue
            case .notContentIndexed: notContentIndexed = newValue
            case .sparseFile: sparseFile = newValue
            case .offline: offline = newValue
            }
        }
    }
}

/// A WORM retention period and legal hold, present only when asked for with `retrieve-file-lock`.
public struct FileLock: Codable, Hashable, Sendable {
    public var retentionPeriod: Timestamp?
    public var legalHold: Bool

    public init(retentionPeriod: Timestamp? = nil, legalHold: Bool = false) {
        self.retentionPeriod = retentionPeriod
        self.legalHold = legalHold
    }

    enum CodingKeys: String, CodingKey {
        case retentionPeriod = "retention_period"
        case legalHold = "legal_hold"
    }
}

/// The body of `PATCH info/attributes`: only the fields to change.
///
/// `extended_attributes` may name only some flags, so it is kept as a partial map.
public struct SetAttributesRequest: Codable, Hashable, Sendable {
    public var mode: FileMode?
    @OptionalDecimalString public var owner: UInt64?
    public var ownerDetails: IdentityDetails?
    @OptionalDecimalString public var group: UInt64?
    public var groupDetails: IdentityDetails?
    @OptionalDecimalString public var size: UInt64?
    public var accessTime: Timestamp?
    public var modificationTime: Timestamp?
    public var changeTime: Timestamp?
    public var creationTime: Timestamp?
    public var extendedAttributes: [String: Bool]?

    public init(
        mode: FileMode? = nil, owner: UInt64? = nil, ownerDetails: IdentityDetails? = nil,
        group: UInt64? = nil, groupDetails: IdentityDetails? = nil, size: UInt64? = nil,
        accessTime: Timestamp? = nil, modificationTime: Timestamp? = nil, changeTime: Timestamp? = nil,
        creationTime: Timestamp? = nil, extendedAttributes: [String: Bool]? = nil
    ) {
        self.mode = mode
        self.owner = owner
        self.ownerDetails = ownerDetails
        self.group = group
        self.groupDetails = groupDetails
        self.size = size
        self.accessTime = accessTime
        self.modificationTime = modificationTime
        self.changeTime = changeTime
        self.creationTime = creationTime
        self.extendedAttributes = extendedAttributes
    }

    enum CodingKeys: String, CodingKey {
        case mode, owner, group, size
        case ownerDetails = "owner_details"
        case groupDetails = "group_details"
        case accessTime = "access_time"
        case modificationTime = "modification_time"
        case changeTime = "change_time"
        case creationTime = "creation_time"
        case extendedAttributes = "extended_attributes"
    }
}
