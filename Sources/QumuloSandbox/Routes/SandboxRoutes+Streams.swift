import Hummingbird
import QumuloAPI

extension SandboxRoutes {
    func registerStreams(on router: Router<SandboxRequestContext>) {
        router.get("/v1/files/:ref/streams/") { request, context in
            try JSONResponse.make(try await store.streams(of: try ref(context), in: try await view(request)))
        }
        router.post("/v1/files/:ref/streams/") { request, context in
            let body = try await JSONResponse.decode(StreamNameRequest.self, from: request)
            let created = try await store.createStream(on: try ref(context), name: body.streamName, ifMatch: ifMatch(request))
            return try JSONResponse.make(created.value, etag: created.etag)
        }
        router.delete("/v1/files/:ref/streams/:sid") { request, context in
            try await store.removeStream(on: try ref(context), sid: try namedStream(context), ifMatch: ifMatch(request))
            return JSONResponse.empty()
        }
        router.post("/v1/files/:ref/streams/:sid/rename") { request, context in
            let body = try await JSONResponse.decode(StreamNameRequest.self, from: request)
            let renamed = try await store.renameStream(
                on: try ref(context), sid: try namedStream(context), to: body.streamName, ifMatch: ifMatch(request))
            return try JSONResponse.make(renamed.value, etag: renamed.etag)
        }
        router.get("/v1/files/:ref/streams/:sid/attributes") { request, context in
            try JSONResponse.make(
                try await store.stream(of: try ref(context), sid: try namedStream(context), in: try await view(request)))
        }
        router.patch("/v1/files/:ref/streams/:sid/attributes") { request, context in
            let change = try await JSONResponse.decode(SetAttributesRequest.self, from: request)
            guard let size = change.size, change == SetAttributesRequest(size: size) else {
                throw SandboxError.invalidRequest("a named stream has only a size to set")
            }
            guard let size = Int64(exactly: size) else { throw SandboxError.invalidSize(size) }
            let stream = try await store.setStreamSize(
                on: try ref(context), sid: try namedStream(context), size: size, ifMatch: ifMatch(request))
            return try JSONResponse.make(stream.value, etag: stream.etag)
        }
    }
}
