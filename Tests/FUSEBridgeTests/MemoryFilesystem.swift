import FilesystemCore
import NIOCore
import QumuloAPI
import Synchronization
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// A small in-memory file system for bridge tests, with known contents and faults on purpose, that counts
/// what the kernel does with lookups.
///
/// The tree:
/// ```
/// /hello.txt          "hello, world\n"
/// /docs/pattern.bin   `patternSize` bytes of `pattern(_:seed: 7)`
/// /docs/nested/deep.txt
/// /link -> docs/pattern.bin
/// /big/               `bigDirectorySize` empty files: file-00000 ...
/// /faulty             read fails with EIO
/// /stuck              read never ends until cancelled (direct I/O, so the reader waits in the request)
/// /tagged             extended attribute user.color = "blue"
/// /broken             lookup of this name fails with EIO
/// ```
final class MemoryFilesystem: FilesystemOperations {
    enum Content: Sendable {
        case directory([String: NodeID])
        case file([UInt8])
        case symlink(String)
        case failing
        case stuck
    }

    struct Node: Sendable {
        var id: NodeID
        var parent: NodeID
        var content: Content
        var xattrs: [String: [UInt8]] = [:]
    }

    /// What the kernel did, for the tests to check.
    struct Accounting: Sendable {
        /// Lookups the kernel holds per node.
        var held: [NodeID: UInt64] = [:]
        var lookupsAdded: UInt64 = 0
        var forgets: UInt64 = 0
        /// FORGETs of a node that had fewer lookups than forgotten, or was never handed out.
        var anomalies: [String] = []
        /// Core calls per operation.
        var calls: [String: Int] = [:]
        var lookupsByName: [String: Int] = [:]
        var extendedAttributeNamesAsked: [String] = []
        var stuckReadsStarted = 0
        var stuckReadsCancelled = 0
    }

    static let patternSize = (1 << 20) + 4321
    let bigDirectorySize: Int
    let cacheDirectories: Bool
    private let nodes: [NodeID: Node]
    /// Each directory's children by name, sorted once: listings are read thousands of times.
    private let sortedChildren: [NodeID: [(name: String, node: NodeID)]]
    private let accounting = Mutex(Accounting())
    private let nextHandle = Atomic<UInt64>(1)

    init(bigDirectorySize: Int = 3000, cacheDirectories: Bool = false) {
        self.bigDirectorySize = bigDirectorySize
        self.cacheDirectories = cacheDirectories
        var nodes: [NodeID: Node] = [:]
        var next: UInt64 = 2
        func add(_ content: Content, in parent: NodeID, named name: String) -> NodeID {
            let id = NodeID(rawValue: next)
            next += 1
            nodes[id] = Node(id: id, parent: parent, content: content)
            if case .directory(var children) = nodes[parent]!.content {
                children[name] = id
                nodes[parent]!.content = .directory(children)
            }
            return id
        }
        nodes[.root] = Node(id: .root, parent: .root, content: .directory([:]))
        _ = add(.file(Array("hello, world\n".utf8)), in: .root, named: "hello.txt")
        let docs = add(.directory([:]), in: .root, named: "docs")
        _ = add(.file(Self.pattern(Self.patternSize, seed: 7)), in: docs, named: "pattern.bin")
        let nested = add(.directory([:]), in: docs, named: "nested")
        _ = add(.file(Array("deep\n".utf8)), in: nested, named: "deep.txt")
        _ = add(.symlink("docs/pattern.bin"), in: .root, named: "link")
        let big = add(.directory([:]), in: .root, named: "big")
        for index in 0 ..< bigDirectorySize {
            _ = add(.file([]), in: big, named: Self.bigName(index))
        }
        _ = add(.failing, in: .root, named: "faulty")
        _ = add(.stuck, in: .root, named: "stuck")
        let tagged = add(.file(Array("tagged\n".utf8)), in: .root, named: "tagged")
        nodes[tagged]!.xattrs["user.color"] = Array("blue".utf8)
        self.nodes = nodes
        sortedChildren = nodes.compactMapValues { node in
            guard case .directory(let children) = node.content else { return nil }
            return children.sorted { $0.key < $1.key }.map { (name: $0.key, node: $0.value) }
        }
    }

    static func bigName(_ index: Int) -> String {
        let digits = String(index)
        return "file-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// Bytes whose value at every offset is known.
    static func pattern(_ count: Int, seed: UInt8) -> [UInt8] {
        (0 ..< count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8 &+ Int(seed)) }
    }

    var snapshot: Accounting { accounting.withLock { $0 } }

    /// Lookups still held on nodes other than the root, which the kernel never forgets.
    var outstandingLookups: UInt64 {
        accounting.withLock { $0.held.filter { $0.key != .root }.values.reduce(0, +) }
    }

    private func count(_ operation: String) {
        accounting.withLock { $0.calls[operation, default: 0] += 1 }
    }

