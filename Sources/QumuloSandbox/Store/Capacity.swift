import GRDB

/// A limit on the bytes of file data the store holds, so clients can be tested against a full cluster.
///
/// Usage is the allocated blocks of every blob some row references (the live tree, kept snapshots and snapshots
/// awaiting reclaim), each blob once, holes free. The running total is a row of the `counter` table, so it commits
/// and rolls back with the request that changed it; it is recounted whenever the store opens with a capacity,
/// because a run without one does not keep it.
///
/// A change that may allocate is checked before it touches a blob, against the most it could allocate, and what it
/// did allocate is recorded after: a refused request has changed nothing, and usage never passes the limit.
struct Capacity: Sendable {
    let limit: Int64
    let blobs: BlobStore

    private static let counter = "data_bytes"

    func used(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM counter WHERE name = ?"), arguments: [Self.counter]) ?? 0
    }

    /// Fails with no space unless `bytes` more fit. A change that does not grow usage always passes, even when a
    /// restart lowered the limit below what the store already holds.
    func ensureSpace(for bytes: Int64, _ db: Database) throws {
        guard bytes > 0 else { return }
        let used = try used(db)
        if used + bytes > limit {
            throw SandboxError.noSpace(needed: bytes, free: max(0, limit - used))
        }
    }

    /// Adds `bytes` (negative when freed) to the running total.
    func record(_ bytes: Int64, _ db: Database) throws {
        guard bytes != 0 else { return }
        try db.cachedStatement(sql: "UPDATE counter SET value = value + ? WHERE name = ?").execute(arguments: [bytes, Self.counter])
    }

    /// Takes out of the total a blob that nothing references any more.
    func release(_ blob: Int64, _ db: Database) throws {
        try record(-blobs.allocatedBytes(of: blob), db)
    }

    /// Sets the total from the blobs themselves; returns it.
    func recount(_ db: Database) throws -> Int64 {
        let referenced = try Int64.fetchAll(db, sql: """
            SELECT blob FROM inode WHERE blob IS NOT NULL UNION SELECT blob FROM stream WHERE blob IS NOT NULL
            """)
        let total = try referenced.reduce(0) { $0 + (try blobs.allocatedBytes(of: $1)) }
        try db.execute(sql: "INSERT OR REPLACE INTO counter VALUES (?, ?)", arguments: [Self.counter, total])
        return total
    }
}
