import Hummingbird
import QumuloAPI

extension SandboxRoutes {
    func registerSession(on router: Router<BasicRequestContext>) {
        router.post("/v1/session/login") { request, _ in
            let login = try await JSONResponse.decode(LoginRequest.self, from: request)
            // Compare the whole strings in constant time for their length, so timing reveals little.
            let given = Array(login.password.utf8)
            let expected = Array(password.utf8)
            let same = given.count == expected.count && zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
            guard login.username == "admin", same else {
                throw SandboxError(status: .unauthorized, errorClass: ErrorClass.loginFailed,
                                   message: "Invalid username or password", module: "auth")
            }
            return try JSONResponse.make(LoginResponse(bearerToken: try await store.createSession()))
        }
        router.get("/v1/session/who-am-i") { _, _ in
            try JSONResponse.make(WhoAmI(
                id: String(AuthID.admin), name: "admin", primaryGroup: String(AuthID.adminsGroup),
                sid: "S-1-5-21-2179122442-2931476911-2932380766-500", uid: "", homeDirectory: nil,
                canChangePassword: true, privileges: ["PRIVILEGE_FILE_FULL_ACCESS", "PRIVILEGE_SNAPSHOT_READ",
                                                      "PRIVILEGE_SNAPSHOT_WRITE", "PRIVILEGE_FS_SETTINGS_READ"]))
        }
        router.get("/v1/session/roles") { _, _ in
            try JSONResponse.make(["Administrators"])
        }
        router.get("/v1/version") { _, _ in
            try JSONResponse.make(VersionInfo(
                revisionID: "Qumulo Core 7.10.2 (qfuse-sandbox)", buildID: "qfuse-sandbox", flavor: "sandbox",
                buildDate: "2026-11-30T00:00:00Z"))
        }
        router.get("/v1/file-system") { _, _ in
            try JSONResponse.make(try await store.fileSystemStats())
        }
    }
}
