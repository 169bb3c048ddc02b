import FilesystemCore
import NIOCore

// The write path: every request that changes the tree or a file, each handed to the core in a Task.
extension BridgeContext {
    func create(_ request: FUSERequest, parent: NodeID, name: String, mode: UInt32, info: FileInfo) {
        let caller = request.caller
        respond(request, "create") { filesystem async throws(FilesystemError) in
            try await filesystem.create(parent, name: name, mode: mode, flags: info.flags, caller: caller)
        } send: { reply, created in
            reply.created(created.0, created.1, opened: info)
        }
    }

    func makeNode(_ request: FUSERequest, parent: NodeID, name: String, mode: UInt32, device: UInt64) {
        let caller = request.caller
        reply(request, "mknod") { filesystem async throws(FilesystemError) in
            try await filesystem.makeNode(parent, name: name, mode: mode, device: device, caller: caller)
        }
    }

    func makeDirectory(_ request: FUSERequest, parent: NodeID, name: String, mode: UInt32) {
        let caller = request.caller
        reply(request, "mkdir") { filesystem async throws(FilesystemError) in
            try await filesystem.makeDirectory(parent, name: name, mode: mode, caller: caller)
        }
    }

    func makeSymlink(_ request: FUSERequest, parent: NodeID, name: String, target: String) {
        let caller = request.caller
        reply(request, "symlink") { filesystem async throws(FilesystemError) in
            try await filesystem.makeSymlink(parent, name: name, target: target, caller: caller)
        }
    }

    func link(_ request: FUSERequest, node: NodeID, to parent: NodeID, name: String) {
        reply(request, "link") { filesystem async throws(FilesystemError) in
            try await filesystem.link(node, to: parent, name: name)
        }
    }

    func remove(_ request: FUSERequest, _ name: String, from parent: NodeID, directory: Bool) {
        succeed(request, directory ? "rmdir" : "unlink") { filesystem async throws(FilesystemError) in
            if directory {
                try await filesystem.removeDirectory(parent, name: name)
            } else {
                try await filesystem.unlink(parent, name: name)
            }
        }
    }

    func rename(_ request: FUSERequest, parent: NodeID, name: String, to newParent: NodeID, newName: String,
                flags: RenameFlags) {
        succeed(request, "rename") { filesystem async throws(FilesystemError) in
            try await filesystem.rename(parent, name: name, to: newParent, newName: newName, flags: flags)
        }
    }

    func write(_ request: FUSERequest, node: NodeID, handle: UInt64, offset: UInt64, data: ByteBuffer) {
        count(request, "write") { filesystem async throws(FilesystemError) in
            try await filesystem.write(node, handle: handle, offset: offset, data: data)
        }
    }

    func flush(_ request: FUSERequest, node: NodeID, handle: UInt64) {
        succeed(request, "flush") { filesystem async throws(FilesystemError) in
            try await filesystem.flush(node, handle: handle)
        }
    }

    func synchronize(_ request: FUSERequest, node: NodeID, handle: UInt64?) {
        succeed(request, "fsync") { filesystem async throws(FilesystemError) in
            try await filesystem.synchronize(node, handle: handle)
        }
    }

    func setAttributes(_ request: FUSERequest, node: NodeID, changes: AttributeChanges, handle: UInt64?) {
        respond(request, "setattr") { filesystem async throws(FilesystemError) in
            try await filesystem.setAttributes(node, handle: handle, changes)
        } send: { reply, attributes in
            reply.attributes(attributes)
        }
    }

    func setExtendedAttribute(_ request: FUSERequest, node: NodeID, name: String, value: [UInt8], flags: Int32) {
        succeed(request, "setxattr") { filesystem async throws(FilesystemError) in
            try await filesystem.setExtendedAttribute(node, name: name, value: value, flags: flags)
        }
    }

    func removeExtendedAttribute(_ request: FUSERequest, node: NodeID, name: String) {
        succeed(request, "removexattr") { filesystem async throws(FilesystemError) in
            try await filesystem.removeExtendedAttribute(node, name: name)
        }
    }

    func allocate(_ request: FUSERequest, node: NodeID, handle: UInt64, mode: Int32, offset: UInt64, length: UInt64) {
        succeed(request, "fallocate") { filesystem async throws(FilesystemError) in
            try await filesystem.allocate(node, handle: handle, mode: mode, offset: offset, length: length)
        }
    }

    func copyRange(
        _ request: FUSERequest, from source: NodeID, handle sourceHandle: UInt64, offset sourceOffset: UInt64,
        to target: NodeID, handle targetHandle: UInt64, offset targetOffset: UInt64, length: UInt64
    ) {
        count(request, "copy_file_range") { filesystem async throws(FilesystemError) in
            try await filesystem.copyRange(
                from: source, handle: sourceHandle, offset: sourceOffset,
                to: target, handle: targetHandle, offset: targetOffset, length: length)
        }
    }

    // MARK: Reply shapes

    /// Operations answered with a new entry (MKNOD, MKDIR, SYMLINK, LINK).
    private func reply(
        _ request: FUSERequest, _ operation: StaticString,
        _ body: @escaping @Sendable (any FilesystemOperations) async throws(FilesystemError) -> Entry
    ) {
        respond(request, operation, body) { reply, entry in reply.lookup(.found(entry)) }
    }

    /// Operations answered with success alone.
    private func succeed(
        _ request: FUSERequest, _ operation: StaticString,
        _ body: @escaping @Sendable (any FilesystemOperations) async throws(FilesystemError) -> Void
    ) {
        respond(request, operation, body) { reply, _ in reply.success() }
    }

    /// Operations answered with a byte count (WRITE, COPY_FILE_RANGE).
    private func count(
        _ request: FUSERequest, _ operation: StaticString,
        _ body: @escaping @Sendable (any FilesystemOperations) async throws(FilesystemError) -> Int
    ) {
        respond(request, operation, body) { reply, count in reply.written(count) }
    }

    /// Runs `body` in the request's Task and sends its value with `send`, or its error.
    private func respond<Value: Sendable>(
        _ request: FUSERequest, _ operation: StaticString,
        _ body: @escaping @Sendable (any FilesystemOperations) async throws(FilesystemError) -> Value,
        send: @escaping @Sendable (consuming PendingReply, Value) -> Void
    ) {
        start(request, operation) { filesystem, reply in
            switch await outcome({ () async throws(FilesystemError) in try await body(filesystem) }) {
            case .success(let value): send(reply, value)
            case .failure(let error): reply.error(error)
            }
        }
    }
}
