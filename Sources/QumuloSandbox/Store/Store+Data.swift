import Foundation
import GRDB
import QumuloAPI
#if canImport(Glibc)
import Glibc
#endif

/// Which data stream of a file a request addresses: the default one, or a named stream by id.
enum StreamSelector: Sendable, Hashable {
    case main
    case named(Int64)

    /// Parses a `{stream_id}` path segment; `"0"` is the default stream.
    init?(segment: String) {
        guard let id = Int64(segment), id >= 0 else { return nil }
        self = id == 0 ? .main : .named(id)
    }
}

/// A row that holds the bytes of a data stream: a file's inode, or a named stream.
protocol DataHolder: VersionedRecord, Sendable {
    var blob: Int64? { get set }
    var size: Int64 { get set }
    var datablocks: Int64 { get set }
    var dataRevision: Int64 { get set }
}

extension InodeRecord: DataHolder {}
extension StreamRecord: DataHolder {}

/// What a read streams back: an open blob range, or bytes in hand (a symlink's target, an empty file).
enum DataSource: Sendable {
    case blob(descriptor: Int32, offset: Int64, length: Int64)
    case bytes([UInt8])
}

/// What a data change answers: the file's attributes for the default stream, the stream's for a named one.
enum DataChangeResult: Encodable, Sendable {
    case file(FileAttributes)
    case stream(NamedStream)

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .file(let attributes): try attributes.encode(to: encoder)
        case .stream(let stream): try stream.encode(to: encoder)
        }
    }
}

/// How a write lands: replacing the whole stream (PUT), or at an offset (PATCH).
enum WritePlacement: Sendable {
    case replace
    case at(Int64)
}

extension Store {
    /// Opens `length` bytes (to the end when nil) from `offset` of a stream for reading, with the file's ETag.
    /// Past the end the read is empty, as on a cluster.
    func openData(
        _ ref: FileRef, stream: StreamSelector, in view: View, offset: Int64, length: Int64?
    ) async throws -> Tagged<DataSource> {
        // A blob can be unlinked between the transaction that found it and the open; the next try sees its successor.
        for _ in 0 ..< 3 {
            let found = try await read { db -> (holder: (blob: Int64?, size: Int64), symlink: String?, etag: String) in
                let inode = try Lookup.resolve(db, ref, in: view)
                switch stream {
                case .main:
                    guard inode.type == .file || inode.type == .symlink else { throw SandboxError.notAFile(ref.description) }
                    return ((inode.blob, inode.size), inode.symlinkTarget, inode.etag)
                case .named(let sid):
                    let record = try Self.stream(db, file: inode.id, sid: sid, in: view)
                    return ((record.blob, record.size), nil, inode.etag)
                }
            }
            if let target = found.symlink {
                return Tagged(value: .bytes(Array(target.utf8.dropFirst(Int(min(offset, Int64(target.utf8.count)))).prefix(Int(length ?? .max)))), etag: found.etag)
            }
            let start = min(offset, found.holder.size)
            let count = min(length ?? .max, found.holder.size - start)
            guard let blob = found.holder.blob, count > 0 else {
                return Tagged(value: .bytes(Array(repeating: 0, count: Int(max(0, count)))), etag: found.etag)
            }
            do {
                let descriptor = try blobs.openForReading(blob)
                return Tagged(value: .blob(descriptor: descriptor, offset: start, length: count), etag: found.etag)
            } catch let error as StorageError where error.code == ENOENT {
                continue
            }
        }
        throw SandboxError.busy("\(ref): the file kept changing while it was opened; try again")
    }

    /// Writes a spooled body into a stream and returns the file's new attributes.
    func writeData(
        _ ref: FileRef, stream: StreamSelector, spool: Spool, placement: WritePlacement, ifMatch: String?
    ) async throws -> Tagged<DataChangeResult> {
        try await modifyStream(ref, stream: stream, ifMatch: ifMatch) { holder, context in
            switch placement {
            case .replace:
                let previous = holder.blob
                try self.chargeReplacement(of: holder, by: spool, context: context)
                let blob = try context.next("blob_id")
                try self.blobs.adopt(spool: spool.path, as: blob)
                context.journal.created(blob)
                holder.blob = blob
                holder.size = spool.count
                return previous
            case .at(let offset):
                guard offset <= Int64.max - spool.count else {
                    throw SandboxError.invalidRequest("offset and length must fit in 63 bits")
                }
                try self.changeBlob(of: &holder, in: offset ..< offset + spool.count, allocates: true, context: context) { blob in
                    try self.blobs.write(from: spool.descriptor, at: 0, count: spool.count, into: blob, at: offset)
                }
                holder.size = max(holder.size, offset + spool.count)
                return nil
            }
        }
    }

