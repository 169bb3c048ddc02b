import Hummingbird
import QumuloAPI

extension SandboxRoutes {
    func registerSession(on router: Router<SandboxRequestContext>) {
        router.post("/v1/session/login") { request, context in
            let login = try await JSONResponse.decode(LoginRequest.self, from: request)
            try credentials.verify(user: login.username, password: login.password, from: context.clientAddress)
            return try JSONResponse.make(LoginResponse(bearerToken: try await store.createSession()))
        }
        // GUESSED: a change ends every session, the caller's too, and lasts until the sandbox restarts with the
        // password it is configured with (which ends them again).
        router.post("/v1/session/change-password") { request, context in
            let change = try await JSONResponse.decode(ChangePasswordRequest.self, from: request)
            try credentials.verify(user: "admin", password: change.oldPassword, from: context.clientAddress)
            guard !change.newPassword.isEmpty else { throw SandboxError.invalidRequest("new_password is empty") }
            credentials.change(to: change.newPassword)
            try await store.changePassword(to: change.newPassword)
            return JSONResponse.empty()
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
