import GRDB
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What makes one write transaction's blob changes all or nothing, across a failed request and a killed process.
///
/// SQLite commits or rolls back the metadata; blob bytes have no transaction, so each change is made undoable
/// before it starts:
/// - a change in place first saves the bytes it will overwrite inside the recorded size to an ``UndoRecord``;
///   bytes past the size are invisible until the new size commits, so appends write in place and save nothing;
/// - a blob the transaction creates (a clone, a new blob, an adopted spool) is unreferenced until it commits;
/// - a cut (shrinking) waits for the commit, since the cut bytes could not be put back.
///
/// On commit the records are dropped and the cuts made; on rollback the records are restored, the blobs cut back
/// to their sizes, and the new blobs removed. Both run on the writer's queue, before the next writer starts.
/// After a crash, ``recover(_:in:logger:)`` does the rollback's work from what is on disk.
final class BlobJournal: Sendable {
    private enum Undo {
        /// Put back the saved bytes (if any) and cut the blob to the size it had.
        case restore(blob: Int64, size: Int64, record: UndoRecord?)
        case remove(blob: Int64)
    }

    private struct State {
        var undo: [Undo] = []
        var cuts: [(blob: Int64, size: Int64)] = []
    }

    private let blobs: BlobStore
    private let logger: Logger
    /// Written by the one transaction that owns the journal, read by its commit or rollback: never contended.
    private let state = Mutex(State())

    /// A journal for the transaction `db` runs, which commits or rolls it back.
    init(_ db: Database, blobs: BlobStore, logger: Logger) {
        self.blobs = blobs
        self.logger = logger
        db.afterNextTransaction(onCommit: { _ in self.committed() }, onRollback: { _ in self.rolledBack() })
    }

    /// Makes a change in place to `blob` of `size` bytes over `range` undoable; `revision` is the holder's data
    /// revision before the change.
    func willChange(_ blob: Int64, size: Int64, range: Range<Int64>, revision: Int64) throws {
        try blobs.cutTail(of: blob, to: size)
        let visible = range.clamped(to: 0 ..< size)
        let record = visible.isEmpty ? nil : try blobs.preserve(blob, range: visible, revision: revision)
        state.withLock { $0.undo.append(.restore(blob: blob, size: size, record: record)) }
    }

    /// Records a blob this transaction made: removed if it rolls back.
    func created(_ blob: Int64) {
        state.withLock { $0.undo.append(.remove(blob: blob)) }
    }

    /// Cuts `blob` to `size` once the transaction commits.
    func cutAfterCommit(_ blob: Int64, to size: Int64) {
        state.withLock { $0.cuts.append((blob, size)) }
    }

    private func committed() {
        let done = state.withLock { state in
            defer { state = State() }
            return state
        }
        for case .restore(_, _, let record?) in done.undo {
            unlink(record.path)
        }
        for cut in done.cuts {
            do {
                try blobs.truncate(cut.blob, to: cut.size)
            } catch {
                // The bytes past the size stay invisible; the next change or restart cuts them.
                logger.warning("cannot cut blob", metadata: ["blob.id": "\(cut.blob)", "blob.error": "\(error)"])
            }
        }
    }

    private func rolledBack() {
        let done = state.withLock { state in
            defer { state = State() }
            return state
        }
        for undo in done.undo.reversed() {
            switch undo {
            case .restore(let blob, let size, let record):
                do {
                    if let record { try blobs.restore(record) }
                    try blobs.truncate(blob, to: size)
                    if let record { unlink(record.path) }
                } catch {
                    // The record stays in the journal, and the next start restores it.
                    logger.error("cannot undo a failed change to a blob",
                                 metadata: ["blob.id": "\(blob)", "blob.error": "\(error)"])
                }
            case .remove(let blob):
                blobs.remove(blob)
            }
        }
    }

    /// Undoes what a killed process left half done, before the store serves: restores the undo records of the
    /// transaction that never committed, cuts every blob to its recorded size and removes the blobs no row
    /// references (a transaction's new blobs, or old ones whose unlink after a commit never ran).
    static func recover(_ db: Database, in blobs: BlobStore, logger: Logger) throws {
        let owners = try Row.fetchAll(db, sql: """
            SELECT blob, MAX(size) AS size, MAX(dataRevision) AS revision FROM (
                SELECT blob, size, dataRevision FROM inode WHERE blob IS NOT NULL
                UNION ALL SELECT blob, size, dataRevision FROM stream WHERE blob IS NOT NULL)
            GROUP BY blob
            """)
        var sizes: [Int64: (size: Int64, revision: Int64)] = [:]
        for row in owners {
            sizes[row["blob"]] = (row["size"], row["revision"])
        }
        var restored = 0
        for record in blobs.leftUndoRecords() {
            if let owner = sizes[record.blob], owner.revision <= record.revision {
                try blobs.restore(record)
                restored += 1
            }
            unlink(record.path)
        }
        var cut = 0
        var removed = 0
        for blob in blobs.allBlobs() {
            guard let owner = sizes[blob] else {
                blobs.remove(blob)
                removed += 1
                continue
            }
            if let length = blobs.length(of: blob), length > owner.size {
                try blobs.truncate(blob, to: owner.size)
                cut += 1
            }
        }
        if restored + cut + removed > 0 {
            logger.notice("repaired blobs left by an interrupted run", metadata: [
                "blob.restored": "\(restored)", "blob.cut": "\(cut)", "blob.removed": "\(removed)",
            ])
        }
    }
}