    /// Deallocates a range of a stream; it reads back as zeros and the size does not change.
    func punchHole(
        _ ref: FileRef, stream: StreamSelector, offset: Int64, size: Int64, ifMatch: String?
    ) async throws -> Tagged<DataChangeResult> {
        try await modifyStream(ref, stream: stream, ifMatch: ifMatch) { holder, context in
            let end = min(holder.size, offset + size)
            if end > offset, holder.blob != nil {
                try self.changeBlob(of: &holder, in: offset ..< end, allocates: false, context: context) { blob in
                    try self.blobs.punchHole(blob, offset: offset, length: end - offset)
                }
            }
            return nil
        }
    }

    /// Sets a stream's size: truncating drops bytes, extending adds zeros.
    func resize(_ holder: inout some DataHolder, to size: Int64, context: WriteContext) throws {
        guard size != holder.size else { return }
        var freed: Int64 = 0
        if size < holder.size, let blob = holder.blob, try ownsBlob(holder, context: context) {
            // Bytes cut now could not be put back if the request failed or the process died; past the new size
            // they are invisible already, and the cut follows the commit.
            let kept = min(BlobStore.blockAligned(size), holder.size)
            freed = try blobs.allocatedBytes(of: blob, in: kept ..< holder.size)
            try context.capacity?.record(-freed, context.db)
            context.journal.cutAfterCommit(blob, to: size)
        } else if size > 0 || holder.blob != nil {
            // Growing leaves a hole, which allocates nothing; shrinking a shared blob cuts a fresh copy.
            let changed = min(size, holder.size) ..< max(size, holder.size)
            try changeBlob(of: &holder, in: changed, allocates: false, context: context) { blob in
                try blobs.truncate(blob, to: size)
            }
        }
        holder.size = size
        holder.markDataChanged(blobs: blobs)
        // The blob still holds the bytes the cut will free once the size commits.
        holder.datablocks = max(0, holder.datablocks - freed / BlobStore.blockSize)
    }

    /// Runs `change` on the blob `holder` may write in place (see ``privateBlob(of:context:)``); `range` holds every
    /// byte it changes, and `allocates` says whether it may fill holes there. A change in place is journaled first,
    /// so it commits or rolls back with the transaction (see ``BlobJournal``).
    ///
    /// With a capacity, the change is refused before any byte moves when the most it could allocate does not fit
    /// (the holes it may fill, and the whole copy when the blob is shared), and what it did allocate is recorded.
    func changeBlob(
        of holder: inout some DataHolder, in range: Range<Int64>, allocates: Bool, context: WriteContext,
        _ change: (Int64) throws -> Void
    ) throws {
        let old = holder.blob
        var allocated: Int64 = 0
        if let capacity = context.capacity {
            let copies = try old != nil && !ownsBlob(holder, context: context)
            allocated = try old.map { try blobs.allocatedBytes(of: $0, in: range) } ?? 0
            // Without reflinks a copy writes holes out as zeros, so it may allocate every block up to the size.
            let most = (copies ? BlobStore.blockAligned(holder.size) : 0)
                + (allocates ? BlobStore.blockSpan(range) - allocated : 0)
            try capacity.ensureSpace(for: most, context.db)
        }
        let blob = try privateBlob(of: &holder, context: context)
        if blob == old {
            try context.journal.willChange(blob, size: holder.size, range: range, revision: holder.dataRevision)
        }
        try change(blob)
        if let capacity = context.capacity {
            let grown = blob == old
                ? try blobs.allocatedBytes(of: blob, in: range) - allocated
                : try blobs.allocatedBytes(of: blob)
            try capacity.record(grown, context.db)
        }
    }

