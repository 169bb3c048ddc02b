import FilesystemCore

// OPEN, READ, RELEASE and READLINK: the read path of regular files and symlinks.
extension BridgeContext {
    func open(_ request: FUSERequest, node: NodeID, info: FileInfo) {
        start(request, "open") { filesystem, reply in
            switch await outcome({ () async throws(FilesystemError) in try await filesystem.open(node, flags: info.flags) }) {
            case .success(let opened): reply.open(opened, opened: info)
            case .failure(let error): reply.error(error)
            }
        }
    }

    func read(_ request: FUSERequest, node: NodeID, handle: UInt64, offset: UInt64, size: Int) {
        start(request, "read") { filesystem, reply in
            let read = await outcome { () async throws(FilesystemError) in
                try await filesystem.read(node, handle: handle, offset: offset, size: size)
            }
            switch read {
            case .success(let bytes): reply.data(bytes)
            case .failure(let error): reply.error(error)
            }
        }
    }

    /// The kernel does not wait on the result of RELEASE, but libfuse still needs a reply to free the request.
    func release(_ request: FUSERequest, node: NodeID, handle: UInt64) {
        start(request, "release") { filesystem, reply in
            await filesystem.release(node, handle: handle)
            reply.success()
        }
    }

    func readLink(_ request: FUSERequest, node: NodeID) {
        start(request, "readlink") { filesystem, reply in
            switch await outcome({ () async throws(FilesystemError) in try await filesystem.readLink(node) }) {
            case .success(let target): reply.readLink(target)
            case .failure(let error): reply.error(error)
            }
        }
    }
}
