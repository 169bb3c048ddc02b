/// An answer together with the ETag the server sent with it, for a later `If-Match`.
///
/// Members of the value read through: `created.id` is `created.value.id`.
@dynamicMemberLookup
public struct Tagged<Value: Sendable>: Sendable {
    public var value: Value
    /// The ETag header verbatim; opaque.
    public var etag: String?

    public init(_ value: Value, etag: String?) {
        self.value = value
        self.etag = etag
    }

    public subscript<Member>(dynamicMember member: KeyPath<Value, Member>) -> Member {
        value[keyPath: member]
    }
}
