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

    /// Whether a bearer token belongs to a live session. Sessions survive a restart of the server.
    func isValidSession(_ token: String) async throws -> Bool {
        let now = Timestamp.now().totalNanoseconds
        return try await pool.read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT expires FROM session WHERE tokenHash = ?"), arguments: [Self.hash(token)])
                .map { $0 > now } ?? false
        }
    }

    private static func hash(_ token: String) -> Data {
        Data(SHA256.hash(data: Data(token.utf8)))
    }
}
