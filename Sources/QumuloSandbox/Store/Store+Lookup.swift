import GRDB
import QumuloAPI

/// Finding objects and their paths in a view. All of these run inside a transaction the caller holds.
///
/// Every request runs these several times: their statements are cached per connection, as compiling one costs
/// more than running it (GRDB's authorizer sees every column at compile time).
enum Lookup {
    static func inode(_ db: Database, id: Int64, in view: View) throws -> InodeRecord? {
        try InodeRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM inode WHERE id = ? AND \(view.visible("inode"))"), arguments: [id])
    }

    /// Refuses a name or path with a NUL: SQLite reads a bound string only up to its first NUL, so
    /// `/secret.txt\0junk` would name `/secret.txt`.
    static func refuseNUL(_ text: String) throws {
        if text.utf8.contains(0) { throw SandboxError.invalidName(text) }
    }

    /// The entry `name` in `parent`. A name with `/` or NUL names nothing and is refused, wherever it came from
    /// (a URL segment, a path component, `old_path` in JSON).
    static func dirent(_ db: Database, parent: Int64, name: String, in view: View) throws -> DirentRecord? {
        if name.contains("/") { throw SandboxError.invalidName(name) }
        try refuseNUL(name)
        return try DirentRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM dirent WHERE parent = ? AND name = ? AND \(view.visible("dirent"))"),
            arguments: [parent, name])
    }

    /// The entry through which an object's canonical path runs: its oldest link.
    static func canonicalDirent(_ db: Database, child: Int64, in view: View) throws -> DirentRecord? {
        try DirentRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM dirent WHERE child = ? AND \(view.visible("dirent")) ORDER BY vid LIMIT 1"),
            arguments: [child])
    }

    /// The object a `{ref}` names. Paths are walked from the root; symlinks on the way are not followed.
    /// In a snapshot, the object must lie in the snapshot's source subtree.
    static func resolve(_ db: Database, _ ref: FileRef, in view: View) throws -> InodeRecord {
        let inode = try find(db, ref, in: view)
        guard try covers(db, view, id: inode.id) else { throw SandboxError.notCoveredBySnapshot(ref.description) }
        return inode
    }

    /// Whether object `id` lies in the view's scope (a snapshot's source subtree).
    static func covers(_ db: Database, _ view: View, id: Int64) throws -> Bool {
        var id = id
        while id != view.scope {
            guard id != Store.rootID, let up = try canonicalDirent(db, child: id, in: view) else { return false }
            id = up.parent
        }
        return true
    }

    private static func find(_ db: Database, _ ref: FileRef, in view: View) throws -> InodeRecord {
        switch ref {
        case .id(let text):
            guard let id = Int64(text), let inode = try inode(db, id: id, in: view) else {
                throw SandboxError.noSuchEntry("file id \(text)")
            }
            return inode
        case .path(let path):
            var current = try inode(db, id: Store.rootID, in: view)!
            for component in path.split(separator: "/") {
                guard current.type == .directory else { throw SandboxError.notADirectory(path) }
                guard let entry = try dirent(db, parent: current.id, name: String(component), in: view),
                      let next = try inode(db, id: entry.child, in: view)
                else { throw SandboxError.noSuchEntry(path) }
                current = next
            }
            return current
        }
    }

    /// Resolves a ref that must name a directory.
    static func directory(_ db: Database, _ ref: FileRef, in view: View) throws -> InodeRecord {
        let inode = try resolve(db, ref, in: view)
        guard inode.type == .directory else { throw SandboxError.notADirectory(ref.description) }
        return inode
    }

    /// Splits an absolute path into its parent directory's path and the last name: the link it names.
    static func link(_ db: Database, path: String, in view: View) throws -> (parent: InodeRecord, name: String) {
        let components = path.split(separator: "/")
        guard path.hasPrefix("/"), let last = components.last else {
            throw SandboxError.invalidRequest("\"\(path)\" does not name an entry")
        }
        let parentPath = "/" + components.dropLast().joined(separator: "/")
        return (try directory(db, .path(parentPath), in: view), String(last))
    }

    /// The canonical absolute path; directories end with `/` and the root is `/`.
    static func path(_ db: Database, of inode: InodeRecord, in view: View) throws -> String {
        var names: [String] = []
        var id = inode.id
        while id != Store.rootID {
            guard let entry = try canonicalDirent(db, child: id, in: view) else { break }
            names.append(entry.name)
            id = entry.parent
        }
        let path = "/" + names.reversed().joined(separator: "/")
        return inode.type == .directory && path != "/" ? path + "/" : path
    }

    /// The attributes object for `inode` at `path`.
    static func attributes(_ inode: InodeRecord, path: String) -> FileAttributes {
        var name = path.hasSuffix("/") ? String(path.dropLast()) : path
        name = String(name.split(separator: "/").last ?? "")
        var extended = ExtendedAttributes()
        extended.bits = inode.extendedAttributes
        let metablocks: UInt64 = 1
        return FileAttributes(
            id: String(inode.id), name: name, path: path, type: inode.type, mode: FileMode(rawValue: UInt32(inode.mode)),
            owner: UInt64(bitPattern: inode.owner), group: UInt64(bitPattern: inode.grp),
            size: UInt64(inode.size), blocks: UInt64(inode.datablocks) + metablocks,
            datablocks: UInt64(inode.datablocks), metablocks: metablocks,
            numLinks: UInt32(inode.nlink), childCount: UInt64(inode.childCount),
            accessTime: Timestamp(totalNanoseconds: inode.atime),
            modificationTime: Timestamp(totalNanoseconds: inode.mtime),
            changeTime: Timestamp(totalNanoseconds: inode.ctime),
            creationTime: Timestamp(totalNanoseconds: inode.btime),
            symlinkTargetType: inode.type == .symlink ? (inode.symlinkTargetType ?? .unknown) : nil,
            majorMinorNumbers: inode.type.isDevice
                ? MajorMinorNumbers(major: UInt32(inode.major ?? 0), minor: UInt32(inode.minor ?? 0)) : nil,
            extendedAttributes: extended,
            directoryEntryHashPolicy: inode.type == .directory ? "FS_DIRECTORY_HASH_VERSION_LOWER" : nil,
            dataRevision: UInt64(inode.dataRevision), userMetadataRevision: UInt64(inode.userMetadataRevision))
    }

    static func attributes(_ db: Database, of inode: InodeRecord, in view: View) throws -> FileAttributes {
        attributes(inode, path: try path(db, of: inode, in: view))
    }

    /// Checks a new entry name: not empty, not `.` or `..`, no `/` or NUL, at most 255 bytes.
    static func validate(name: String) throws {
        if name.isEmpty || name == "." || name == ".." || name.contains("/") || name.utf8.contains(0) {
            throw SandboxError.invalidName(name)
        }
        if name.utf8.count > QumuloAPI.maxNameBytes {
            throw SandboxError.nameTooLong(name)
        }
    }
}
