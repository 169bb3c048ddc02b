import Foundation
import NIOHTTP1
import QumuloAPI

extension QumuloClient {
    /// `GET user-metadata/{type}/{key}`: the value's bytes (base64 on the wire).
    public func userMetadata(
        of ref: FileRef, type: UserMetadataType, key: String, snapshot: UInt64? = nil
    ) async throws -> [UInt8] {
        let path = metadataPath(ref, type, key) + query(("snapshot", snapshot.map(String.init)))
        let answer = try await perform(APIRequest(.GET, path, retry: .idempotent), decoding: UserMetadataValue.self)
        guard let bytes = Data(base64Encoded: answer.value.value) else {
            throw QumuloClientError(code: .invalidResponse, message: "user metadata \(key) is not base64")
        }
        return Array(bytes)
    }

    /// `PUT user-metadata/{type}/{key}`: sets the value, creating the key if needed; retried, as a set is.
    public func setUserMetadata(
        of ref: FileRef, type: UserMetadataType, key: String, value: [UInt8], ifMatch: String? = nil
    ) async throws {
        let body = try json(UserMetadataValue(value: Data(value).base64EncodedString()))
        try await performIgnoringBody(APIRequest(.PUT, metadataPath(ref, type, key), body: body, ifMatch: ifMatch,
                                                 retry: .idempotent))
    }

    /// `DELETE user-metadata/{type}/{key}`. Sent once: a retry of a delete that happened would report a missing key.
    public func deleteUserMetadata(
        of ref: FileRef, type: UserMetadataType, key: String, ifMatch: String? = nil
    ) async throws {
        try await performIgnoringBody(APIRequest(.DELETE, metadataPath(ref, type, key), ifMatch: ifMatch, retry: .never))
    }

    /// Every key of one type (or of all types), following `paging.next` to the end. Values stay base64.
    public func userMetadataEntries(
        of ref: FileRef, type: UserMetadataType? = nil, snapshot: UInt64? = nil
    ) async throws -> [UserMetadataEntry] {
        var path = ref.filesPath + "/user-metadata/" + (type.map { "\($0.pathComponent)/" } ?? "")
            + query(("snapshot", snapshot.map(String.init)))
        var entries: [UserMetadataEntry] = []
        while true {
            let page = try await perform(APIRequest(.GET, path, retry: .idempotent), decoding: UserMetadataPage.self).value
            entries += page.entries
            guard page.paging.hasNext, let next = page.paging.next else { return entries }
            path = try serverRelative(next)
        }
    }

    private func metadataPath(_ ref: FileRef, _ type: UserMetadataType, _ key: String) -> String {
        ref.filesPath + "/user-metadata/\(type.pathComponent)/" + PercentEncoding.encode(key)
    }
}
