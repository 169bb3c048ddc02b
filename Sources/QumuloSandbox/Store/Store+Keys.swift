import Crypto
import Foundation
import GRDB
import QumuloAPI

/// A public key that can lock snapshots.
struct SecurityKeyRecord: Codable, FetchableRecord, PersistableRecord, Sendable {
    static let databaseTableName = "security_key"

    var id: Int64
    var name: String
    var comment: String
    var disabled: Bool
    /// Base64 of the DER SubjectPublicKeyInfo.
    var publicKey: String

    var api: SecurityKey {
        SecurityKey(id: String(id), name: name, comment: comment, disabled: disabled, publicKey: publicKey)
    }

    /// Whether `signature` (base64 of a DER ECDSA P-256 signature over SHA-256) signs `text` with this key.
    func verifies(_ signature: String, over text: String) -> Bool {
        guard let keyBytes = Data(base64Encoded: publicKey), let signatureBytes = Data(base64Encoded: signature),
              let key = try? P256.Signing.PublicKey(derRepresentation: keyBytes),
              let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signatureBytes)
        else { return false }
        return key.isValidSignature(parsed, for: Data(text.utf8))
    }
}

extension Store {
    /// Adds a key after checking that its owner signed its name with the private key.
    func addKey(_ request: AddSecurityKeyRequest) async throws -> SecurityKey {
        guard !request.name.isEmpty, Int64(request.name) == nil else {
            throw SandboxError.invalidRequest("a key name must be non-empty and not a number (numbers are ids)")
        }
        try Lookup.refuseNUL(request.name)
        guard let der = Data(base64Encoded: request.publicKey), (try? P256.Signing.PublicKey(derRepresentation: der)) != nil
        else { throw SandboxError.invalidRequest("public_key must be base64 of a DER ECDSA P-256 public key") }
        return try await write { context in
            if try SecurityKeyRecord.fetchOne(context.db, sql: "SELECT * FROM security_key WHERE name = ?",
                                              arguments: [request.name]) != nil {
                throw SandboxError.entryExists("key \(request.name)")
            }
            let record = SecurityKeyRecord(
                id: try context.next("key_id"), name: request.name, comment: request.comment ?? "", disabled: false,
                publicKey: request.publicKey)
            guard record.verifies(request.verificationSignature, over: request.name) else {
                throw SandboxError.badSignature("verification_signature of key \(request.name)")
            }
            try record.insert(context.db)
            return record.api
        }
    }

    func keys() async throws -> [SecurityKey] {
        try await read { db in try SecurityKeyRecord.fetchAll(db, sql: "SELECT * FROM security_key ORDER BY id").map(\.api) }
    }

    func key(_ ref: String) async throws -> SecurityKey {
        try await read { db in try Self.key(db, ref).api }
    }

    func modifyKey(_ ref: String, _ change: ModifySecurityKeyRequest) async throws -> SecurityKey {
        try await write { context in
            var record = try Self.key(context.db, ref)
            if let name = change.name {
                guard !name.isEmpty, Int64(name) == nil else { throw SandboxError.invalidRequest("invalid key name") }
                try Lookup.refuseNUL(name)
                record.name = name
            }
            if let comment = change.comment { record.comment = comment }
            if let disabled = change.disabled { record.disabled = disabled }
            try record.update(context.db)
            return record.api
        }
    }

    /// Deletes a key that locks nothing.
    func deleteKey(_ ref: String) async throws {
        try await write { context in
            let record = try Self.key(context.db, ref)
            if try Int.fetchOne(context.db, sql: "SELECT COUNT(*) FROM snapshot WHERE lockKey = ?", arguments: [record.id]) ?? 0 > 0 {
                throw SandboxError.keyInUse(record.name)
            }
            _ = try record.delete(context.db)
        }
    }

    /// The snapshots a key locks.
    func keyUsages(_ ref: String) async throws -> [SecurityKeyUsage] {
        try await read { db in
            let record = try Self.key(db, ref)
            return try Int64.fetchAll(db, sql: "SELECT id FROM snapshot WHERE lockKey = ? ORDER BY id", arguments: [record.id])
                .map { SecurityKeyUsage(type: "snapshot", id: String($0)) }
        }
    }

    func lockSnapshot(_ id: Int64, keyRef: String) async throws {
        try await write { context in
            var snapshot = try Self.snapshot(context.db, id)
            let key = try Self.key(context.db, keyRef)
            guard !key.disabled else { throw SandboxError.invalidRequest("key \(key.name) is disabled") }
            guard !snapshot.inDelete else { throw SandboxError.noSuchSnapshot(id) }
            snapshot.lockKey = key.id
            try snapshot.update(context.db)
        }
    }

    /// Issues a fresh challenge for unlocking; the previous one stops working.
    func unlockChallenge(_ id: Int64) async throws -> String {
        let challenge = "qfuse-sandbox unlock \(id) " + Data((0 ..< 24).map { _ in UInt8.random(in: 0 ... 255) }).base64EncodedString()
        return try await write { context in
            var snapshot = try Self.snapshot(context.db, id)
            guard snapshot.lockKey != nil else { throw SandboxError.invalidRequest("snapshot \(id) is not locked") }
            snapshot.challenge = challenge
            try snapshot.update(context.db)
            return challenge
        }
    }

    /// Unlocks a snapshot given a signature of its current challenge by the locking key; the challenge is spent.
    func unlockSnapshot(_ id: Int64, signature: String) async throws {
        try await write { context in
            var snapshot = try Self.snapshot(context.db, id)
            guard let keyID = snapshot.lockKey else { throw SandboxError.invalidRequest("snapshot \(id) is not locked") }
            guard let challenge = snapshot.challenge else {
                throw SandboxError.invalidRequest("ask for an unlock challenge first")
            }
            let key = try Self.key(context.db, String(keyID))
            guard key.verifies(signature, over: challenge) else { throw SandboxError.badSignature("unlock of snapshot \(id)") }
            snapshot.lockKey = nil
            snapshot.challenge = nil
            try snapshot.update(context.db)
        }
    }

    /// A key by id or by name.
    static func key(_ db: Database, _ ref: String) throws -> SecurityKeyRecord {
        try Lookup.refuseNUL(ref)
        let record = if let id = Int64(ref) {
            try SecurityKeyRecord.fetchOne(db, key: id)
        } else {
            try SecurityKeyRecord.fetchOne(db, sql: "SELECT * FROM security_key WHERE name = ?", arguments: [ref])
        }
        guard let record else {
            throw SandboxError.noSuchKey(ref)
        }
        return record
    }
}
