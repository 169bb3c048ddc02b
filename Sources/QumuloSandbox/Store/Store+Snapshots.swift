import Crypto
import Foundation
import GRDB
import QumuloAPI

/// A snapshot: the epoch it froze, and what the API says about it.
struct SnapshotRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "snapshot"

    var id: Int64
    var epoch: Int64
    /// `<id>_<suffix>`: the `.snapshot` entry name.
    var name: String
    /// The suffix as the user gave it (the v1/v2 `name`).
    var userName: String
    var timestamp: Int64
    var sourceFileID: Int64
    var expiration: Int64?
    var inDelete: Bool
    var lockKey: Int64?
    var challenge: String?

    var info: SnapshotInfo {
        SnapshotInfo(
            id: UInt64(id), name: name, timestamp: Timestamp(totalNanoseconds: timestamp),
            sourceFileID: String(sourceFileID), expiration: expiration.map(Timestamp.init(totalNanoseconds:)),
            inDelete: inDelete)
    }
}

/// Which snapshots a list shows, from the v3 `filter` or the v4 comma-separated filters.
struct SnapshotFilter: Sendable {
    var excludeInDelete = false
    var excludeNotInDelete = false
    var excludeLocked = false
    var excludeNotLocked = false

    func admits(_ record: SnapshotRecord) -> Bool {
        !(excludeInDelete && record.inDelete) && !(excludeNotInDelete && !record.inDelete)
            && !(excludeLocked && record.lockKey != nil) && !(excludeNotLocked && record.lockKey == nil)
    }
}

extension Store {
    /// Takes a snapshot of a directory: records the live epoch and starts a new one. O(1): nothing is copied.
    func createSnapshot(of source: FileRef, suffix: String?, expiration: Timestamp?) async throws -> SnapshotRecord {
        let suffix = suffix ?? "OnDemand"
        guard !suffix.contains("/"), !suffix.utf8.contains(0), suffix.utf8.count <= 200 else {
            throw SandboxError.invalidName(suffix)
        }
        let expiration = try expiration?.storedNanoseconds("expiration")
        return try await write { context in
            let directory = try Lookup.directory(context.db, source, in: .live)
            let id = try context.next("snapshot_id")
            let record = SnapshotRecord(
                id: id, epoch: context.epoch, name: "\(id)_\(suffix)", userName: suffix, timestamp: context.now,
                sourceFileID: directory.id, expiration: expiration, inDelete: false, lockKey: nil,
                challenge: nil)
            try record.insert(context.db)
            try context.db.execute(sql: "UPDATE counter SET value = value + 1 WHERE name = 'epoch'")
            return record
        }
    }

    func snapshots(_ filter: SnapshotFilter) async throws -> [SnapshotRecord] {
        try await read { db in
            try SnapshotRecord.fetchAll(db, sql: "SELECT * FROM snapshot ORDER BY id").filter(filter.admits)
        }
    }

    func snapshot(_ id: Int64) async throws -> SnapshotRecord {
        try await read { db in try Self.snapshot(db, id) }
    }

    /// The path of a snapshot's source directory, as the snapshot has it.
    func sourcePath(of snapshot: SnapshotRecord) async throws -> String {
        try await read { db in
            let view = View(epoch: snapshot.epoch)
            guard let source = try Lookup.inode(db, id: snapshot.sourceFileID, in: view) else { return "" }
            return try Lookup.path(db, of: source, in: view)
        }
    }

    /// Changes the expiration; a locked snapshot's may only move later (never counts as latest).
    func setExpiration(of id: Int64, to expiration: Timestamp?) async throws -> SnapshotRecord {
        let new = try expiration?.storedNanoseconds("expiration")
        return try await write { context in
            var record = try Self.snapshot(context.db, id)
            if record.lockKey != nil {
                let shortens = switch (record.expiration, new) {
                case (nil, .some): true
                case let (old?, new?): new < old
                default: false
                }
                if shortens { throw SandboxError.snapshotLocked(id) }
            }
            record.expiration = new
            try record.update(context.db)
            return record
        }
    }

    /// Marks a snapshot for deletion; the reaper reclaims its space and then forgets it.
    func deleteSnapshot(_ id: Int64) async throws {
        try await write { context in
            var record = try Self.snapshot(context.db, id)
            if record.lockKey != nil { throw SandboxError.snapshotLocked(id) }
            record.inDelete = true
            try record.update(context.db)
        }
    }

    /// Expires what is due, then deletes the snapshots marked for deletion and every version of a row that no
    /// remaining snapshot can see, unlinking blobs nothing references any more. Locked snapshots never expire.
    /// Returns how many snapshots were reclaimed.
    @discardableResult
    func reapSnapshots() async throws -> Int {
        try await write { context in
            let db = context.db
            try db.execute(
                sql: "UPDATE snapshot SET inDelete = 1 WHERE expiration IS NOT NULL AND expiration <= ? AND lockKey IS NULL",
                arguments: [context.now])
            let reclaimed = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM snapshot WHERE inDelete = 1") ?? 0
            guard reclaimed > 0 else { return 0 }
            try db.execute(sql: "DELETE FROM snapshot WHERE inDelete = 1")
            let unseen = "died IS NOT NULL AND NOT EXISTS (SELECT 1 FROM snapshot s WHERE s.epoch >= born AND s.epoch < died)"
            let blobs = try Int64.fetchAll(db, sql: """
                SELECT blob FROM inode WHERE blob IS NOT NULL AND \(unseen)
                UNION SELECT blob FROM stream WHERE blob IS NOT NULL AND \(unseen)
                """)
            for table in ["inode", "dirent", "stream", "user_metadata"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE \(unseen)")
            }
            for blob in blobs {
                try context.releaseBlob(blob)
            }
            return reclaimed
        }
    }

    /// Bytes held only by snapshots: blobs that no live row uses.
    func snapshotBytes() async throws -> UInt64 {
        let blobs = try await read { db in
            try Int64.fetchAll(db, sql: """
                SELECT blob FROM inode WHERE blob IS NOT NULL AND died IS NOT NULL
                UNION SELECT blob FROM stream WHERE blob IS NOT NULL AND died IS NOT NULL
                EXCEPT SELECT blob FROM inode WHERE blob IS NOT NULL AND died IS NULL
                EXCEPT SELECT blob FROM stream WHERE blob IS NOT NULL AND died IS NULL
                """)
        }
        return blobs.reduce(0) { $0 + UInt64(self.blobs.datablocks(of: $1) * BlobStore.blockSize) }
    }

    /// The view a `snapshot` parameter selects: the live tree when absent. Snapshots being deleted are gone.
    static func view(_ db: Database, snapshot: UInt64?) throws -> View {
        guard let snapshot else { return .live }
        guard let id = Int64(exactly: snapshot), let record = try SnapshotRecord.fetchOne(db, key: id), !record.inDelete
        else { throw SandboxError.noSuchSnapshot(snapshot) }
        return View(epoch: record.epoch, scope: record.sourceFileID)
    }

    static func snapshot(_ db: Database, _ id: Int64) throws -> SnapshotRecord {
        guard let record = try SnapshotRecord.fetchOne(db, key: id) else { throw SandboxError.noSuchSnapshot(id) }
        return record
    }
}
