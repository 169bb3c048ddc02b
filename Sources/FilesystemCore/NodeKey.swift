/// A Qumulo object in one version of the namespace: the live tree (`snapshot` nil) or a snapshot.
public struct FileObject: Hashable, Sendable, CustomStringConvertible {
    public var snapshot: UInt64?
    public var fileID: String

    public init(snapshot: UInt64?, fileID: String) {
        self.snapshot = snapshot
        self.fileID = fileID
    }

    public var description: String { snapshot.map { "\(fileID)@\($0)" } ?? fileID }
}

/// What a node stands for: an object, or the synthetic `.snapshot` directory of a live directory.
public enum NodeKey: Hashable, Sendable {
    case object(FileObject)
    case snapshotDirectory(of: String)
}

/// Node ids and inode numbers, computed from keys so that READDIRPLUS can name a node without allocating it:
/// - the root directory is node 1 (`FUSE_ROOT_ID`); its inode is its file id;
/// - a live object is node = inode = its file id;
/// - object `f` in snapshot `s` is `s << 40 | f`: distinct and stable per (snapshot, file), so `find` and `tar`
///   never take a snapshot's files for the live ones;
/// - the `.snapshot` directory of live directory `d` is `1 << 63 | d`.
/// Keys that do not fit (ids of 2^40 and more, snapshot ids of 2^23 and more) get numbers from a table instead,
/// in the `1 << 62` range, remembered for the life of the mount.
struct NodeNumbering: Sendable {
    let rootFileID: String

    static let snapshotShift: UInt64 = 40
    static let maxFileID: UInt64 = 1 << snapshotShift
    static let maxSnapshot: UInt64 = 1 << 22
    static let snapshotDirectoryBit: UInt64 = 1 << 63
    static let allocatedBit: UInt64 = 1 << 62

    /// The computed number of a key, or nil when it must be allocated.
    func number(of key: NodeKey) -> UInt64? {
        switch key {
        case .object(let object):
            guard let id = UInt64(object.fileID), id < Self.maxFileID, id > 1 else { return nil }
            guard let snapshot = object.snapshot else { return id }
            guard snapshot > 0, snapshot < Self.maxSnapshot else { return nil }
            return snapshot << Self.snapshotShift | id
        case .snapshotDirectory(let directory):
            guard let id = UInt64(directory), id < Self.maxFileID, id > 1 else { return nil }
            return Self.snapshotDirectoryBit | id
        }
    }

    /// The key of a computed number; nil for allocated numbers (the table knows those) and nonsense.
    func key(of number: UInt64) -> NodeKey? {
        if number & Self.allocatedBit != 0 { return nil }
        if number & Self.snapshotDirectoryBit != 0 {
            return .snapshotDirectory(of: String(number & ~Self.snapshotDirectoryBit))
        }
        let snapshot = number >> Self.snapshotShift
        let id = number & (Self.maxFileID - 1)
        guard id > 1 else { return nil }
        return .object(FileObject(snapshot: snapshot == 0 ? nil : snapshot, fileID: String(id)))
    }
}
