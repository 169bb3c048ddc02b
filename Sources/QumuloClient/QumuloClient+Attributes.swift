import NIOHTTP1
import QumuloAPI

extension QumuloClient {
    /// `GET info/attributes`: the attributes and the ETag to make a later change conditional on.
    ///
    /// - Parameter retrieveFileLock: also return the WORM `lock`, which needs READ_ACL.
    public func attributes(
        of ref: FileRef, snapshot: UInt64? = nil, retrieveFileLock: Bool = false
    ) async throws -> Tagged<FileAttributes> {
        let path = ref.filesPath + "/info/attributes"
            + query(("snapshot", snapshot.map(String.init)), ("retrieve-file-lock", retrieveFileLock ? "true" : nil))
        return try await perform(APIRequest(.GET, path, retry: .idempotent), decoding: FileAttributes.self)
    }

    /// `PATCH info/attributes`: mode, owner, group, size (truncate), times, SMB flags. Setting absolute values is
    /// idempotent, so it is retried.
    ///
    /// - Parameter ifMatch: an ETag; a file changed since answers 412 (``QumuloClientError/status``).
    public func setAttributes(
        of ref: FileRef, _ change: SetAttributesRequest, ifMatch: String? = nil
    ) async throws -> Tagged<FileAttributes> {
        let request = APIRequest(.PATCH, ref.filesPath + "/info/attributes", body: try json(change), ifMatch: ifMatch,
                                 retry: .idempotent)
        return try await perform(request, decoding: FileAttributes.self)
    }
}
