import Hummingbird
import QumuloAPI

extension SandboxRoutes {
    func registerFiles(on router: Router<SandboxRequestContext>) {
        router.get("/v1/files/:ref/info/attributes") { request, context in
            let attributes = try await store.attributes(of: try ref(context), in: try await view(request))
            return try JSONResponse.make(attributes.value, etag: attributes.etag)
        }
        router.patch("/v1/files/:ref/info/attributes") { request, context in
            let change = try await JSONResponse.decode(SetAttributesRequest.self, from: request)
            let attributes = try await store.setAttributes(of: try ref(context), change, ifMatch: ifMatch(request))
            try await holdWriteAnswer()
            return try JSONResponse.make(attributes.value, etag: attributes.etag)
        }
        router.get("/v1/files/:ref/entries/") { request, context in
            var listing = try await store.list(
                try ref(context), in: try await view(request), after: try cursor(request), limit: try pageLimit(request),
                pattern: request.uri.queryParameters.get("smb-pattern").map { String($0) })
            listing.page.paging = Paging(next: nextPage(of: request, after: listing.resumeAfter), end: .emptyString)
            return try JSONResponse.make(listing.page)
        }
        router.post("/v1/files/:ref/entries/") { request, context in
            let body = try await JSONResponse.decode(CreateEntryRequest.self, from: request)
            let parent = try ref(context)
            let created: Tagged<FileAttributes>
            if body.action == .rename {
                guard let source = body.oldPath, source.hasPrefix("/") else {
                    throw SandboxError.invalidRequest("RENAME needs old_path, the absolute path of the source")
                }
                created = try await store.rename(source: source, to: parent, name: body.name, clobber: body.clobber ?? false)
            } else {
                // Objects made through the API belong to the user who made them; the sandbox has one, admin.
                created = try await store.create(
                    in: parent, body, owner: Int64(AuthID.admin), group: Int64(AuthID.usersGroup))
            }
            return try JSONResponse.make(created.value, etag: created.etag)
        }
        router.delete("/v1/files/:ref/entries/:name") { _, context in
            try await store.unlink(try segment(context, "name"), from: try ref(context))
            return JSONResponse.empty()
        }
        router.delete("/v1/files/:ref") { _, context in
            try await store.delete(try ref(context))
            return JSONResponse.empty()
        }
        router.get("/v1/files/:ref/info/acl") { request, context in
            let result = try await store.acl(of: try ref(context), in: try await view(request))
            return try JSONResponse.make(Store.v1(result.acl, generated: result.generated))
        }
        router.get("/v2/files/:ref/info/acl") { request, context in
            try JSONResponse.make(try await store.acl(of: try ref(context), in: try await view(request)).acl)
        }
        router.put("/v2/files/:ref/info/acl") { request, context in
            let acl = try await JSONResponse.decode(ACL.self, from: request)
            return try JSONResponse.make(try await store.setACL(of: try ref(context), acl, ifMatch: ifMatch(request)))
        }
        router.post("/v1/files/resolve") { request, _ in
            let ids = try await JSONResponse.decode([String].self, from: request)
            return try JSONResponse.make(try await store.resolve(ids: ids, in: try await view(request)))
        }
    }
}
