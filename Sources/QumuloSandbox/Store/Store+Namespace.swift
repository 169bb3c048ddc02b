import Foundation
import GRDB
import QumuloAPI

/// An object's attributes with the ETag that describes them.
struct Tagged<Value: Sendable>: Sendable {
    var value: Value
    var etag: String
}

/// One page of a directory listing and where the next one starts.
struct ListingPage: Sendable {
    var page: EntriesPage
    /// The name to continue after; nil on the last page.
    var resumeAfter: String?
}

extension Store {
    func attributes(of ref: FileRef, in view: View) async throws -> Tagged<FileAttributes> {
        try await read { db in
            let inode = try Lookup.resolve(db, ref, in: view)
            return Tagged(value: try Lookup.attributes(db, of: inode, in: view), etag: inode.etag)
        }
    }

    /// Lists up to `limit` children after the name `after`, in name order, with full attributes.
    /// `pattern` is an SMB wildcard (`*`, `?`), matched without regard to case.
    func list(
        _ ref: FileRef, in view: View, after: String?, limit: Int, pattern: String?
    ) async throws -> ListingPage {
        let pattern = pattern?.lowercased()
        return try await read { db in
            let directory = try Lookup.directory(db, ref, in: view)
            let directoryPath = try Lookup.path(db, of: directory, in: view)
            var files: [FileAttributes] = []
            var cursor = after ?? ""
            var exhausted = false
            // Filtering happens after the query, so fetch batches until the page is full or the directory ends.
            while files.count < limit, !exhausted {
                let batch = pattern == nil ? limit - files.count + 1 : max(256, limit)
                // A cursor, not fetchAll: its rows find columns through the statement's index of names, where
                // copied rows compare every column name, lowercased, on every access.
                let rows = try Row.fetchCursor(
                    db.cachedStatement(sql: """
                        SELECT dirent.name AS entryName, inode.* FROM dirent
                        JOIN inode ON inode.id = dirent.child AND \(view.visible("inode"))
                        WHERE dirent.parent = ? AND dirent.name > ? AND \(view.visible("dirent"))
                        ORDER BY dirent.name LIMIT ?
                        """),
                    arguments: [directory.id, cursor, batch])
                var fetched = 0
                var full = false
                while let row = try rows.next() {
                    fetched += 1
                    let name: String = row["entryName"]
                    if files.count == limit {
                        full = true
                        break
                    }
                    cursor = name
                    if let pattern, fnmatch(pattern, name.lowercased(), 0) != 0 { continue }
                    let inode = try InodeRecord(row: row)
                    let path = directoryPath + name + (inode.type == .directory ? "/" : "")
                    files.append(Lookup.attributes(inode, path: path))
                }
                exhausted = !full && fetched < batch
            }
            let page = EntriesPage(
                path: directoryPath, id: String(directory.id), childCount: UInt64(directory.childCount),
                files: files, paging: Paging(next: nil))
            return ListingPage(page: page, resumeAfter: exhausted ? nil : cursor)
        }
    }

    /// Creates a file, directory, symlink, hard link or UNIX special file named `request.name` in `parentRef`.
    func create(
        in parentRef: FileRef, _ request: CreateEntryRequest, owner: Int64, group: Int64
    ) async throws -> Tagged<FileAttributes> {
        try Lookup.validate(name: request.name)
        return try await write { context in
            let db = context.db
            let parent = try Lookup.directory(db, parentRef, in: .live)
            if try Lookup.dirent(db, parent: parent.id, name: request.name, in: .live) != nil {
                throw SandboxError.entryExists(request.name)
            }
            let child: InodeRecord
            if request.action == .createLink {
                guard let target = request.oldPath, target.hasPrefix("/") else {
                    throw SandboxError.invalidRequest("CREATE_LINK needs old_path, the absolute path of an existing file")
                }
                let existing = try Lookup.resolve(db, .path(target), in: .live)
                guard existing.type != .directory else {
                    throw SandboxError.invalidFileType("\(target): cannot hard-link a directory")
                }
                var linked = existing
                linked.nlink += 1
                linked.touchChange(at: context.now)
                child = try context.save(replacing: existing, with: linked)
            } else {
                child = try context.insert(try Self.newObject(request, owner: owner, group: group, context: context))
            }
            try context.insert(DirentRecord(vid: nil, parent: parent.id, name: request.name, child: child.id, born: 0, died: nil))
            try Self.adjustParent(parent, context: context, children: 1, subdirectories: child.type == .directory ? 1 : 0)
            let path = try Lookup.path(db, of: parent, in: .live) + request.name + (child.type == .directory ? "/" : "")
            return Tagged(value: Lookup.attributes(child, path: path), etag: child.etag)
        }
    }

