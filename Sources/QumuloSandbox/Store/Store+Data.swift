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
                let blob = try context.next("blob_id")
                try self.blobs.adopt(spool: spool.path, as: blob)
                holder.blob = blob
                holder.size = spool.count
                return previous
            case .at(let offset):
                let blob = try self.privateBlob(of: &holder, context: context)
                try self.blobs.write(from: spool.descriptor, at: 0, count: spool.count, into: blob, at: offset)
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
                let blob = try self.privateBlob(of: &holder, context: context)
                try self.blobs.punchHole(blob, offset: offset, length: end - offset)
            }
            return nil
        }
    }

    /// Sets a stream's size: truncating drops bytes, extending adds zeros.
    func resize(_ holder: inout some DataHolder, to size: Int64, context: WriteContext) throws {
        guard size != holder.size else { return }
        if size > 0 || holder.blob != nil {
            let blob = try privateBlob(of: &holder, context: context)
            try blobs.truncate(blob, to: size)
        }
        holder.size = size
        holder.markDataChanged(blobs: blobs)
    }

    /// The blob `holder` may write in place: its own, created or cloned first if it has none or shares it with a
    /// version a snapshot keeps (copy-on-write).
    func privateBlob(of holder: inout some DataHolder, context: WriteContext) throws -> Int64 {
        if let blob = holder.blob, !context.isPinned(holder.born), try context.references(toBlob: blob) <= 1 {
            return blob
        }
        let blob = try context.next("blob_id")
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
