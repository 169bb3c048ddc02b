import Logging
import NIOCore
import QumuloAPI
import QumuloClient
import Synchronization
import SystemPackage

// WRITE, FLUSH, FSYNC, SETATTR, SETXATTR, REMOVEXATTR, FALLOCATE and COPY_FILE_RANGE: changes to what a file
// holds. Data goes through ``WriteBack``; everything else is one API call, after the file's pending
// writes have reached the server wherever the order matters.
extension QumuloFilesystem {
    public func write(_ node: NodeID, handle: UInt64, offset: UInt64, data: ByteBuffer) async throws(FilesystemError) -> Int {
        try checkChangeable([node])
        let file = try reportFailures(handle)
        await writeBack.write(data, at: offset, of: file, active: inodes)
        return data.readableBytes
    }

    public func flush(_ node: NodeID, handle: UInt64) async throws(FilesystemError) {
        let file = try handles.file(handle).file
        await drain(file)
        _ = try reportFailures(handle)
    }

    public func synchronize(_ node: NodeID, handle: UInt64?) async throws(FilesystemError) {
        guard let handle else {
            if case .object(let object) = try key(of: node), let file = inodes.active(object) {
                await drain(file)
            }
            return
        }
        try await flush(node, handle: handle)
    }

    public func setAttributes(
        _ node: NodeID, handle: UInt64?, _ changes: AttributeChanges
    ) async throws(FilesystemError) -> AttributesReply {
        try checkChangeable([node])
        let object = try liveObject(node)
        let file = inodes.active(object)
        let now = Timestamp.now()
        func time(_ change: AttributeChanges.Time?) -> Timestamp? {
            switch change {
            case .now?: now
            case .at(let time)?: time
            case nil: nil
            }
        }
        let request = SetAttributesRequest(
            mode: changes.mode.map { QumuloFileMode(rawValue: $0) },
            ownerDetails: changes.uid.map { IdentityDetails(idType: .nfsUID, idValue: String($0)) },
            groupDetails: changes.gid.map { IdentityDetails(idType: .nfsGID, idValue: String($0)) },
            size: changes.size, accessTime: time(changes.accessTime), modificationTime: time(changes.modificationTime))
        let attributes: FileAttributes
        if let file, file.isOpen, changes.size == nil {
            // Held for the file's next flush, with its data (``InodeState``).
            file.deferChange(request)
            attributes = try await self.attributes(of: object)
        } else {
            // A truncate must come after the writes before it, or an upload would undo it.
            if let file { await drain(file) }
            attributes = try await changeAttributes(of: object, request)
        }
        return AttributesReply(attributes: entry(for: object, attributes).attributes, timeout: lifetime(of: object))
    }

    public func setExtendedAttribute(_ node: NodeID, name: String, value: [UInt8], flags: Int32) async throws(FilesystemError) {
        try checkChangeable([node])
        let object = try liveObject(node)
        let key = try userMetadataKey(name)
        if flags & (Self.xattrCreate | Self.xattrReplace) != 0 {
            let exists: Bool
            do throws(FilesystemError) {
                _ = try await extendedAttribute(node, name: name)
                exists = true
            } catch where error.errno == .noData {
                exists = false
            }
            if exists, flags & Self.xattrCreate != 0 { throw FilesystemError(.fileExists, "\(name) is set") }
            if !exists, flags & Self.xattrReplace != 0 { throw FilesystemError(.noData, "\(name) is not set") }
        }
        do {
            try await client.setUserMetadata(of: .id(object.fileID), type: .generic, key: key, value: value)
        } catch {
            throw FilesystemError(error, "setxattr \(name) of \(object)")
        }
        invalidateAttributes(of: object)
    }

    public func removeExtendedAttribute(_ node: NodeID, name: String) async throws(FilesystemError) {
        try checkChangeable([node])
        let object = try liveObject(node)
        do {
            try await client.deleteUserMetadata(of: .id(object.fileID), type: .generic, key: try userMetadataKey(name))
        } catch {
            let failure = FilesystemError(error, "removexattr \(name) of \(object)")
            throw failure.errno == .noSuchFileOrDirectory ? FilesystemError(.noData, failure.message) : failure
        }
        invalidateAttributes(of: object)
    }

