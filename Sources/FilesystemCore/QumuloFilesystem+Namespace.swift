import QumuloAPI
import QumuloClient
import Synchronization
import SystemPackage

// CREATE, MKNOD, MKDIR, SYMLINK, LINK, UNLINK, RMDIR and RENAME: each one API call (plus one to give a new object
// its caller's owner and mode when the server's defaults differ), then the caches brought in line with it.
extension QumuloFilesystem {
    public func create(
        _ parent: NodeID, name: String, mode: UInt32, flags: Int32, caller: Caller
    ) async throws(FilesystemError) -> (Entry, OpenReply) {
        let directory = try changeableDirectory(parent)
        let attributes: FileAttributes, ownership: SetAttributesRequest
        do throws(FilesystemError) {
            (attributes, ownership) = try await make(named: name, in: directory, mode: mode, caller: caller) { [client] in
                try await client.createFile(in: .id(directory.fileID), name: name).value
            }
        } catch where error.errno == .fileExists && flags & Self.exclusive == 0 {
            // Created elsewhere since the kernel looked: open what is there, as open(2) without O_EXCL does.
            guard case .found(let entry) = try await lookup(parent, name: name) else { throw error }
            do throws(FilesystemError) {
                return (entry, try await open(entry.node, flags: flags))
            } catch {
                forget(entry.node, lookups: 1)
                throw error
            }
        }
        let object = FileObject(snapshot: nil, fileID: attributes.id)
        let opened = openHandle(object, attributes)
        let file = inodes.inode(object)
        // Sent with the file's first flush, merged with whatever the creator sets next (``InodeState``).
        if !ownership.isEmpty { file.deferChange(ownership) }
        return (remember(entry(for: object, file.known ?? attributes)), opened)
    }

    public func makeNode(
        _ parent: NodeID, name: String, mode: UInt32, device: UInt64, caller: Caller
    ) async throws(FilesystemError) -> Entry {
        let directory = try changeableDirectory(parent)
        guard let type = QumuloFileType(modeBits: mode & 0o170000) else {
            throw FilesystemError(.invalidArgument, "mknod of type \(mode & 0o170000)")
        }
        let attributes = try await makeOwned(named: name, in: directory, mode: mode, caller: caller) { [client] in
            if type == .file { return try await client.createFile(in: .id(directory.fileID), name: name).value }
            let numbers = type == .characterDevice || type == .blockDevice
                ? MajorMinorNumbers(major: Self.major(of: device), minor: Self.minor(of: device)) : nil
            return try await client.createUnixFile(in: .id(directory.fileID), name: name, type: type, device: numbers).value
        }
        return remember(entry(for: FileObject(snapshot: nil, fileID: attributes.id), attributes))
    }

    public func makeDirectory(
        _ parent: NodeID, name: String, mode: UInt32, caller: Caller
    ) async throws(FilesystemError) -> Entry {
        let directory = try changeableDirectory(parent)
        let attributes = try await makeOwned(named: name, in: directory, mode: mode, caller: caller) { [client] in
            try await client.createDirectory(in: .id(directory.fileID), name: name).value
        }
        let object = FileObject(snapshot: nil, fileID: attributes.id)
        // Known empty: lookups while it fills (tar, git, cp -r) are answered without asking the server.
        listingCache.set(DirectoryListing(fetchedAt: clock.now), for: object, lifetime: lifetime(of: object))
        return remember(entry(for: object, attributes))
    }

    public func makeSymlink(
        _ parent: NodeID, name: String, target: String, caller: Caller
    ) async throws(FilesystemError) -> Entry {
        let directory = try changeableDirectory(parent)
        let attributes = try await makeOwned(named: name, in: directory, mode: nil, caller: caller) { [client] in
            try await client.createSymlink(in: .id(directory.fileID), name: name, target: target).value
        }
        return remember(entry(for: FileObject(snapshot: nil, fileID: attributes.id), attributes))
    }

    public func link(_ node: NodeID, to parent: NodeID, name: String) async throws(FilesystemError) -> Entry {
        try checkChangeable([node, parent])
        try Self.checkName(name)
        let object = try liveObject(node), directory = try liveObject(parent)
        invalidateAttributes(of: object)
        let source = try await attributes(of: object)
        let attributes: FileAttributes
        let sent = clock.now
        do {
            attributes = try await client.createLink(in: .id(directory.fileID), name: name, to: source.path).value
        } catch {
            throw FilesystemError(error, "link \(source.path) as \(name) in \(directory)")
        }
        return remember(entry(for: object, added(attributes, named: name, to: directory, sentAt: sent)))
    }

