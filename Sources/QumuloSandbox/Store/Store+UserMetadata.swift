import Foundation
import GRDB
import QumuloAPI

/// Bounds on user metadata, ours (Qumulo's are not published): S3-style keys, xattr-sized values.
enum UserMetadataLimits {
    static let maxKeyBytes = 1024
    static let maxValueBytes = 64 * 1024
}

extension Store {
    /// Lists user metadata in (type, key) order, `limit` entries after the cursor `(type, key)`.
    func listUserMetadata(
        of ref: FileRef, type: UserMetadataType?, in view: View, after: (UserMetadataType, String)?, limit: Int
    ) async throws -> (entries: [UserMetadataEntry], more: Bool) {
        try await read { db in
            let inode = try Lookup.resolve(db, ref, in: view)
            var sql = "SELECT * FROM user_metadata WHERE file = ? AND \(view.visible("user_metadata"))"
            var arguments: StatementArguments = [inode.id]
            if let type {
                sql += " AND kind = ?"
                arguments += [type]
            }
            if let (kind, key) = after {
                sql += " AND (kind > ? OR (kind = ? AND key > ?))"
                arguments += [kind, kind, key]
            }
            sql += " ORDER BY kind, key LIMIT ?"
            arguments += [limit + 1]
            let records = try UserMetadataRecord.fetchAll(db, sql: sql, arguments: arguments)
            return (records.prefix(limit).map(\.api), records.count > limit)
        }
    }

    func userMetadata(of ref: FileRef, type: UserMetadataType, key: String, in view: View) async throws -> UserMetadataValue {
        try await read { db in
            let inode = try Lookup.resolve(db, ref, in: view)
            guard let record = try Self.userMetadataRecord(db, file: inode.id, type: type, key: key, in: view) else {
                throw SandboxError.noSuchEntry("user metadata \(type.pathComponent)/\(key)")
            }
            return UserMetadataValue(value: record.value.base64EncodedString())
        }
    }

    /// Sets a key: `replace` upserts (PUT); otherwise the key must be new (POST).
    func setUserMetadata(
        of ref: FileRef, type: UserMetadataType, key: String, value: String, replace: Bool, ifMatch: String?
    ) async throws {
        guard !key.isEmpty else {
            throw SandboxError.emptyUserMetadataKey()
        }
        guard key.utf8.count <= UserMetadataLimits.maxKeyBytes else {
            throw SandboxError.invalidRequest("user metadata key exceeds \(UserMetadataLimits.maxKeyBytes) bytes")
        }
        guard let bytes = Data(base64Encoded: value) else {
            throw SandboxError.decode("user metadata value is not base64")
        }
        guard bytes.count <= UserMetadataLimits.maxValueBytes else {
            throw SandboxError.invalidRequest("user metadata value exceeds \(UserMetadataLimits.maxValueBytes) bytes")
        }
        try await write { context in
            let inode = try Lookup.resolve(context.db, ref, in: .live)
            try Self.checkPrecondition(ifMatch, etag: inode.etag)
            if let existing = try Self.userMetadataRecord(context.db, file: inode.id, type: type, key: key, in: .live) {
                guard replace else { throw SandboxError.entryExists("user metadata \(type.pathComponent)/\(key)") }
                var changed = existing
                changed.value = bytes
                try context.save(replacing: existing, with: changed)
            } else {
                try context.insert(UserMetadataRecord(
                    vid: nil, file: inode.id, kind: type, key: key, value: bytes, born: 0, died: nil))
            }
            try Self.bumpUserMetadataRevision(inode, context: context)
        }
    }

    func deleteUserMetadata(of ref: FileRef, type: UserMetadataType, key: String, ifMatch: String?) async throws {
        try await write { context in
            let inode = try Lookup.resolve(context.db, ref, in: .live)
            try Self.checkPrecondition(ifMatch, etag: inode.etag)
            guard let record = try Self.userMetadataRecord(context.db, file: inode.id, type: type, key: key, in: .live) else {
                throw SandboxError.noSuchEntry("user metadata \(type.pathComponent)/\(key)")
            }
            try context.remove(record)
            try Self.bumpUserMetadataRevision(inode, context: context)
        }
    }

    private static func bumpUserMetadataRevision(_ inode: InodeRecord, context: WriteContext) throws {
        var changed = inode
        changed.userMetadataRevision += 1
        changed.touchChange(at: context.now)
        try context.save(replacing: inode, with: changed)
    }

    private static func userMetadataRecord(
        _ db: Database, file: Int64, type: UserMetadataType, key: String, in view: View
    ) throws -> UserMetadataRecord? {
        try UserMetadataRecord.fetchOne(
            db, sql: "SELECT * FROM user_metadata WHERE file = ? AND kind = ? AND key = ? AND \(view.visible("user_metadata"))",
            arguments: [file, type, key])
    }
}

extension UserMetadataRecord {
    var api: UserMetadataEntry {
        UserMetadataEntry(type: kind, key: key, value: value.base64EncodedString())
    }
}
