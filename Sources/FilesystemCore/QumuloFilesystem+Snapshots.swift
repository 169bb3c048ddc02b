import QumuloAPI
import QumuloClient
import SystemPackage

/// The `.snapshot` tree, Qumulo's NFS convention: every live directory has a hidden `.snapshot` (absent from
/// readdir, present by name) holding `<id>_<name>` for each snapshot that covers the directory, with the
/// snapshot's time as mtime; below each is the directory as it was, read through `?snapshot=<id>`.
extension QumuloFilesystem {
    /// A snapshot as an entry of a `.snapshot` directory.
    struct SnapshotRoot {
        var snapshot: SnapshotInfo
        var directory: FileAttributes
        var filesystem: QumuloFilesystem

        var entry: Entry {
            get throws(FilesystemError) {
                var attributes = directory
                attributes.modificationTime = snapshot.timestamp
                let object = FileObject(snapshot: snapshot.id, fileID: directory.id)
                var entry = filesystem.entry(for: object, attributes)
                // The name can vanish when the snapshot is deleted; what it names never changes.
                entry.entryTimeout = filesystem.configuration.attributeTimeout
                return entry
            }
        }
    }

    /// The snapshots that hold live directory `directoryID`, newest last. A snapshot covers it when the directory
    /// existed in the snapshot's tree: asked once per (snapshot, directory) and then known for good.
    func snapshotsCovering(_ directoryID: String) async throws(FilesystemError) -> [SnapshotRoot] {
        let all: [SnapshotInfo]
        do {
            if let cached = snapshotCache.value(for: 0) {
                all = cached
            } else {
                all = try await snapshotFetches.value(for: 0) { [self] in
                    let listed = try await client.snapshots()
                    snapshotCache.set(listed, for: 0, lifetime: configuration.attributeTimeout)
                    return listed
                }
            }
        } catch {
            throw FilesystemError(error, "list snapshots")
        }
        var roots: [SnapshotRoot] = []
        for snapshot in all {
            let key = FileObject(snapshot: snapshot.id, fileID: directoryID)
            let directory: FileAttributes?
            if let known = snapshotRoots.value(for: key) {
                directory = known
            } else {
                do {
                    directory = try await client.attributes(of: .id(directoryID), snapshot: snapshot.id).value
                } catch {
                    let failure = FilesystemError(error, "directory \(directoryID) in snapshot \(snapshot.id)")
                    guard failure.errno == .noSuchFileOrDirectory else { throw failure }
                    directory = nil
                }
                snapshotRoots.set(directory, for: key, lifetime: FilesystemConfiguration.forever)
            }
            if let directory, directory.type == .directory {
                roots.append(SnapshotRoot(snapshot: snapshot, directory: directory, filesystem: self))
            }
        }
        return roots
    }

    /// The synthetic `.snapshot` directory of a live directory.
    func snapshotDirectoryEntry(of directory: FileObject) async throws(FilesystemError) -> Entry {
        let attributes = try await attributes(of: directory)
        guard attributes.type == .directory else { throw FilesystemError(.notDirectory, "\(directory)") }
        let node = nodes.node(for: .snapshotDirectory(of: directory.fileID))
        let base = NodeAttributes(attributes, inode: nodes.inode(of: node), configuration: configuration)
        return Entry(node: node, attributes: .snapshotDirectory(of: base, inode: nodes.inode(of: node)),
                     entryTimeout: configuration.attributeTimeout, attributeTimeout: configuration.attributeTimeout)
    }
}
