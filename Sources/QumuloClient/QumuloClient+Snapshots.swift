import NIOHTTP1
import QumuloAPI

extension QumuloClient {
    /// `GET /v3/snapshots/?filter=`: every snapshot, unpaged. `includingInDelete` keeps the ones being deleted,
    /// which can no longer be read.
    public func snapshots(includingInDelete: Bool = false) async throws -> [SnapshotInfo] {
        let path = "/v3/snapshots/" + query(("filter", includingInDelete ? "all" : "exclude_in_delete"))
        return try await perform(APIRequest(.GET, path, retry: .idempotent), decoding: SnapshotList<SnapshotInfo>.self)
            .value.entries
    }
}
