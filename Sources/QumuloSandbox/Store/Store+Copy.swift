import GRDB
import QumuloAPI
#if canImport(Glibc)
import Glibc
#endif

extension Store {
    /// Most bytes one `copy-chunk` call copies; the client posts the advanced body back for the rest.
    static let copyChunkLimit: Int64 = 64 << 20

    /// Copies part of a stream (possibly as a snapshot kept it) into a stream of a live file, server-side.
    /// Returns the body for the next call, or nil when the copy is complete, with the target's new ETag.
    func copyChunk(
        into targetRef: FileRef, stream targetStream: StreamSelector, _ request: CopyChunkRequest, ifMatch: String?
    ) async throws -> Tagged<CopyChunkRequest?> {
        let sourceRef: FileRef
        switch (request.sourceID, request.sourcePath) {
        case let (id?, nil): sourceRef = .id(id)
        case let (nil, path?): sourceRef = .path(path)
        default: throw SandboxError.invalidRequest("give exactly one of source_id and source_path")
        }
        guard let sourceStream = StreamSelector(segment: request.sourceStreamID ?? "0") else {
            throw SandboxError.invalidRequest("source_stream_id \(request.sourceStreamID ?? "") is not a stream id")
        }
        return try await write { context in
            let db = context.db
            let sourceView = try Self.view(db, snapshot: request.sourceSnapshot)
            let sourceInode = try Lookup.resolve(db, sourceRef, in: sourceView)
            if let etag = request.sourceETag {
                try Self.checkPrecondition(etag, etag: sourceInode.etag)
            }
            let source: (blob: Int64?, size: Int64)
            switch sourceStream {
            case .main:
                guard sourceInode.type == .file else { throw SandboxError.notAFile(sourceRef.description) }
                source = (sourceInode.blob, sourceInode.size)
            case .named(let sid):
                let record = try Self.stream(db, file: sourceInode.id, sid: sid, in: sourceView)
                source = (record.blob, record.size)
            }
            // Offsets arrive as 64-bit decimal strings; past the largest file one reads nothing, one writes nowhere.
            let sourceOffset = Int64(clamping: request.sourceOffset ?? 0)
            let requestedTarget = request.targetOffset ?? 0
            let available = max(0, source.size - sourceOffset)
            let wanted = request.length.map { min(Int64(clamping: $0), available) } ?? available
            let count = min(wanted, Self.copyChunkLimit)
            guard requestedTarget <= UInt64(Self.maxFileSize - count) else {
                throw SandboxError.invalidOffset(requestedTarget, count: count)
            }
            let targetOffset = Int64(requestedTarget)

            let targetInode = try Lookup.resolve(db, targetRef, in: .live)
            try Self.checkPrecondition(ifMatch, etag: targetInode.etag)
            var target = targetInode
            if count > 0 {
                func copy(into holder: inout some DataHolder) throws {
                    let size = holder.size
                    // A source that never held data is all hole: copying it only extends the target.
                    try self.changeBlob(
                        of: &holder, in: targetOffset ..< targetOffset + count, allocates: source.blob != nil,
                        context: context
                    ) { blob in
                        if let sourceBlob = source.blob {
                            let input = try self.blobs.openForReading(sourceBlob)
                            defer { close(input) }
                            try self.blobs.write(from: input, at: sourceOffset, count: count, into: blob, at: targetOffset)
                        } else if targetOffset + count > size {
                            try self.blobs.truncate(blob, to: targetOffset + count)
                        }
                    }
                    holder.size = max(holder.size, targetOffset + count)
                    holder.markDataChanged(blobs: self.blobs)
                }
                switch targetStream {
                case .main:
                    guard targetInode.type == .file else { throw SandboxError.notAFile(targetRef.description) }
                    try copy(into: &target)
                case .named(let sid):
                    let old = try Self.stream(db, file: targetInode.id, sid: sid, in: .live)
                    var record = old
                    try copy(into: &record)
                    try context.save(replacing: old, with: record)
                }
                target.touchModify(at: context.now)
                target = try context.save(replacing: targetInode, with: target)
            }
            guard wanted > count else { return Tagged(value: nil, etag: target.etag) }
            var next = request
            next.sourceOffset = UInt64(sourceOffset + count)
            next.targetOffset = UInt64(targetOffset + count)
            next.length = request.length.map { $0 - UInt64(count) }
            return Tagged(value: next, etag: target.etag)
        }
    }

    /// Paths of file ids, as `POST /v1/files/resolve` answers.
    func resolve(ids: [String], in view: View) async throws -> [ResolvedPath] {
        try await read { db in
            try ids.map { id in
                let inode = try Lookup.resolve(db, .id(id), in: view)
                return ResolvedPath(id: id, path: try Lookup.path(db, of: inode, in: view))
            }
        }
    }

    /// Capacity as `GET /v1/file-system` reports it: the store's capacity when it has one, else the disk under it.
    func fileSystemStats() async throws -> FileSystemStats {
        let total: UInt64
        let free: UInt64
        if let capacity {
            let used = try await read { db in try capacity.used(db) }
            total = UInt64(capacity.limit)
            free = UInt64(max(0, capacity.limit - used))
        } else {
            var status = statvfs()
            try check(statvfs(blobs.directory, &status), "statvfs")
            let unit = UInt64(status.f_frsize)
            total = UInt64(status.f_blocks) * unit
            free = UInt64(status.f_bavail) * unit
        }
        return FileSystemStats(
            blockSizeBytes: UInt32(BlobStore.blockSize), totalSizeBytes: total, freeSizeBytes: free,
            snapshotSizeBytes: try await snapshotBytes())
    }
}