    /// A file open in this mount is moved aside to a hidden name instead, as NFS clients do, and removed at its
    /// last release: the server has no open-unlinked files, and programs that unlink a temporary file they keep
    /// using (`sort`, databases, editors' swap files) would lose it.
    public func unlink(_ parent: NodeID, name: String) async throws(FilesystemError) {
        let directory = try changeableDirectory(parent)
        try Self.checkName(name)
        guard let file = try await openFileLosingItsLastLink(named: name, in: directory) else {
            try await remove(name, from: directory)
            return
        }
        try await moveAside(file, named: name, in: directory)
    }

    /// Renames an open file to `.qfuse_hidden_<id>` in its directory, to be removed at its last release.
    private func moveAside(_ file: InodeState, named name: String, in directory: FileObject) async throws(FilesystemError) {
        let hiddenName = ".qfuse_hidden_\(file.object.fileID)"
        let source = try await attributes(of: directory).path + name
        do {
            _ = try await client.rename(source, to: .id(directory.fileID), name: hiddenName, clobber: true)
        } catch {
            throw FilesystemError(error, "move aside \(source), which is open")
        }
        removed(name, from: directory)
        invalidateAttributes(of: file.object)
        file.hide(in: directory, as: hiddenName)
    }

    public func removeDirectory(_ parent: NodeID, name: String) async throws(FilesystemError) {
        let directory = try changeableDirectory(parent)
        try Self.checkName(name)
        try await remove(name, from: directory)
    }

    public func rename(
        _ parent: NodeID, name: String, to newParent: NodeID, newName: String, flags: RenameFlags
    ) async throws(FilesystemError) {
        try checkChangeable([parent, newParent])
        guard !flags.contains(.exchange) else { throw FilesystemError(.invalidArgument, "the API cannot exchange names") }
        try Self.checkName(name)
        try Self.checkName(newName)
        let from = try liveObject(parent), to = try liveObject(newParent)
        let source = try await attributes(of: from).path + name
        if !flags.contains(.noReplace), let target = try await openFileLosingItsLastLink(named: newName, in: to) {
            // A replaced file open here stays readable to its descriptors, as with NFS: moved aside first.
            try await moveAside(target, named: newName, in: to)
        }
        let replaced = childID(named: newName, in: to)
        let moved: FileAttributes
        let sent = clock.now
        do {
            moved = try await client.rename(source, to: .id(to.fileID), name: newName,
                                            clobber: !flags.contains(.noReplace)).value
        } catch {
            throw FilesystemError(error, "rename \(source) to \(newName) in \(to)")
        }
        removed(name, from: from)
        if let replaced { forgetLinkCount(of: replaced) }
        if moved.type == .directory {
            // Every cached path below it is wrong now, and lookups build paths from them.
            inodes.expireAll(invalidating: false, now: clock.now) { object, _ in object.snapshot == nil }
            listingCache.removeAll { directory, _ in directory.snapshot == nil }
        }
        added(moved, named: newName, to: to, sentAt: sent)
    }

    // MARK: Helpers

    /// Creates an object with `request` and records it in its directory; returns it with the change that gives it
    /// the caller's owner and group and `mode`'s permission bits where the server chose otherwise.
    private func make(
        named name: String, in directory: FileObject, mode: UInt32?, caller: Caller,
        _ request: @Sendable () async throws -> FileAttributes
    ) async throws(FilesystemError) -> (FileAttributes, SetAttributesRequest) {
        try Self.checkName(name)
        let attributes: FileAttributes
        let sent = clock.now
        do {
            attributes = try await request()
        } catch {
            throw FilesystemError(error, "create \(name) in \(directory)")
        }
        added(attributes, named: name, to: directory, sentAt: sent)
        let permissions = mode.map { QumuloFileMode(rawValue: $0) }
        let owner = IdentityDetails(idType: .nfsUID, idValue: String(caller.uid))
        let group = IdentityDetails(idType: .nfsGID, idValue: String(caller.gid))
        var ownership = SetAttributesRequest()
        if let permissions, permissions != attributes.mode { ownership.mode = permissions }
        if attributes.ownerDetails != owner { ownership.ownerDetails = owner }
        if attributes.groupDetails != group { ownership.groupDetails = group }
        return (attributes, ownership)
    }

