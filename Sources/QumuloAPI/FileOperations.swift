/// `POST punch-hole`: deallocate a range, which then reads as zeros; the size does not change.
public struct PunchHoleRequest: Codable, Sendable {
    @DecimalString public var offset: UInt64
    @DecimalString public var size: UInt64

    public init(offset: UInt64, size: UInt64) {
        self.offset = offset
        self.size = size
    }
}

/// `POST copy-chunk`: a server-side copy into the target file. The server may copy part of the range and answer
/// with this body advanced; the client posts it back until the answer is empty.
public struct CopyChunkRequest: Codable, Hashable, Sendable {
    public var sourceID: String?
    public var sourcePath: String?
    public var sourceStreamID: String?
    public var sourceSnapshot: UInt64?
    @OptionalDecimalString public var sourceOffset: UInt64?
    @OptionalDecimalString public var targetOffset: UInt64?
    @OptionalDecimalString public var length: UInt64?
    public var sourceETag: String?

    public init(
        sourceID: String? = nil, sourcePath: String? = nil, sourceStreamID: String? = nil,
        sourceSnapshot: UInt64? = nil, sourceOffset: UInt64? = nil, targetOffset: UInt64? = nil,
        length: UInt64? = nil, sourceETag: String? = nil
    ) {
        self.sourceID = sourceID
        self.sourcePath = sourcePath
        self.sourceStreamID = sourceStreamID
        self.sourceSnapshot = sourceSnapshot
        self.sourceOffset = sourceOffset
        self.targetOffset = targetOffset
        self.length = length
        self.sourceETag = sourceETag
    }

    enum CodingKeys: String, CodingKey {
        case length
        case sourceID = "source_id"
        case sourcePath = "source_path"
        case sourceStreamID = "source_stream_id"
        case sourceSnapshot = "source_snapshot"
        case sourceOffset = "source_offset"
        case targetOffset = "target_offset"
        case sourceETag = "source_etag"
    }
}

/// One answer of `POST /v1/files/resolve`.
public struct ResolvedPath: Codable, Hashable, Sendable {
    public var id: String
    public var path: String

    public init(id: String, path: String) {
        self.id = id
        self.path = path
    }
}

/// A named stream (an SMB alternate data stream). The default stream, id `"0"`, is not listed.
public struct NamedStream: Codable, Hashable, Sendable {
    public var name: String
    public var id: String
    @DecimalString public var size: UInt64
    @DecimalString public var datablocks: UInt64
    @DecimalString public var dataRevision: UInt64

    public init(name: String, id: String, size: UInt64, datablocks: UInt64, dataRevision: UInt64) {
        self.name = name
        self.id = id
        self.size = size
        self.datablocks = datablocks
        self.dataRevision = dataRevision
    }

    enum CodingKeys: String, CodingKey {
        case name, id, size, datablocks
        case dataRevision = "data_revision"
    }
}

/// The body of stream create and rename.
public struct StreamNameRequest: Codable, Sendable {
    public var streamName: String

    public init(streamName: String) {
        self.streamName = streamName
    }

    enum CodingKeys: String, CodingKey {
        case streamName = "stream_name"
    }
}

/// Key/value tags on a file, visible to S3; values are base64 inside JSON.
public enum UserMetadataType: String, Codable, Sendable, CaseIterable {
    case generic = "GENERIC"
    case s3 = "S3"

    /// The lowercase form used as a URL path component.
    public var pathComponent: String { rawValue.lowercased() }

    public init?(pathComponent: String) {
        self.init(rawValue: pathComponent.uppercased())
    }
}

public struct UserMetadataEntry: Codable, Hashable, Sendable {
    public var type: UserMetadataType
    public var key: String
    /// Base64 of the value's bytes.
    public var value: String

    public init(type: UserMetadataType, key: String, value: String) {
        self.type = type
        self.key = key
        self.value = value
    }
}

/// The body of user-metadata PUT/POST and the answer of its GET.
public struct UserMetadataValue: Codable, Hashable, Sendable {
    /// Base64 of the value's bytes.
    public var value: String

    public init(value: String) {
        self.value = value
    }
}

/// A page of user metadata.
public struct UserMetadataPage: Codable, Sendable {
    public var entries: [UserMetadataEntry]
    public var paging: Paging

    public init(entries: [UserMetadataEntry], paging: Paging) {
        self.entries = entries
        self.paging = paging
    }
}
