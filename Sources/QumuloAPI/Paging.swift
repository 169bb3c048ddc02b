/// The `paging` object of a paged list. `next` is a server-relative URI that the client GETs verbatim.
///
/// How a list ends differs between endpoints, and the SDK is strict about it: entries listings end with
/// `"next": ""` (null crashes qq), v3 snapshot file diffs end with `null`. ``End`` says which one to write.
public struct Paging: Codable, Hashable, Sendable {
    public enum End: Sendable {
        case emptyString
        case null
    }

    public var next: String?
    public var prev: String?
    /// How this page writes a missing `next`; not part of the wire form.
    public var end: End = .emptyString

    public init(next: String?, prev: String? = nil, end: End = .emptyString) {
        self.next = next
        self.prev = prev
        self.end = end
    }

    /// Whether another page follows; both list endings count as "none".
    public var hasNext: Bool { next.map { !$0.isEmpty } ?? false }

    enum CodingKeys: String, CodingKey {
        case next, prev
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        next = try container.decodeIfPresent(String.self, forKey: .next)
        prev = try container.decodeIfPresent(String.self, forKey: .prev)
        end = next == nil ? .null : .emptyString
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch (next, end) {
        case let (next?, _): try container.encode(next, forKey: .next)
        case (nil, .emptyString): try container.encode("", forKey: .next)
        case (nil, .null): try container.encodeNil(forKey: .next)
        }
        if end == .emptyString {
            try container.encode(prev ?? "", forKey: .prev)
        }
    }
}

/// One page of `GET /v1/files/{ref}/entries/`: every child with its full attributes.
public struct EntriesPage: Codable, Hashable, Sendable {
    /// The directory's path, ending with `/`.
    public var path: String
    public var id: String
    public var childCount: UInt64
    public var files: [FileAttributes]
    public var paging: Paging

    public init(path: String, id: String, childCount: UInt64, files: [FileAttributes], paging: Paging) {
        self.path = path
        self.id = id
        self.childCount = childCount
        self.files = files
        self.paging = paging
    }

    enum CodingKeys: String, CodingKey {
        case path, id, files, paging
        case childCount = "child_count"
    }
}
