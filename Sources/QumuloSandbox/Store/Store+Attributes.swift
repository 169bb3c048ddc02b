import QumuloAPI

extension Store {
    /// Applies `PATCH info/attributes`: mode, owner, group, size (truncate or zero-extend), times, SMB flags.
    func setAttributes(
        of ref: FileRef, _ request: SetAttributesRequest, ifMatch: String?
    ) async throws -> Tagged<FileAttributes> {
        let owner = try Self.authID(request.owner, request.ownerDetails, what: "owner")
        let group = try Self.authID(request.group, request.groupDetails, what: "group")
        let accessTime = try request.accessTime?.storedNanoseconds("access_time")
        let modificationTime = try request.modificationTime?.storedNanoseconds("modification_time")
        let changeTime = try request.changeTime?.storedNanoseconds("change_time")
        let creationTime = try request.creationTime?.storedNanoseconds("creation_time")
        return try await write { context in
            let old = try Lookup.resolve(context.db, ref, in: .live)
            try Self.checkPrecondition(ifMatch, etag: old.etag)
            var inode = old
            if let mode = request.mode {
                // A mode change rewrites the ACL to match, POSIX-style.
                inode.mode = Int(mode.rawValue)
                inode.acl = nil
            }
            if let owner { inode.owner = Int64(bitPattern: owner) }
            if let group { inode.grp = Int64(bitPattern: group) }
            if let flags = request.extendedAttributes {
                var extended = ExtendedAttributes()
                extended.bits = inode.extendedAttributes
                try extended.apply(flags)
                inode.extendedAttributes = extended.bits
            }
            inode.touchChange(at: context.now)
            if let size = request.size {
                guard inode.type == .file else { throw SandboxError.notAFile(ref.description) }
                guard size <= UInt64(Self.maxFileSize) else { throw SandboxError.invalidSize(size) }
                if Int64(size) != inode.size {
                    try self.resize(&inode, to: Int64(size), context: context)
                    inode.mtime = context.now
                }
            }
            if let accessTime { inode.atime = accessTime }
            if let modificationTime { inode.mtime = modificationTime }
            if let changeTime { inode.ctime = changeTime }
            if let creationTime { inode.btime = creationTime }
            let saved = try context.save(replacing: old, with: inode)
            if saved.blob != old.blob { try context.releaseBlob(old.blob) }
            return Tagged(value: try Lookup.attributes(context.db, of: saved, in: .live), etag: saved.etag)
        }
    }

    /// The auth id an owner or group change names, by auth id or by typed details.
    private static func authID(_ id: UInt64?, _ details: IdentityDetails?, what: String) throws -> UInt64? {
        if let id { return id }
        guard let details else { return nil }
        guard let id = AuthID.authID(of: details) else {
            throw SandboxError.invalidRequest("\(what) \(details.idType.rawValue) \(details.idValue) is not an identity this server knows")
        }
        return id
    }
}

extension ExtendedAttributes {
    /// Sets the named flags; an unknown name is an error rather than silently ignored.
    mutating func apply(_ flags: [String: Bool]) throws {
        for (name, value) in flags where !set(name, to: value) {
            throw SandboxError.invalidRequest("unknown extended attribute \"\(name)\"")
        }
    }
}