    /// With a capacity, refuses to replace `holder`'s bytes by the spool when they do not fit, counting the blob the
    /// replacement frees; records the spool's blocks, which become a blob.
    private func chargeReplacement(of holder: some DataHolder, by spool: Spool, context: WriteContext) throws {
        guard let capacity = context.capacity else { return }
        let incoming = try BlobStore.allocatedBytes(of: spool.descriptor)
        // A blob a snapshot still sees stays; releasing the one that goes takes it out of the total.
        let freed = try ownsBlob(holder, context: context) ? blobs.allocatedBytes(of: holder.blob!) : 0
        try capacity.ensureSpace(for: incoming - freed, context.db)
        try capacity.record(incoming, context.db)
    }

    /// Whether `holder` has a blob it may write in place: one no snapshot sees through this version and no other
    /// version uses.
    private func ownsBlob(_ holder: some DataHolder, context: WriteContext) throws -> Bool {
        guard let blob = holder.blob else { return false }
        return try !context.isPinned(holder.born) && context.references(toBlob: blob) <= 1
    }

    /// The blob `holder` may write in place: its own, created or cloned first if it has none or shares it with a
    /// version a snapshot keeps (copy-on-write).
    private func privateBlob(of holder: inout some DataHolder, context: WriteContext) throws -> Int64 {
        if let blob = holder.blob, try ownsBlob(holder, context: context) {
            return blob
        }
        let blob = try context.next("blob_id")
        context.journal.created(blob)
        if let shared = holder.blob {
            try blobs.clone(shared, to: blob)
        } else {
            try blobs.create(blob, size: holder.size)
        }
        holder.blob = blob
        return blob
    }

    /// Applies a data change to one stream of a live file, checking `If-Match` against the file's ETag.
    /// `change` returns a blob the change replaced, to be freed once unreferenced.
    private func modifyStream(
        _ ref: FileRef, stream: StreamSelector, ifMatch: String?,
        change: @escaping @Sendable (inout any DataHolder, WriteContext) throws -> Int64?
    ) async throws -> Tagged<DataChangeResult> {
        try await write { context in
            let db = context.db
            let inode = try Lookup.resolve(db, ref, in: .live)
            try Self.checkPrecondition(ifMatch, etag: inode.etag)
            var file = inode
            let replaced: Int64?
            var changedStream: StreamRecord?
            switch stream {
            case .main:
                guard inode.type == .file else { throw SandboxError.notAFile(ref.description) }
                var holder: any DataHolder = inode
                replaced = try change(&holder, context)
                file = holder as! InodeRecord
                file.markDataChanged(blobs: self.blobs)
            case .named(let sid):
                let old = try Self.stream(db, file: inode.id, sid: sid, in: .live)
                var holder: any DataHolder = old
                replaced = try change(&holder, context)
                var record = holder as! StreamRecord
                record.markDataChanged(blobs: self.blobs)
                changedStream = try context.save(replacing: old, with: record)
            }
            file.touchModify(at: context.now)
            file = try context.save(replacing: inode, with: file)
            try context.releaseBlob(replaced)
            let result: DataChangeResult = if let changedStream { .stream(changedStream.api) } else {
                .file(try Lookup.attributes(db, of: file, in: .live))
            }
            return Tagged(value: result, etag: file.etag)
        }
    }

    static func checkPrecondition(_ ifMatch: String?, etag: String) throws {
        guard let ifMatch, ifMatch != "*" else { return }
        let candidates = ifMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard candidates.contains(where: { $0 == etag || $0 == "W/" + etag || "\"\($0)\"" == etag }) else {
            throw SandboxError.preconditionFailed(expected: ifMatch, actual: etag)
        }
    }

    static func stream(_ db: Database, file: Int64, sid: Int64, in view: View) throws -> StreamRecord {
        guard let record = try StreamRecord.fetchOne(
            db, sql: "SELECT * FROM stream WHERE file = ? AND sid = ? AND \(view.visible("stream"))",
            arguments: [file, sid])
        else { throw SandboxError.noSuchEntry("stream \(sid)") }
        return record
    }
}

extension DataHolder {
    /// Records that the bytes changed: allocation and data revision.
    mutating func markDataChanged(blobs: BlobStore) {
        datablocks = blobs.datablocks(of: blob)
        dataRevision += 1
    }
}
