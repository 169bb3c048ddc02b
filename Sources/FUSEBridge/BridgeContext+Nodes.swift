import FilesystemCore

// LOOKUP, FORGET and GETATTR: names to nodes, and the lookup counts that keep nodes alive.
extension BridgeContext {
    func lookup(_ request: FUSERequest, parent: NodeID, name: String) {
        start(request, "lookup") { filesystem, reply in
            switch await outcome({ () async throws(FilesystemError) in try await filesystem.lookup(parent, name: name) }) {
            case .success(let result): reply.lookup(result)
            case .failure(let error): reply.error(error)
            }
        }
    }

    /// FORGET and BATCH_FORGET: synchronous, as the contract promises they never block on I/O, so a burst of
    /// them costs no Tasks.
    func forget(_ nodes: some Sequence<(NodeID, UInt64)>) {
        for (node, lookups) in nodes {
            filesystem.forget(node, lookups: lookups)
        }
    }

    func attributes(_ request: FUSERequest, node: NodeID) {
        start(request, "getattr") { filesystem, reply in
            switch await outcome({ () async throws(FilesystemError) in try await filesystem.attributes(of: node) }) {
            case .success(let attributes): reply.attributes(attributes)
            case .failure(let error): reply.error(error)
            }
        }
    }
}
