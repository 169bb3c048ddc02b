import Foundation
import GRDB
import Logging
import QumuloAPI
#if canImport(Glibc)
import Glibc
#endif

/// The sandbox's file system: metadata in SQLite (WAL, through GRDB), file contents in blob files.
///
/// Design:
/// - Every namespace table (inodes, directory entries, streams, user metadata) keeps versions of its rows.
///   The store has a *live epoch*; taking a snapshot records the current epoch and starts a new one, touching
///   nothing else, so it is O(1) whatever the size of the tree. A view at epoch `e` sees the rows with
///   `born <= e < died`; the live view sees the rows with `died IS NULL`.
/// - Copy-on-write: a change to a row that some kept snapshot can see retires that row (`died` = live epoch) and
///   inserts the changed copy; a row no snapshot sees is changed in place. File contents follow at file
///   granularity: rows share a blob until the first write after a snapshot, which clones it (a reflink where the
///   file system has them).
/// - Every request is one SQLite transaction, so a failed request leaves nothing half-done. Data arrives in a
///   spool file first and is copied into the blob inside the transaction, which a ``BlobJournal`` makes undoable,
///   so a failed request or a killed process leaves the old bytes or the new ones, never a mix.
/// - Blobs that no row references any more are unlinked after the transaction that orphaned them commits; what a
///   crash left undone is repaired when the store opens.
///
/// Threading: `Store` is immutable; GRDB's pool serializes writers and lets readers run in parallel.
final class Store: Sendable {
    static let rootID: Int64 = 2
    /// File ids below this are reserved, as on a cluster (the root is 2).
    static let firstFileID: Int64 = 3
    /// Largest size, and end of a write, of any stream: what ext4 holds with 4 KiB blocks (16 TiB less one block),
    /// so the limit does not depend on the disk under the store and a request past it is bad input (400), never a
    /// failed ftruncate or pwrite (500).
    static let maxFileSize: Int64 = (1 << 44) - 4096

    let pool: DatabasePool
    let blobs: BlobStore
    let logger: Logger
    /// How long a session token stays valid.
    let sessionLifetime: Duration
    /// The limit on file data; nil for none, when the store holds what the disk under it does.
    let capacity: Capacity?