    public func allocate(
        _ node: NodeID, handle: UInt64, mode: Int32, offset: UInt64, length: UInt64
    ) async throws(FilesystemError) {
        try checkChangeable([node])
        guard mode == Self.punchHoleKeepingSize else {
            throw FilesystemError(.notSupported, "fallocate mode \(mode): the API only punches holes")
        }
        let file = try handles.file(handle).file
        await drain(file)
        let sent = clock.now
        do {
            let attributes = try await client.punchHole(.id(file.object.fileID), offset: offset, size: length).value
            applyAnswer(attributes, of: file.object, sentAt: sent)
        } catch {
            throw FilesystemError(error, "punch hole in \(file.path)")
        }
    }

    /// A server-side copy (`copy-chunk`): restoring a file from `.snapshot` moves no file data through the mount.
    public func copyRange(
        from source: NodeID, handle sourceHandle: UInt64, offset sourceOffset: UInt64,
        to target: NodeID, handle targetHandle: UInt64, offset targetOffset: UInt64, length: UInt64
    ) async throws(FilesystemError) -> Int {
        try checkChangeable([target])
        let from = try handles.file(sourceHandle).file, to = try handles.file(targetHandle).file
        // The server copies what it has: both files' pending writes go first.
        await drain(from)
        await drain(to)
        let sourceSize = from.readView(version: dataVersion(of:))?.size ?? 0
        let count = min(length, sourceSize - min(sourceSize, sourceOffset), Self.largestCopy)
        guard count > 0 else { return 0 }
        do {
            try await client.copy(
                CopyChunkRequest(sourceID: from.object.fileID, sourceSnapshot: from.object.snapshot,
                                 sourceOffset: sourceOffset, targetOffset: targetOffset, length: count),
                into: .id(to.object.fileID))
            let sent = clock.now
            let attributes = try await client.attributes(of: .id(to.object.fileID)).value
            applyAnswer(attributes, of: to.object, sentAt: sent)
        } catch {
            throw FilesystemError(error, "copy \(count) bytes from \(from.path) to \(to.path)")
        }
        return Int(count)
    }

    /// Returns once every write of `file` so far, then its held attribute change, has reached the server or failed.
    func drain(_ file: InodeState) async {
        await writeBack.drain(file) { [self] change throws(FilesystemError) in
            _ = try await changeAttributes(of: file.object, change)
        }
    }

    // MARK: Helpers

    /// The handle's file, after throwing the first upload failure of it that the handle has not been told of.
    @discardableResult
    func reportFailures(_ handle: UInt64) throws(FilesystemError) -> InodeState {
        // Looked at and marked told in one step, so two writes on one handle never both report one failure.
        let (file, failure) = try handles.withFile(handle) { opened in
            guard let (failure, count) = opened.file.unreportedFailure(seen: opened.reportedFailures) else {
                return (opened.file, FilesystemError?.none)
            }
            opened.reportedFailures = count
            return (opened.file, failure)
        }
        if let failure { throw failure }
        return file
    }

    /// `PATCH info/attributes` and everything that follows from its answer.
    func changeAttributes(of object: FileObject, _ request: SetAttributesRequest) async throws(FilesystemError) -> FileAttributes {
        do {
            let sent = clock.now
            return applyAnswer(try await client.setAttributes(of: .id(object.fileID), request).value, of: object, sentAt: sent)
        } catch {
            throw FilesystemError(error, "set attributes of \(object)")
        }
    }

    func liveObject(_ node: NodeID) throws(FilesystemError) -> FileObject {
        guard case .object(let object) = try key(of: node), object.snapshot == nil else {
            throw FilesystemError(.readOnlyFileSystem, "snapshots never change")
        }
        return object
    }

    /// The user-metadata key of a `user.*` name; other namespaces cannot be set here.
    func userMetadataKey(_ name: String) throws(FilesystemError) -> String {
        guard name.hasPrefix(Self.userPrefix), name.count > Self.userPrefix.count else {
            throw FilesystemError(.notSupported, "only user.* extended attributes are kept")
        }
        return String(name.dropFirst(Self.userPrefix.count))
    }

    static let xattrCreate: Int32 = 1
    static let xattrReplace: Int32 = 2
    /// `FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`, the one combination the kernel allows for punching.
    static let punchHoleKeepingSize: Int32 = 0x02 | 0x01
    /// Bytes one COPY_FILE_RANGE copies at most; the kernel's reply carries a 32-bit count, and `cp` asks again.
    static let largestCopy: UInt64 = 1 << 30
}