    private func node(_ id: NodeID) throws(FilesystemError) -> Node {
        guard let node = nodes[id] else { throw FilesystemError(.staleNFSFileHandle, "unknown \(id)") }
        return node
    }

    private func attributes(of node: Node) -> NodeAttributes {
        let (mode, size, links): (UInt32, Int, UInt32) = switch node.content {
        case .directory(let children): (UInt32(S_IFDIR) | 0o755, 4096, 2 + UInt32(children.count))
        case .file(let bytes): (UInt32(S_IFREG) | 0o644, bytes.count, 1)
        case .symlink(let target): (UInt32(S_IFLNK) | 0o777, target.utf8.count, 1)
        case .failing, .stuck: (UInt32(S_IFREG) | 0o644, 1 << 16, 1)
        }
        let time = Timestamp(seconds: 1_700_000_000, nanoseconds: 123_456_789)
        return NodeAttributes(
            inode: 1000 + node.id.rawValue, mode: mode, linkCount: links, uid: 0, gid: 0, device: 0,
            size: UInt64(size), blocks: UInt64((size + 511) / 512), blockSize: 1 << 20,
            accessTime: time, modificationTime: time, changeTime: time)
    }

    private func entry(_ node: Node) -> Entry {
        Entry(node: node.id, attributes: attributes(of: node), entryTimeout: 1, attributeTimeout: 1)
    }

    // MARK: FilesystemOperations

    func lookup(_ parent: NodeID, name: String) async throws(FilesystemError) -> LookupResult {
        accounting.withLock {
            $0.calls["lookup", default: 0] += 1
            $0.lookupsByName[name, default: 0] += 1
        }
        guard case .directory(let children) = try node(parent).content else { throw FilesystemError(.notDirectory) }
        if name == "broken" { throw FilesystemError(.ioError, "lookup of broken fails on purpose") }
        guard let child = children[name] else { return .missing(cacheFor: 30) }
        let found = try node(child)
        accounting.withLock {
            $0.held[child, default: 0] += 1
            $0.lookupsAdded += 1
        }
        return .found(entry(found))
    }

    func forget(_ node: NodeID, lookups: UInt64) {
        accounting.withLock {
            $0.forgets += lookups
            let held = $0.held[node, default: 0]
            if held < lookups {
                $0.anomalies.append("forget \(lookups) of \(node), which holds \(held)")
                $0.held[node] = nil
            } else {
                $0.held[node] = held == lookups ? nil : held - lookups
            }
        }
    }

    func attributes(of node: NodeID) async throws(FilesystemError) -> AttributesReply {
        count("getattr")
        return AttributesReply(attributes: attributes(of: try self.node(node)), timeout: 1)
    }

    func openDirectory(_ node: NodeID) async throws(FilesystemError) -> OpenReply {
        count("opendir")
        guard case .directory = try self.node(node).content else { throw FilesystemError(.notDirectory) }
        return OpenReply(handle: nextHandle.add(1, ordering: .relaxed).newValue, cacheDirectory: cacheDirectories)
    }

    /// `.`, `..`, then the children by name; the cookie after entry i is i + 1.
    func readDirectory(
        _ node: NodeID, handle: UInt64, offset: UInt64, limit: Int, plus: Bool
    ) async throws(FilesystemError) -> [DirectoryEntry] {
        count(plus ? "readdirplus" : "readdir")
        let directory = try self.node(node)
        guard let children = sortedChildren[node] else { throw FilesystemError(.notDirectory) }
        let count = children.count + 2
        guard offset < count else { return [] }
        return try (Int(offset) ..< min(count, Int(offset) + limit)).map { (index: Int) throws(FilesystemError) in
            switch index {
            case 0: DirectoryEntry(name: ".", offset: 1, entry: entry(directory), countsLookup: false)
            case 1: DirectoryEntry(name: "..", offset: 2, entry: entry(try self.node(directory.parent)), countsLookup: false)
            default: DirectoryEntry(name: children[index - 2].name, offset: UInt64(index + 1),
                                    entry: entry(try self.node(children[index - 2].node)))
            }
        }
    }

    func didReturn(_ nodes: [NodeID]) {
        accounting.withLock {
            for node in nodes { $0.held[node, default: 0] += 1 }
            $0.lookupsAdded += UInt64(nodes.count)
        }
    }

    func releaseDirectory(_ node: NodeID, handle: UInt64) {
        count("releasedir")
    }

    func open(_ node: NodeID, flags: Int32) async throws(FilesystemError) -> OpenReply {
        count("open")
        let node = try self.node(node)
        if case .directory = node.content { throw FilesystemError(.isDirectory) }
        if case .stuck = node.content {
            return OpenReply(handle: nextHandle.add(1, ordering: .relaxed).newValue, directIO: true)
        }
        return OpenReply(handle: nextHandle.add(1, ordering: .relaxed).newValue)
    }

