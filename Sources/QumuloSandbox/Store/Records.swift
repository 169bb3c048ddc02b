import Foundation
import GRDB
import QumuloAPI

// Every table that describes the namespace is versioned the same way, so snapshots cost nothing to take:
// a row is visible to the views whose epoch lies in `born ..< died` (`died` nil while the row is live).
// See `Store.swift` for the epochs and the copy-on-write rule.

/// One version of a file system object's metadata.
struct InodeRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable {
    static let databaseTableName = "inode"

    /// The version row's own key.
    var vid: Int64?
    /// The file id, stable for the object's life and shared by all its versions.
    var id: Int64
    var born: Int64
    var died: Int64?
    var type: FileType
    var mode: Int
    var owner: Int64
    var grp: Int64
    var size: Int64
    /// For directories: 2 plus the number of subdirectories, as POSIX tools expect.
    var nlink: Int
    var childCount: Int64
    var atime: Int64
    var mtime: Int64
    var ctime: Int64
    var btime: Int64
    /// The content file holding the data stream; nil while the file has never held data.
    var blob: Int64?
    var datablocks: Int64
    var symlinkTarget: String?
    var symlinkTargetType: SymlinkTargetType?
    var major: Int?
    var minor: Int?
    /// Bumped by every change; the ETag.
    var revision: Int64
    var dataRevision: Int64
    var userMetadataRevision: Int64
    var extendedAttributes: Int
    var nextStreamID: Int64
    /// An ACL set explicitly, as v2 JSON; nil while the ACL is the one the mode implies.
    var acl: String?

    mutating func didInsert(_ inserted: InsertionSuccess) {
        vid = inserted.rowID
    }

    var etag: String { "\"\(id).\(revision)\"" }

    /// Marks a change to metadata only.
    mutating func touchChange(at now: Int64) {
        ctime = now
        revision += 1
    }

    /// Marks a change to the contents (data, or entries of a directory).
    mutating func touchModify(at now: Int64) {
        mtime = now
        touchChange(at: now)
    }
}

extension InodeRecord {
    /// Written out rather than derived from Codable: the derived decoder looks every column up by name three
    /// times, and listing a directory decodes a thousand of these per page.
    init(row: Row) throws {
        vid = row["vid"]
        id = row["id"]
        born = row["born"]
        died = row["died"]
        type = row["type"]
        mode = row["mode"]
        owner = row["owner"]
        grp = row["grp"]
        size = row["size"]
        nlink = row["nlink"]
        childCount = row["childCount"]
        atime = row["atime"]
        mtime = row["mtime"]
        ctime = row["ctime"]
        btime = row["btime"]
        blob = row["blob"]
        datablocks = row["datablocks"]
        symlinkTarget = row["symlinkTarget"]
        symlinkTargetType = row["symlinkTargetType"]
        major = row["major"]
        minor = row["minor"]
        revision = row["revision"]
        dataRevision = row["dataRevision"]
        userMetadataRevision = row["userMetadataRevision"]
        extendedAttributes = row["extendedAttributes"]
        nextStreamID = row["nextStreamID"]
        acl = row["acl"]
    }
}

/// One version of a directory entry: the name `name` in directory `parent` links to object `child`.
struct DirentRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable {
    static let databaseTableName = "dirent"

    var vid: Int64?
    var parent: Int64
    var name: String
    var child: Int64
    var born: Int64
    var died: Int64?

    mutating func didInsert(_ inserted: InsertionSuccess) {
        vid = inserted.rowID
    }
}

/// One version of a named stream (an SMB alternate data stream) of a file.
struct StreamRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable {
    static let databaseTableName = "stream"

    var vid: Int64?
    var file: Int64
    var sid: Int64
    var name: String
    var blob: Int64?
    var size: Int64
    var datablocks: Int64
    var dataRevision: Int64
    var born: Int64
    var died: Int64?

    mutating func didInsert(_ inserted: InsertionSuccess) {
        vid = inserted.rowID
    }
}

/// One version of a user-metadata key of a file.
struct UserMetadataRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable {
    static let databaseTableName = "user_metadata"

    var vid: Int64?
    var file: Int64
    var kind: UserMetadataType
    var key: String
    var value: Data
    var born: Int64
    var died: Int64?

    mutating func didInsert(_ inserted: InsertionSuccess) {
        vid = inserted.rowID
    }
}

extension FileType: DatabaseValueConvertible {}
extension SymlinkTargetType: DatabaseValueConvertible {}
extension UserMetadataType: DatabaseValueConvertible {}
