import GRDB
import QumuloAPI

extension Store {
    /// The named streams of a file; the default stream (id 0) is not among them.
    func streams(of ref: FileRef, in view: View) async throws -> [NamedStream] {
        try await read { db in
            let inode = try Lookup.resolve(db, ref, in: view)
            return try StreamRecord.fetchAll(
                db, sql: "SELECT * FROM stream WHERE file = ? AND \(view.visible("stream")) ORDER BY sid",
                arguments: [inode.id]
            ).map(\.api)
        }
    }

    func stream(of ref: FileRef, sid: Int64, in view: View) async throws -> NamedStream {
        try await read { db in
            let inode = try Lookup.resolve(db, ref, in: view)
            return try Self.stream(db, file: inode.id, sid: sid, in: view).api
        }
    }

    func createStream(on ref: FileRef, name: String, ifMatch: String?) async throws -> Tagged<NamedStream> {
        try Lookup.validate(name: name)
        return try await write { context in
            let old = try Lookup.resolve(context.db, ref, in: .live)
            try Self.checkPrecondition(ifMatch, etag: old.etag)
            try Self.checkStreamNameFree(context.db, file: old.id, name: name)
            var inode = old
            let record = try context.insert(StreamRecord(
                vid: nil, file: inode.id, sid: inode.nextStreamID, name: name, blob: nil, size: 0, datablocks: 0,
                dataRevision: 1, born: 0, died: nil))
            inode.nextStreamID += 1
            inode.touchChange(at: context.now)
            let saved = try context.save(replacing: old, with: inode)
            return Tagged(value: record.api, etag: saved.etag)
        }
    }

    func renameStream(on ref: FileRef, sid: Int64, to name: String, ifMatch: String?) async throws -> Tagged<NamedStream> {
        try Lookup.validate(name: name)
        return try await write { context in
            let (inode, old) = try Self.liveStream(context, ref, sid: sid, ifMatch: ifMatch)
            if old.name == name { return Tagged(value: old.api, etag: inode.etag) }
            try Self.checkStreamNameFree(context.db, file: inode.id, name: name)
            var record = old
            record.name = name
            record = try context.save(replacing: old, with: record)
            let saved = try Self.touch(inode, context: context)
            return Tagged(value: record.api, etag: saved.etag)
        }
    }

    func removeStream(on ref: FileRef, sid: Int64, ifMatch: String?) async throws {
        try await write { context in
            let (inode, record) = try Self.liveStream(context, ref, sid: sid, ifMatch: ifMatch)
            if try context.remove(record) {
                try context.releaseBlob(record.blob)
            }
            try Self.touch(inode, context: context)
        }
    }

    static func liveStream(
        _ context: WriteContext, _ ref: FileRef, sid: Int64, ifMatch: String?
    ) throws -> (InodeRecord, StreamRecord) {
        let inode = try Lookup.resolve(context.db, ref, in: .live)
        try checkPrecondition(ifMatch, etag: inode.etag)
        return (inode, try stream(context.db, file: inode.id, sid: sid, in: .live))
    }

    private static func checkStreamNameFree(_ db: Database, file: Int64, name: String) throws {
        if try StreamRecord.fetchOne(
            db, sql: "SELECT * FROM stream WHERE file = ? AND name = ? AND died IS NULL", arguments: [file, name]) != nil {
            throw SandboxError.entryExists(name)
        }
    }

    /// Records a metadata change of a live object.
    @discardableResult
    static func touch(_ inode: InodeRecord, context: WriteContext) throws -> InodeRecord {
        var changed = inode
        changed.touchChange(at: context.now)
        return try context.save(replacing: inode, with: changed)
    }
}

extension StreamRecord {
    var api: NamedStream {
        NamedStream(
            name: name, id: String(sid), size: UInt64(size), datablocks: UInt64(datablocks),
            dataRevision: UInt64(dataRevision))
    }
}

extension Store {
    /// `PATCH .../streams/{id}/attributes`: a stream has only its size to set (truncate or zero-extend).
    func setStreamSize(on ref: FileRef, sid: Int64, size: Int64, ifMatch: String?) async throws -> Tagged<NamedStream> {
        guard size <= Self.maxFileSize else { throw SandboxError.invalidSize(size) }
        return try await write { context in
            let (inode, old) = try Self.liveStream(context, ref, sid: sid, ifMatch: ifMatch)
            var record = old
            try self.resize(&record, to: size, context: context)
            record = try context.save(replacing: old, with: record)
            if record.blob != old.blob { try context.releaseBlob(old.blob) }
            var file = inode
            file.touchModify(at: context.now)
            file = try context.save(replacing: inode, with: file)
            return Tagged(value: record.api, etag: file.etag)
        }
    }
}
