import Crypto
import Foundation
import GRDB
import QumuloAPI

extension Store {
    /// Starts a session and returns its bearer token. Only a hash of the token is stored.
    func createSession() async throws -> String {
        let secret = (0 ..< 32).map { _ in UInt8.random(in: 0 ... 255) }
        let token = "1:" + Data(secret).base64EncodedString()
        let expires = Timestamp.now().totalNanoseconds + Int64(sessionLifetime / .nanoseconds(1))
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM session WHERE expires < ?", arguments: [Timestamp.now().totalNanoseconds])
            try db.execute(
                sql: "INSERT INTO session (tokenHash, expires) VALUES (?, ?)", arguments: [Self.hash(token), expires])
        }
        return token
    }

    /// Whether a bearer token belongs to a live session. Sessions survive a restart of the server with the same
    /// password.
    func isValidSession(_ token: String) async throws -> Bool {
        let now = Timestamp.now().totalNanoseconds
        return try await pool.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT expires FROM session WHERE tokenHash = ?"), arguments: [Self.hash(token)])
                .map { $0 > now } ?? false
        }
    }

    /// Makes `password` the one sessions belong to: when it is not the one the store last knew (the sandbox
    /// restarted with another, or a store from before digests were kept), every session ends. Returns whether any did.
    @discardableResult
    func adoptPassword(_ password: String) throws -> Bool {
        try pool.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT salt, digest FROM credential WHERE id = 1"),
               Self.digest(password, salt: row["salt"]) == row["digest"] as Data {
                return false
            }
            return try Self.replacePassword(db, password)
        }
    }

    /// A password change through the API: every session ends, the caller's too.
    func changePassword(to password: String) async throws {
        try await pool.write { db in _ = try Self.replacePassword(db, password) }
    }

    private static func replacePassword(_ db: Database, _ password: String) throws -> Bool {
        let salt = Data((0 ..< 16).map { _ in UInt8.random(in: 0 ... 255) })
        try db.execute(
            sql: "INSERT OR REPLACE INTO credential (id, salt, digest) VALUES (1, ?, ?)",
            arguments: [salt, digest(password, salt: salt)])
        try db.execute(sql: "DELETE FROM session")
        return db.changesCount > 0
    }

    /// Only a salted digest is kept, enough to tell whether the password changed across a restart.
    private static func digest(_ password: String, salt: Data) -> Data {
        Data(SHA256.hash(data: salt + Data(password.utf8)))
    }

    private static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }
}
