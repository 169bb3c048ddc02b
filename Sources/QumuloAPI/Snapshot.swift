/// A snapshot in the v3 form (`api_snapshot_info`): what list, get, create and modify answer.
///
/// `name` is `<id>_<suffix>`, exactly the entry name under `.snapshot` over NFS and SMB. A nil `expiration`
/// means never; clients send it as `""` or null, and both decode to nil.
public struct SnapshotInfo: Codable, Hashable, Sendable {
    public var id: UInt64
    public var name: String
    public var timestamp: Timestamp
    public var sourceFileID: String
    public var policyID: UInt64?
    public var expiration: Timestamp?
    public var inDelete: Bool

    public init(id: UInt64, name: String, timestamp: Timestamp, sourceFileID: String, policyID: UInt64? = nil,
                expiration: Timestamp?, inDelete: Bool) {
        self.id = id
        self.name = name
        self.timestamp = timestamp
        self.sourceFileID = sourceFileID
        self.policyID = policyID
        self.expiration = expiration
        self.inDelete = inDelete
    }

    enum CodingKeys: String, CodingKey {
        case id, name, timestamp, expiration
        case sourceFileID = "source_file_id"
        case policyID = "policy_id"
        case inDelete = "in_delete"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(UInt64.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        timestamp = try container.decode(Timestamp.self, forKey: .timestamp)
        sourceFileID = try container.decode(String.self, forKey: .sourceFileID)
        policyID = try container.decodeIfPresent(UInt64.self, forKey: .policyID)
        expiration = try container.decodeExpiration(forKey: .expiration)
        inDelete = try container.decodeIfPresent(Bool.self, forKey: .inDelete) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(sourceFileID, forKey: .sourceFileID)
        try container.encode(policyID, forKey: .policyID)
        try container.encode(expiration, forKey: .expiration)
        try container.encode(inDelete, forKey: .inDelete)
    }
}

/// The status form (v3 and v4): the snapshot plus its source path, owners and lock. The snapshot's own fields
/// read through: `status.id` is `status.info.id`.
@dynamicMemberLookup
public struct SnapshotStatus: Codable, Hashable, Sendable {
    public var info: SnapshotInfo
    public var sourceFilePath: String
    public var policyName: String?
    public var owners: [Owner]
    /// The id of the key that locks the snapshot; nil when unlocked. Always present: qq reads it.
    public var lockKey: String?

    public struct Owner: Codable, Hashable, Sendable {
        public var id: String

        public init(id: String) {
            self.id = id
        }
    }

    public init(info: SnapshotInfo, sourceFilePath: String, lockKey: String?) {
        self.info = info
        self.sourceFilePath = sourceFilePath
        policyName = nil
        owners = []
        self.lockKey = lockKey
    }

    public subscript<Member>(dynamicMember member: KeyPath<SnapshotInfo, Member>) -> Member {
        info[keyPath: member]
    }

    enum CodingKeys: String, CodingKey {
        case owners
        case sourceFilePath = "source_file_path"
        case policyName = "policy_name"
        case lockKey = "lock_key"
    }

    /// One flat JSON object: the snapshot's fields and the status fields side by side.
    public init(from decoder: any Decoder) throws {
        info = try SnapshotInfo(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sourceFilePath = try container.decodeIfPresent(String.self, forKey: .sourceFilePath) ?? ""
        policyName = try container.decodeIfPresent(String.self, forKey: .policyName)
        owners = try container.decodeIfPresent([Owner].self, forKey: .owners) ?? []
        lockKey = try container.decodeIfPresent(String.self, forKey: .lockKey)
    }

    public func encode(to encoder: any Encoder) throws {
        try info.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sourceFilePath, forKey: .sourceFilePath)
        try container.encode(policyName, forKey: .policyName)
        try container.encode(owners, forKey: .owners)
        try container.encode(lockKey, forKey: .lockKey)
    }
}

/// `POST /v3/snapshots/`. qq always sends `source_file_id` and sends `expiration: ""` for never.
public struct CreateSnapshotRequest: Codable, Sendable {
    public var nameSuffix: String?
    public var expiration: Timestamp?
    public var sourceFileID: String?

    public init(nameSuffix: String? = nil, expiration: Timestamp? = nil, sourceFileID: String? = nil) {
        self.nameSuffix = nameSuffix
        self.expiration = expiration
        self.sourceFileID = sourceFileID
    }

    enum CodingKeys: String, CodingKey {
        case expiration
        case nameSuffix = "name_suffix"
        case sourceFileID = "source_file_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        nameSuffix = try container.decodeIfPresent(String.self, forKey: .nameSuffix)
        expiration = try container.decodeExpiration(forKey: .expiration)
        sourceFileID = try container.decodeIfPresent(String.self, forKey: .sourceFileID)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(nameSuffix, forKey: .nameSuffix)
        try container.encode(expiration?.rfc3339 ?? "", forKey: .expiration)
        try container.encodeIfPresent(sourceFileID, forKey: .sourceFileID)
    }
}

/// `PATCH /v3/snapshots/{id}`: only the expiration changes. `hasExpiration` tells "set to never" from "absent".
public struct ModifySnapshotRequest: Decodable, Sendable {
    public var hasExpiration: Bool
    public var expiration: Timestamp?