    private static func newObject(
        _ request: CreateEntryRequest, owner: Int64, group: Int64, context: WriteContext
    ) throws -> InodeRecord {
        let id = try context.next("file_id")
        // GUESSED: the create request carries no mode; these defaults match a umask of 022.
        switch request.action {
        case .createFile:
            return .new(id: id, type: .file, mode: 0o644, owner: owner, group: group, epoch: context.epoch, now: context.now)
        case .createDirectory:
            return .new(id: id, type: .directory, mode: 0o755, owner: owner, group: group, epoch: context.epoch, now: context.now)
        case .createSymlink:
            guard let target = request.oldPath, !target.isEmpty else {
                throw SandboxError.invalidRequest("CREATE_SYMLINK needs old_path, the link's target")
            }
            var link = InodeRecord.new(
                id: id, type: .symlink, mode: 0o777, owner: owner, group: group, epoch: context.epoch, now: context.now)
            link.symlinkTarget = target
            link.symlinkTargetType = request.symlinkTargetType ?? .unknown
            link.size = Int64(target.utf8.count)
            return link
        case .createUnixFile:
            guard let type = request.unixFileType, type.isUnixSpecial else {
                throw SandboxError.invalidFileType("CREATE_UNIX_FILE needs unix_file_type: a pipe, socket or device")
            }
            var special = InodeRecord.new(
                id: id, type: type, mode: 0o644, owner: owner, group: group, epoch: context.epoch, now: context.now)
            if type.isDevice {
                guard let numbers = request.majorMinorNumbers else {
                    throw SandboxError.invalidRequest("a device needs major_minor_numbers")
                }
                special.major = Int(numbers.major)
                special.minor = Int(numbers.minor)
            }
            return special
        case .createLink, .rename:
            preconditionFailure("\(request.action) does not create an object")
        }
    }

    /// Records that a directory gained or lost entries: counts, link count and times.
    private static func adjustParent(
        _ parent: InodeRecord, context: WriteContext, children: Int64, subdirectories: Int
    ) throws {
        var current = try Lookup.inode(context.db, id: parent.id, in: .live)!
        let old = current
        current.childCount += children
        current.nlink += subdirectories
        current.touchModify(at: context.now)
        try context.save(replacing: old, with: current)
    }

    /// Moves the object at the absolute path `source` to `name` in `destinationRef`, replacing an existing entry
    /// only with `clobber`. Directories move with their whole subtree.
    func rename(
        source: String, to destinationRef: FileRef, name: String, clobber: Bool
    ) async throws -> Tagged<FileAttributes> {
        try Lookup.validate(name: name)
        return try await write { context in
            let db = context.db
            let (sourceParent, sourceName) = try Lookup.link(db, path: source, in: .live)
            guard let sourceEntry = try Lookup.dirent(db, parent: sourceParent.id, name: sourceName, in: .live) else {
                throw SandboxError.noSuchEntry(source)
            }
            let destination = try Lookup.directory(db, destinationRef, in: .live)
            let moving = try Lookup.inode(db, id: sourceEntry.child, in: .live)!
            if moving.type == .directory {
                var id = destination.id
                while true {
                    if id == moving.id { throw SandboxError.directoryCycle(source) }
                    guard id != Store.rootID, let up = try Lookup.canonicalDirent(db, child: id, in: .live) else { break }
                    id = up.parent
                }
            }
            let destinationPath = try Lookup.path(db, of: destination, in: .live)
            if let existing = try Lookup.dirent(db, parent: destination.id, name: name, in: .live) {
                if existing.child == moving.id {
                    // POSIX: renaming a link onto another link of the same object does nothing.
                    return Tagged(value: try Lookup.attributes(db, of: moving, in: .live), etag: moving.etag)
                }
                guard clobber else { throw SandboxError.entryExists(name) }
                let victim = try Lookup.inode(db, id: existing.child, in: .live)!
                if moving.type == .directory, victim.type != .directory {
                    throw SandboxError.notADirectory(destinationPath + name)
                }
                if moving.type != .directory, victim.type == .directory {
                    throw SandboxError.invalidFileType("\(destinationPath + name): cannot replace a directory with a file")
                }
                try Self.unlink(existing, of: victim, from: destination, context: &context)
            }
            let subdirectory = moving.type == .directory ? 1 : 0
            try context.remove(sourceEntry)
            try Self.adjustParent(sourceParent, context: context, children: -1, subdirectories: -subdirectory)
            try context.insert(DirentRecord(vid: nil, parent: destination.id, name: name, child: moving.id, born: 0, died: nil))
            try Self.adjustParent(destination, context: context, children: 1, subdirectories: subdirectory)
            var moved = moving
            moved.touchChange(at: context.now)
            moved = try context.save(replacing: moving, with: moved)
            return Tagged(value: try Lookup.attributes(db, of: moved, in: .live), etag: moved.etag)
        }
    }