    /// ``make(named:in:mode:caller:_:)`` with the ownership set at once, for objects no handle holds open.
    private func makeOwned(
        named name: String, in directory: FileObject, mode: UInt32?, caller: Caller,
        _ request: @Sendable () async throws -> FileAttributes
    ) async throws(FilesystemError) -> FileAttributes {
        let (attributes, ownership) = try await make(named: name, in: directory, mode: mode, caller: caller, request)
        guard !ownership.isEmpty else { return attributes }
        let sent = clock.now
        do {
            let owned = try await client.setAttributes(of: .id(attributes.id), ownership).value
            return added(owned, named: name, to: directory, sentAt: sent)
        } catch {
            // Half made is worse than not made: the caller gets the error, and no object they cannot own.
            try? await client.unlink(name, from: .id(directory.fileID))
            removed(name, from: directory)
            throw FilesystemError(error, "set owner and mode of new \(name) in \(directory)")
        }
    }

    /// UNLINK and RMDIR: the server tells a file from a directory, and a full directory from an empty one.
    private func remove(_ name: String, from directory: FileObject) async throws(FilesystemError) {
        let child = childID(named: name, in: directory)
        do {
            try await client.unlink(name, from: .id(directory.fileID))
        } catch {
            throw FilesystemError(error, "remove \(name) from \(directory)")
        }
        removed(name, from: directory)
        forgetLinkCount(of: child)
    }

    /// The file open in this mount whose last link is `name` in `directory`, if any: the one an unlink or a
    /// replacing rename must move aside. Asks the server only when some file is open at all. A file with other
    /// links stays reachable through them, and its link count stays right.
    private func openFileLosingItsLastLink(named name: String, in directory: FileObject) async throws(FilesystemError) -> InodeState? {
        guard inodes.hasActive else { return nil }
        var id = childID(named: name, in: directory)
        if id == nil {
            do {
                id = try await client.attributes(of: .path(try await attributes(of: directory).path + name)).value.id
            } catch {
                let failure = FilesystemError(error, "look up \(name) in \(directory)")
                if failure.errno == .noSuchFileOrDirectory { return nil }
                throw failure
            }
        }
        guard let id, let file = inodes.active(FileObject(snapshot: nil, fileID: id)), file.isOpen else {
            return nil
        }
        invalidateAttributes(of: file.object)
        return try await attributes(of: file.object).numLinks <= 1 ? file : nil
    }

    /// A name of `child` is gone: other names still lead to it with one link fewer. With the id unknown, every
    /// cached file with several links might be the one.
    private func forgetLinkCount(of child: String?) {
        if let child {
            invalidateAttributes(of: FileObject(snapshot: nil, fileID: child))
        } else {
            inodes.expireAll(invalidating: true, now: clock.now) { object, attributes in
                object.snapshot == nil && attributes.numLinks > 1 && attributes.type != .directory
            }
        }
    }

    /// The directory a new entry goes into, which must be live.
    private func changeableDirectory(_ parent: NodeID) throws(FilesystemError) -> FileObject {
        try checkChangeable([parent])
        return try liveObject(parent)
    }

    /// A child's id if this mount knows it without asking: from the directory's listing or its attributes.
    private func childID(named name: String, in directory: FileObject) -> String? {
        listingCache.value(for: directory)?[name]?.id ?? childIDs.value(for: ChildName(directory: directory, name: name))
    }

    /// A new name in `directory`, from the answer to a request that left at `sentAt`: its cached listing gains it,
    /// and its own attributes (times, link count) are stale. Returns the child's attributes to show.
    @discardableResult
    private func added(
        _ child: FileAttributes, named name: String, to directory: FileObject, sentAt: ContinuousClock.Instant
    ) -> FileAttributes {
        var child = child
        child.name = name
        let shown = applyAnswer(child, of: FileObject(snapshot: nil, fileID: child.id), sentAt: sentAt)
        invalidateAttributes(of: directory)
        listingCache.update(directory) { $0.add(child) }
        rememberName(name, of: child.id, in: directory)
        abandonFetch(of: directory)
        return shown
    }

    /// A name gone from `directory`: its listing is dropped (cheaper than finding the name in it).
    func removed(_ name: String, from directory: FileObject) {
        invalidateAttributes(of: directory)
        listingCache.remove(directory)
        childIDs.remove(ChildName(directory: directory, name: name))
        abandonFetch(of: directory)
    }

    /// A listing being fetched while this mount changes the directory may miss the change: it is not cached.
    private func abandonFetch(of directory: FileObject) {
        _ = listingsInFlight.withLock { $0.removeValue(forKey: directory) }
    }

    static let exclusive: Int32 = 0o200

    /// glibc's `major` and `minor`, the inverse of ``NodeAttributes/makeDevice(major:minor:)``.
    static func major(of device: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (device >> 32) & 0xFFFF_F000 | (device >> 8) & 0xFFF)
    }

    static func minor(of device: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: (device >> 12) & 0xFFFF_FF00 | device & 0xFF)
    }
}