    enum CodingKeys: String, CodingKey {
        case expiration
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        hasExpiration = container.contains(.expiration)
        expiration = try container.decodeExpiration(forKey: .expiration)
    }
}

/// The legacy v1 and v2 snapshot objects: `name` is the user's, `directory_name` the `.snapshot` entry, and
/// expiration `""` means never.
public struct SnapshotLegacy: Encodable, Sendable {
    public var id: UInt64
    public var name: String
    public var timestamp: Timestamp
    public var directoryName: String
    /// v2 names the source by id,
    public var sourceFileID: String?
    /// v1 by path.
    public var sourcePath: String?
    public var createdByPolicy = false
    public var expiration: Timestamp?
    /// v2 only.
    public var inDelete: Bool?

    public init(id: UInt64, name: String, timestamp: Timestamp, directoryName: String, sourceFileID: String?,
                sourcePath: String?, expiration: Timestamp?, inDelete: Bool?) {
        self.id = id
        self.name = name
        self.timestamp = timestamp
        self.directoryName = directoryName
        self.sourceFileID = sourceFileID
        self.sourcePath = sourcePath
        self.expiration = expiration
        self.inDelete = inDelete
    }

    enum CodingKeys: String, CodingKey {
        case id, name, timestamp, expiration
        case directoryName = "directory_name"
        case sourceFileID = "source_file_id"
        case sourcePath = "source_path"
        case createdByPolicy = "created_by_policy"
        case inDelete = "in_delete"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(directoryName, forKey: .directoryName)
        try container.encodeIfPresent(sourceFileID, forKey: .sourceFileID)
        try container.encodeIfPresent(sourcePath, forKey: .sourcePath)
        try container.encode(createdByPolicy, forKey: .createdByPolicy)
        try container.encode(expiration?.rfc3339 ?? "", forKey: .expiration)
        try container.encodeIfPresent(inDelete, forKey: .inDelete)
    }
}

/// `POST /v1/snapshots/` and `/v2/snapshots/`: a user name, an expiration and (v2) the source directory.
public struct CreateSnapshotLegacyRequest: Decodable, Sendable {
    public var name: String?
    public var expiration: Timestamp?
    public var sourceFileID: String?

    enum CodingKeys: String, CodingKey {
        case name, expiration
        case sourceFileID = "source_file_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        expiration = try container.decodeExpiration(forKey: .expiration)
        sourceFileID = try container.decodeIfPresent(String.self, forKey: .sourceFileID)
    }
}

/// A list of snapshots or statuses: `{"entries": [...]}`, never paged.
public struct SnapshotList<Entry: Sendable>: Sendable {
    public var entries: [Entry]

    public init(entries: [Entry]) {
        self.entries = entries
    }
}

extension SnapshotList: Encodable where Entry: Encodable {}
extension SnapshotList: Decodable where Entry: Decodable {}

/// One change of a tree diff: an object created, modified or deleted between two snapshots.
public struct SnapshotTreeChange: Codable, Hashable, Sendable {
    public enum Operation: String, Codable, Sendable {
        case create = "CREATE"
        case modify = "MODIFY"
        case delete = "DELETE"
    }

    public var op: Operation
    public var path: String

    public init(op: Operation, path: String) {
        self.op = op
        self.path = path
    }
}

/// One region of a v2 file diff, as the newer snapshot has it: data, or a hole.
public struct SnapshotFileRegion: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Sendable {
        case data = "FILE_REGION_DATA"
        case hole = "FILE_REGION_HOLE"
    }

    public var type: Kind
    @DecimalString public var offset: UInt64
    @DecimalString public var size: UInt64

    public init(type: Kind, offset: UInt64, size: UInt64) {
        self.type = type
        self.offset = offset
        self.size = size
    }
}

/// One operation of a v3 file diff: what turns the older contents into the newer.
public struct SnapshotFileOperation: Codable, Hashable, Sendable {
    public var op: SnapshotTreeChange.Operation
    @DecimalString public var offset: UInt64
    @DecimalString public var size: UInt64

    public init(op: SnapshotTreeChange.Operation, offset: UInt64, size: UInt64) {
        self.op = op
        self.offset = offset
        self.size = size
    }
}

/// A page of a diff.
public struct DiffPage<Entry: Codable & Sendable>: Codable, Sendable {
    public var entries: [Entry]
    public var paging: Paging

    public init(entries: [Entry], paging: Paging) {
        self.entries = entries
        self.paging = paging
    }
}

extension KeyedDecodingContainer {
    /// An expiration: absent, null and `""` all mean never.
    func decodeExpiration(forKey key: Key) throws -> Timestamp? {
        guard let text = try decodeIfPresent(String.self, forKey: key), !text.isEmpty else { return nil }
        guard let time = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\"\(text)\" is not an RFC 3339 time")
        }
        return time
    }
}
