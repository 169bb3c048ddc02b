import NIOHTTP1
import QumuloAPI

extension QumuloClient {
    /// `POST /v1/files/resolve`: a path for each file id (one canonical path for a file with several links).
    /// It only reads, so it is retried despite being a POST.
    public func resolve(ids: [String], snapshot: UInt64? = nil) async throws -> [ResolvedPath] {
        let path = "/v1/files/resolve" + query(("snapshot", snapshot.map(String.init)))
        return try await perform(APIRequest(.POST, path, body: try json(ids), retry: .idempotent),
                                 decoding: [ResolvedPath].self).value
    }

    /// `GET /v1/file-system`: capacity and block size, what statfs reports.
    public func fileSystemStats() async throws -> FileSystemStats {
        try await perform(APIRequest(.GET, "/v1/file-system", retry: .idempotent), decoding: FileSystemStats.self).value
    }

    /// `GET /v1/session/who-am-i`: who the credentials are; the cheapest way to check them before a mount.
    public func whoAmI() async throws -> WhoAmI {
        try await perform(APIRequest(.GET, "/v1/session/who-am-i", retry: .idempotent), decoding: WhoAmI.self).value
    }
}
