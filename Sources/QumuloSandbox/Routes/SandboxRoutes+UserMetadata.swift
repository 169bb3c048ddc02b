import Hummingbird
import QumuloAPI

extension SandboxRoutes {
    func registerUserMetadata(on router: Router<SandboxRequestContext>) {
        router.get("/v1/files/:ref/user-metadata/") { request, context in
            try await listUserMetadata(request, context, type: nil)
        }
        router.get("/v1/files/:ref/user-metadata/:type/") { request, context in
            try await listUserMetadata(request, context, type: try metadataType(context))
        }
        router.get("/v1/files/:ref/user-metadata/:type/:key") { request, context in
            try JSONResponse.make(try await store.userMetadata(
                of: try ref(context), type: try metadataType(context), key: try segment(context, "key"),
                in: try await view(request)))
        }
        for (method, replace) in [(HTTPRequest.Method.put, true), (.post, false)] {
            router.on("/v1/files/:ref/user-metadata/:type/:key", method: method) { request, context in
                let body = try await JSONResponse.decode(UserMetadataValue.self, from: request)
                try await store.setUserMetadata(
                    of: try ref(context), type: try metadataType(context), key: try segment(context, "key"),
                    value: body.value, replace: replace, ifMatch: ifMatch(request))
                return try JSONResponse.make(body)
            }
        }
        router.delete("/v1/files/:ref/user-metadata/:type/:key") { request, context in
            try await store.deleteUserMetadata(
                of: try ref(context), type: try metadataType(context), key: try segment(context, "key"),
                ifMatch: ifMatch(request))
            return JSONResponse.empty()
        }
    }

    private func metadataType(_ context: SandboxRequestContext) throws -> UserMetadataType {
        let raw = try segment(context, "type")
        guard let type = UserMetadataType(pathComponent: raw) else {
            throw SandboxError.invalidRequest("user metadata type \"\(raw)\" is not generic or s3")
        }
        return type
    }

    /// Pages through user metadata; the cursor is the last (type, key) returned.
    private func listUserMetadata(
        _ request: Request, _ context: SandboxRequestContext, type: UserMetadataType?
    ) async throws -> Response {
        let after = try cursor(request).map { value -> (UserMetadataType, String) in
            let parts = value.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let kind = UserMetadataType(rawValue: String(parts[0])) else {
                throw SandboxError.invalidRequest("after is not a cursor this server issued")
            }
            return (kind, String(parts[1]))
        }
        let result = try await store.listUserMetadata(
            of: try ref(context), type: type, in: try await view(request), after: after, limit: try pageLimit(request))
        let last = result.more ? result.entries.last.map { "\($0.type.rawValue)/\($0.key)" } : nil
        return try JSONResponse.make(UserMetadataPage(
            entries: result.entries, paging: Paging(next: nextPage(of: request, after: last), end: .emptyString)))
    }
}
