import NIOHTTP1
import QumuloAPI

extension QumuloClient {
    /// `GET entries/`: the first page of a directory, every child with its full attributes.
    ///
    /// - Parameter limit: the most children wanted; the server may return fewer, so follow ``EntriesPage/paging``.
    public func entriesPage(
        of ref: FileRef, snapshot: UInt64? = nil, limit: Int? = nil
    ) async throws -> EntriesPage {
        let path = ref.filesPath + "/entries/" + query(("limit", limit.map(String.init)), ("snapshot", snapshot.map(String.init)))
        return try await perform(APIRequest(.GET, path, retry: .idempotent), decoding: EntriesPage.self).value
    }

    /// The page a `paging.next` names. The server copies every parameter (limit, snapshot) into it, so it is
    /// requested verbatim; only a server-relative URI is accepted, so the token never goes to another host.
    public func entriesPage(next: String) async throws -> EntriesPage {
        try await perform(APIRequest(.GET, try serverRelative(next), retry: .idempotent), decoding: EntriesPage.self).value
    }

    /// Every child of a directory, fetched a page at a time as the sequence is iterated.
    public func entries(of ref: FileRef, snapshot: UInt64? = nil, pageSize: Int? = nil) -> DirectoryEntries {
        DirectoryEntries(pages: entryPages(of: ref, snapshot: snapshot, pageSize: pageSize))
    }

    /// The children of a directory a page at a time, for callers that hand each page on as it arrives.
    public func entryPages(of ref: FileRef, snapshot: UInt64? = nil, pageSize: Int? = nil) -> DirectoryPages {
        DirectoryPages(client: self, ref: ref, snapshot: snapshot, pageSize: pageSize)
    }

    /// Refuses a `paging.next` that points anywhere but this server.
    func serverRelative(_ next: String) throws -> String {
        guard next.hasPrefix("/"), !next.hasPrefix("//") else {
            throw QumuloClientError(code: .invalidResponse, message: "paging.next \"\(next)\" is not a server-relative URI")
        }
        return next
    }
}

/// The pages of one directory's listing in the server's order; each is requested when the previous one has been
/// taken, so memory holds one page however large the directory.
public struct DirectoryPages: AsyncSequence, Sendable {
    public typealias Element = [FileAttributes]

    let client: QumuloClient
    let ref: FileRef
    let snapshot: UInt64?
    let pageSize: Int?

    public func makeAsyncIterator() -> Iterator {
        Iterator(pages: self)
    }

    public struct Iterator: AsyncIteratorProtocol {
        private let pages: DirectoryPages
        /// nil before the first page; "" once the last page is in (the entries listing ends with an empty next).
        private var next: String?

        init(pages: DirectoryPages) {
            self.pages = pages
        }

        public mutating func next() async throws -> [FileAttributes]? {
            let fetched: EntriesPage
            switch next {
            case nil:
                fetched = try await pages.client.entriesPage(of: pages.ref, snapshot: pages.snapshot, limit: pages.pageSize)
            case let uri? where !uri.isEmpty:
                fetched = try await pages.client.entriesPage(next: uri)
            default:
                return nil
            }
            next = fetched.paging.hasNext ? fetched.paging.next : ""
            return fetched.files
        }
    }
}

/// The children of one directory in the server's order, one page in memory at a time.
public struct DirectoryEntries: AsyncSequence, Sendable {
    public typealias Element = FileAttributes

    let pages: DirectoryPages

    public func makeAsyncIterator() -> Iterator {
        Iterator(pages: pages.makeAsyncIterator())
    }

    public struct Iterator: AsyncIteratorProtocol {
        private var pages: DirectoryPages.Iterator
        private var page: IndexingIterator<[FileAttributes]> = [].makeIterator()

        init(pages: DirectoryPages.Iterator) {
            self.pages = pages
        }

        public mutating func next() async throws -> FileAttributes? {
            while true {
                if let child = page.next() { return child }
                guard let fetched = try await pages.next() else { return nil }
                page = fetched.makeIterator()
            }
        }
    }
}
