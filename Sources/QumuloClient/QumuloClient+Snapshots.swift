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

    /// `GET /v3/snapshots/{id}`.
    public func snapshot(id: UInt64) async throws -> SnapshotInfo {
        try await perform(APIRequest(.GET, "/v3/snapshots/\(id)", retry: .idempotent), decoding: SnapshotInfo.self).value
    }

    /// `POST /v3/snapshots/`: a snapshot of the directory `sourceFileID` (the root when nil), named
    /// `<id>_<nameSuffix>` by the server. Sent once: a retry could take a second snapshot.
    ///
    /// - Parameter expiration: when the cluster deletes it; nil keeps it until deleted.
    public func createSnapshot(
        of sourceFileID: String? = nil, nameSuffix: String? = nil, expiration: Timestamp? = nil
    ) async throws -> SnapshotInfo {
        let body = CreateSnapshotRequest(nameSuffix: nameSuffix, expiration: expiration, sourceFileID: sourceFileID)
        return try await perform(APIRequest(.POST, "/v3/snapshots/", body: try json(body), retry: .never),
                                 decoding: SnapshotInfo.self).value
    }

    /// `DELETE /v3/snapshots/{id}`: the cluster answers 202 and reclaims the space later (`in_delete` meanwhile).
    /// Retried, as the id names one snapshot forever.
    public func deleteSnapshot(id: UInt64) async throws {
        try await performIgnoringBody(APIRequest(.DELETE, "/v3/snapshots/\(id)", retry: .idempotent))
    }

    /// `GET /v2/snapshots/{newer}/changes-since/{older}`: one page of the paths created, modified or deleted
    /// between two snapshots. Follow ``DiffPage/paging`` with ``snapshotChangesPage(next:)``.
    public func snapshotChangesPage(
        newer: UInt64, older: UInt64, limit: Int? = nil
    ) async throws -> DiffPage<SnapshotTreeChange> {
        let path = "/v2/snapshots/\(newer)/changes-since/\(older)" + query(("limit", limit.map(String.init)))
        return try await perform(APIRequest(.GET, path, retry: .idempotent), decoding: DiffPage<SnapshotTreeChange>.self).value
    }

    /// The diff page a `paging.next` names, requested verbatim (server-relative only).
    public func snapshotChangesPage(next: String) async throws -> DiffPage<SnapshotTreeChange> {
        try await perform(APIRequest(.GET, try serverRelative(next), retry: .idempotent),
                          decoding: DiffPage<SnapshotTreeChange>.self).value
    }

    /// Every change between two snapshots, all pages gathered.
    public func snapshotChanges(newer: UInt64, older: UInt64, pageSize: Int? = nil) async throws -> [SnapshotTreeChange] {
        var page = try await snapshotChangesPage(newer: newer, older: older, limit: pageSize)
        var changes = page.entries
        while page.paging.hasNext, let next = page.paging.next {
            page = try await snapshotChangesPage(next: next)
            changes += page.entries
        }
        return changes
    }
}