    init(root: URL, capacity: Int64?, sessionLifetime: Duration, logger: Logger) throws {
        self.sessionLifetime = sessionLifetime
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let blobs = try BlobStore(root: root)
        self.blobs = blobs
        let database = root.appendingPathComponent("metadata.sqlite").path
        try Self.restrictAccess(
            directories: [root.path, blobs.directory, blobs.spoolDirectory, blobs.journalDirectory], database: database)
        self.capacity = capacity.map { Capacity(limit: $0, blobs: blobs) }
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL with NORMAL sync survives a crash of the process; only power loss can drop the newest commits.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: database, configuration: configuration)
        self.logger = logger
        try Self.migrator.migrate(pool)
        try pool.write { db in
            try Self.createRootIfNeeded(db)
            try BlobJournal.recover(db, in: blobs, logger: logger)
        }
        if let capacity = self.capacity {
            let used = try pool.write { db in try capacity.recount(db) }
            logger.info("capacity", metadata: ["capacity.limit": "\(capacity.limit)", "capacity.used": "\(used)"])
        }
    }

    /// The store is one user's, whatever the umask, and so are stores made before this rule: directories 0700,
    /// the database 0600. A new database is created empty with that mode first because SQLite gives its WAL and
    /// shared-memory files the database's own mode. An existing one is never opened here: closing any descriptor
    /// of it would drop the POSIX locks another connection in this process holds.
    private static func restrictAccess(directories: [String], database: String) throws {
        for directory in directories {
            try check(chmod(directory, 0o700), "chmod \(directory)")
        }
        if !FileManager.default.fileExists(atPath: database) {
            let descriptor = open(database, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw StorageError(operation: "create \(database)", code: errno) }
            close(descriptor)
        }
        for file in [database, database + "-wal", database + "-shm"] where FileManager.default.fileExists(atPath: file) {
            try check(chmod(file, 0o600), "chmod \(file)")
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("namespace") { db in
            try db.execute(sql: """
                CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
                INSERT INTO counter VALUES ('file_id', \(firstFileID)), ('blob_id', 1), ('epoch', 1);
                CREATE TABLE snapshot (id INTEGER PRIMARY KEY, epoch INTEGER NOT NULL);
                CREATE TABLE inode (
                    vid INTEGER PRIMARY KEY, id INTEGER NOT NULL, born INTEGER NOT NULL, died INTEGER,
                    type TEXT NOT NULL, mode INTEGER NOT NULL, owner INTEGER NOT NULL, grp INTEGER NOT NULL,
                    size INTEGER NOT NULL, nlink INTEGER NOT NULL, childCount INTEGER NOT NULL,
                    atime INTEGER NOT NULL, mtime INTEGER NOT NULL, ctime INTEGER NOT NULL, btime INTEGER NOT NULL,
                    blob INTEGER, datablocks INTEGER NOT NULL, symlinkTarget TEXT, symlinkTargetType TEXT,
                    major INTEGER, minor INTEGER, revision INTEGER NOT NULL, dataRevision INTEGER NOT NULL,
                    userMetadataRevision INTEGER NOT NULL, extendedAttributes INTEGER NOT NULL,
                    nextStreamID INTEGER NOT NULL, acl TEXT);
                CREATE UNIQUE INDEX inode_live ON inode(id) WHERE died IS NULL;
                CREATE INDEX inode_versions ON inode(id, born);
                CREATE INDEX inode_blob ON inode(blob) WHERE blob IS NOT NULL;
                CREATE TABLE dirent (
                    vid INTEGER PRIMARY KEY, parent INTEGER NOT NULL, name TEXT NOT NULL, child INTEGER NOT NULL,
                    born INTEGER NOT NULL, died INTEGER);
                CREATE UNIQUE INDEX dirent_live ON dirent(parent, name) WHERE died IS NULL;
                CREATE INDEX dirent_versions ON dirent(parent, name, born);
                CREATE INDEX dirent_child ON dirent(child, born);
                CREATE TABLE stream (
                    vid INTEGER PRIMARY KEY, file INTEGER NOT NULL, sid INTEGER NOT NULL, name TEXT NOT NULL,
                    blob INTEGER, size INTEGER NOT NULL, datablocks INTEGER NOT NULL, dataRevision INTEGER NOT NULL,
                    born INTEGER NOT NULL, died INTEGER);
                CREATE INDEX stream_file ON stream(file, sid, born);
                CREATE INDEX stream_blob ON stream(blob) WHERE blob IS NOT NULL;
                CREATE TABLE user_metadata (
                    vid INTEGER PRIMARY KEY, file INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
                    value BLOB NOT NULL, born INTEGER NOT NULL, died INTEGER);
                CREATE INDEX user_metadata_file ON user_metadata(file, kind, key, born);
                CREATE TABLE session (tokenHash BLOB PRIMARY KEY, expires INTEGER NOT NULL);
                """)
        }
        migrator.registerMigration("snapshots") { db in
            try db.execute(sql: """
                ALTER TABLE snapshot ADD COLUMN name TEXT NOT NULL DEFAULT '';
                ALTER TABLE snapshot ADD COLUMN userName TEXT NOT NULL DEFAULT '';
                ALTER TABLE snapshot ADD COLUMN timestamp INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE snapshot ADD COLUMN sourceFileID INTEGER NOT NULL DEFAULT \(rootID);
                ALTER TABLE snapshot ADD COLUMN expiration INTEGER;
                ALTER TABLE snapshot ADD COLUMN inDelete INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE snapshot ADD COLUMN lockKey INTEGER;
                ALTER TABLE snapshot ADD COLUMN challenge TEXT;
                INSERT INTO counter VALUES ('snapshot_id', 1), ('key_id', 1);
                CREATE INDEX inode_dead ON inode(died) WHERE died IS NOT NULL;
                CREATE INDEX dirent_dead ON dirent(died) WHERE died IS NOT NULL;
                CREATE TABLE security_key (
                    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, comment TEXT NOT NULL,
                    disabled INTEGER NOT NULL, publicKey TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("session expiry in nanoseconds") { db in
            try db.execute(sql: "UPDATE session SET expires = expires * 1000000000")
        }
        migrator.registerMigration("password digest") { db in
            try db.execute(sql: """
                CREATE TABLE credential (id INTEGER PRIMARY KEY CHECK (id = 1), salt BLOB NOT NULL, digest BLOB NOT NULL);
                """)
        }
        return migrator
    }

    private static func createRootIfNeeded(_ db: Database) throws {
        guard try InodeRecord.fetchOne(db, sql: "SELECT * FROM inode WHERE id = ? AND died IS NULL", arguments: [rootID]) == nil
        else { return }
        let now = Timestamp.now().totalNanoseconds
        var root = InodeRecord.new(
            id: rootID, type: .directory, mode: 0o777, owner: Int64(AuthID.admin), group: Int64(AuthID.usersGroup),
            epoch: 1, now: now)
        try root.insert(db)
    }

    /// Runs `body` as one write transaction, then unlinks the blobs it orphaned.
    func write<T: Sendable>(_ body: @escaping @Sendable (inout WriteContext) throws -> T) async throws -> T {
        let (result, orphans) = try await pool.write { db in
            var context = try WriteContext(
                db: db, capacity: self.capacity, journal: BlobJournal(db, blobs: self.blobs, logger: self.logger))
            let result = try body(&context)
            return (result, context.orphanBlobs)
        }
        for blob in orphans {
            blobs.remove(blob)
        }
        return result
    }

    /// Runs `body` in a read transaction: a consistent view of the whole store.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }
}

/// Which version of the namespace a request reads: the live tree, or the tree as a snapshot kept it.
struct View: Sendable, Hashable {
    /// The snapshot's epoch; nil for the live tree.
    var epoch: Int64?
    /// The directory whose subtree the view covers: a snapshot's source; the root for the live tree.
    var scope: Int64 = Store.rootID

    static let live = View(epoch: nil)

    /// The SQL condition selecting the rows this view sees; `table` qualifies the columns.
    func visible(_ table: String) -> String {
        if let epoch {
            "\(table).born <= \(epoch) AND (\(table).died IS NULL OR \(table).died > \(epoch))"
        } else {
            "\(table).died IS NULL"
        }
    }
}

/// A row type versioned by `born`/`died`, so one copy-on-write rule serves every table.
protocol VersionedRecord: MutablePersistableRecord {
    var vid: Int64? { get set }
    var born: Int64 { get set }
    var died: Int64? { get set }
}

extension InodeRecord: VersionedRecord {}
extension DirentRecord: VersionedRecord {}
extension StreamRecord: VersionedRecord {}
extension UserMetadataRecord: VersionedRecord {}

/// What one write transaction works with: the database, the epochs and the time of the request.
struct WriteContext {
    let db: Database
    /// The live epoch: rows born now belong to the live tree only.
    let epoch: Int64
    /// The epoch of the newest snapshot still kept; rows born at or before it may be seen by a snapshot.
    let pinnedEpoch: Int64?
    /// One timestamp for every change the request makes, as a file system gives one operation.
    let now: Int64
    /// The store's limit on file data, if it has one.
    let capacity: Capacity?
    /// Makes the transaction's blob changes all or nothing.
    let journal: BlobJournal
    /// Blobs no row references any more; unlinked once the transaction commits.
    var orphanBlobs: [Int64] = []

    init(db: Database, capacity: Capacity?, journal: BlobJournal) throws {
        self.db = db
        self.capacity = capacity
        self.journal = journal
        epoch = try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM counter WHERE name = 'epoch'")) ?? 1
        pinnedEpoch = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(epoch) FROM snapshot"))
        now = Timestamp.now().totalNanoseconds
    }

    /// Whether a snapshot may see a row born at `born`: then the row must not change in place.
    func isPinned(_ born: Int64) -> Bool {
        pinnedEpoch.map { born <= $0 } ?? false
    }

    /// Replaces `old` with `new`: in place when no snapshot sees `old`, else by retiring it and inserting `new`.
    @discardableResult
    func save<R: VersionedRecord>(replacing old: R, with new: R) throws -> R {
        var new = new
        if isPinned(old.born) {
            var retired = old
            retired.died = epoch
            try retired.update(db)
            new.vid = nil
            new.born = epoch
            new.died = nil
            try new.insert(db)
        } else {
            try new.update(db)
        }
        return new
    }

    /// Inserts a row born in the live epoch.
    @discardableResult
    func insert<R: VersionedRecord>(_ record: R) throws -> R {
        var record = record
        record.born = epoch
        record.died = nil
        try record.insert(db)
        return record
    }

    /// Removes `record` from the live tree: deleted when no snapshot sees it, else retired.
    /// Returns whether the row is gone for good (so its blob may be freed).
    @discardableResult
    func remove<R: VersionedRecord>(_ record: R) throws -> Bool {
        if isPinned(record.born) {
            var retired = record
            retired.died = epoch
            try retired.update(db)
            return false
        }
        _ = try record.delete(db)
        return true
    }

    /// Takes the next value of a counter.
    func next(_ counter: String) throws -> Int64 {
        let value = try Int64.fetchOne(db.cachedStatement(sql: "SELECT value FROM counter WHERE name = ?"), arguments: [counter])!
        try db.cachedStatement(sql: "UPDATE counter SET value = value + 1 WHERE name = ?").execute(arguments: [counter])
        return value
    }

    /// Number of rows, in any version, that use `blob`.
    func references(toBlob blob: Int64) throws -> Int {
        try Int.fetchOne(
            db, sql: "SELECT (SELECT COUNT(*) FROM inode WHERE blob = ?1) + (SELECT COUNT(*) FROM stream WHERE blob = ?1)",
            arguments: [blob]) ?? 0
    }

    /// Queues `blob` for unlinking if nothing references it any more.
    mutating func releaseBlob(_ blob: Int64?) throws {
        if let blob, try references(toBlob: blob) == 0 {
            try capacity?.release(blob, db)
            orphanBlobs.append(blob)
        }
    }
}

extension InodeRecord {
    /// A fresh object with every time set to `now`.
    static func new(
        id: Int64, type: FileType, mode: Int, owner: Int64, group: Int64, epoch: Int64, now: Int64
    ) -> InodeRecord {
        InodeRecord(
            vid: nil, id: id, born: epoch, died: nil, type: type, mode: mode, owner: owner, grp: group, size: 0,
            nlink: type == .directory ? 2 : 1, childCount: 0, atime: now, mtime: now, ctime: now, btime: now,
            blob: nil, datablocks: 0, symlinkTarget: nil, symlinkTargetType: nil, major: nil, minor: nil,
            revision: 1, dataRevision: 1, userMetadataRevision: 0, extendedAttributes: 0, nextStreamID: 1, acl: nil)
    }
}