    func read(_ node: NodeID, handle: UInt64, offset: UInt64, size: Int) async throws(FilesystemError) -> ByteBuffer {
        count("read")
        switch try self.node(node).content {
        case .file(let bytes):
            let start = min(Int(offset), bytes.count)
            return ByteBuffer(bytes: bytes[start ..< min(bytes.count, start + size)])
        case .failing:
            throw FilesystemError(.ioError, "read of faulty fails on purpose")
        case .stuck:
            accounting.withLock { $0.stuckReadsStarted += 1 }
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                accounting.withLock { $0.stuckReadsCancelled += 1 }
                throw FilesystemError(.interrupted, "read of stuck cancelled")
            }
            return ByteBuffer()
        case .directory:
            throw FilesystemError(.isDirectory)
        case .symlink:
            throw FilesystemError(.invalidArgument)
        }
    }

    func release(_ node: NodeID, handle: UInt64) async {
        count("release")
    }

    func readLink(_ node: NodeID) async throws(FilesystemError) -> String {
        count("readlink")
        guard case .symlink(let target) = try self.node(node).content else { throw FilesystemError(.invalidArgument) }
        return target
    }

    func statistics(_ node: NodeID) async throws(FilesystemError) -> FilesystemStatistics {
        count("statfs")
        return FilesystemStatistics(blockSize: 4096, totalBlocks: 1 << 20, freeBlocks: 1 << 19, availableBlocks: 1 << 19,
                                    totalFiles: 1 << 16, freeFiles: 1 << 15, nameMax: 255)
    }

    func extendedAttribute(_ node: NodeID, name: String) async throws(FilesystemError) -> [UInt8] {
        accounting.withLock { $0.extendedAttributeNamesAsked.append(name) }
        count("getxattr")
        guard let value = try self.node(node).xattrs[name] else { throw FilesystemError(.noData) }
        return value
    }

    func extendedAttributeNames(_ node: NodeID) async throws(FilesystemError) -> [String] {
        count("listxattr")
        return try self.node(node).xattrs.keys.sorted()
    }
}

/// The fixture never changes: every change is ENOSYS, which the bridge must pass on as it is.
extension MemoryFilesystem {
    private var unchangeable: FilesystemError { FilesystemError(.noFunction, "the fixture is read-only") }

    func create(_ parent: NodeID, name: String, mode: UInt32, flags: Int32, caller: Caller)
        async throws(FilesystemError) -> (Entry, OpenReply) { throw unchangeable }
    func makeNode(_ parent: NodeID, name: String, mode: UInt32, device: UInt64, caller: Caller)
        async throws(FilesystemError) -> Entry { throw unchangeable }
    func makeDirectory(_ parent: NodeID, name: String, mode: UInt32, caller: Caller)
        async throws(FilesystemError) -> Entry { throw unchangeable }
    func makeSymlink(_ parent: NodeID, name: String, target: String, caller: Caller)
        async throws(FilesystemError) -> Entry { throw unchangeable }
    func link(_ node: NodeID, to parent: NodeID, name: String) async throws(FilesystemError) -> Entry { throw unchangeable }
    func unlink(_ parent: NodeID, name: String) async throws(FilesystemError) { throw unchangeable }
    func removeDirectory(_ parent: NodeID, name: String) async throws(FilesystemError) { throw unchangeable }
    func rename(_ parent: NodeID, name: String, to newParent: NodeID, newName: String, flags: RenameFlags)
        async throws(FilesystemError) { throw unchangeable }
    func write(_ node: NodeID, handle: UInt64, offset: UInt64, data: ByteBuffer)
        async throws(FilesystemError) -> Int { throw unchangeable }
    func flush(_ node: NodeID, handle: UInt64) async throws(FilesystemError) {}
    func synchronize(_ node: NodeID, handle: UInt64?) async throws(FilesystemError) {}
    func setAttributes(_ node: NodeID, handle: UInt64?, _ changes: AttributeChanges)
        async throws(FilesystemError) -> AttributesReply { throw unchangeable }
    func setExtendedAttribute(_ node: NodeID, name: String, value: [UInt8], flags: Int32)
        async throws(FilesystemError) { throw unchangeable }
    func removeExtendedAttribute(_ node: NodeID, name: String) async throws(FilesystemError) { throw unchangeable }
    func allocate(_ node: NodeID, handle: UInt64, mode: Int32, offset: UInt64, length: UInt64)
        async throws(FilesystemError) { throw unchangeable }
    func copyRange(
        from source: NodeID, handle sourceHandle: UInt64, offset sourceOffset: UInt64,
        to target: NodeID, handle targetHandle: UInt64, offset targetOffset: UInt64, length: UInt64
    ) async throws(FilesystemError) -> Int { throw unchangeable }
}