    /// Removes the entry `name` from the directory `parentRef` (`DELETE .../entries/{name}`).
    func unlink(_ name: String, from parentRef: FileRef) async throws {
        try await write { context in
            let parent = try Lookup.directory(context.db, parentRef, in: .live)
            guard let entry = try Lookup.dirent(context.db, parent: parent.id, name: name, in: .live) else {
                throw SandboxError.noSuchEntry(name)
            }
            let victim = try Lookup.inode(context.db, id: entry.child, in: .live)!
            try Self.unlink(entry, of: victim, from: parent, context: &context)
        }
    }

    /// Removes the object a ref names (`DELETE /v1/files/{ref}`): by path that link, by id its canonical link.
    func delete(_ ref: FileRef) async throws {
        try await write { context in
            let db = context.db
            let victim = try Lookup.resolve(db, ref, in: .live)
            guard victim.id != Store.rootID else { throw SandboxError.accessDenied("the root directory cannot be deleted") }
            let entry: DirentRecord
            if case .path(let path) = ref {
                let (parent, name) = try Lookup.link(db, path: path, in: .live)
                entry = try Lookup.dirent(db, parent: parent.id, name: name, in: .live)!
            } else {
                entry = try Lookup.canonicalDirent(db, child: victim.id, in: .live)!
            }
            let parent = try Lookup.inode(db, id: entry.parent, in: .live)!
            try Self.unlink(entry, of: victim, from: parent, context: &context)
        }
    }

    /// Drops one link; the object goes when its last link does. Directories must be empty.
    private static func unlink(
        _ entry: DirentRecord, of victim: InodeRecord, from parent: InodeRecord, context: inout WriteContext
    ) throws {
        let isDirectory = victim.type == .directory
        if isDirectory, victim.childCount > 0 {
            throw SandboxError.directoryNotEmpty(try Lookup.path(context.db, of: victim, in: .live))
        }
        try context.remove(entry)
        try adjustParent(parent, context: context, children: -1, subdirectories: isDirectory ? -1 : 0)
        if isDirectory || victim.nlink <= 1 {
            try removeObject(victim, context: &context)
        } else {
            var remaining = victim
            remaining.nlink -= 1
            remaining.touchChange(at: context.now)
            try context.save(replacing: victim, with: remaining)
        }
    }

    /// Removes an object with its streams and user metadata, freeing blobs nothing else uses.
    private static func removeObject(_ victim: InodeRecord, context: inout WriteContext) throws {
        let db = context.db
        for stream in try StreamRecord.fetchAll(
            db, sql: "SELECT * FROM stream WHERE file = ? AND died IS NULL", arguments: [victim.id]) {
            if try context.remove(stream) {
                try context.releaseBlob(stream.blob)
            }
        }
        for metadata in try UserMetadataRecord.fetchAll(
            db, sql: "SELECT * FROM user_metadata WHERE file = ? AND died IS NULL", arguments: [victim.id]) {
            try context.remove(metadata)
        }
        if try context.remove(victim) {
            try context.releaseBlob(victim.blob)
        }
    }
}
