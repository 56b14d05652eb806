import Foundation

/// A folder of files written for one test, removed when the value goes away.
final class TempTree {
    let root: String

    init(_ files: [String: String]) throws {
        let base = FileManager.default.temporaryDirectory.path + "/strata-test-" + UUID().uuidString
        root = base
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try write(files)
    }

    func write(_ files: [String: String]) throws {
        for (path, contents) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try Data(contents.utf8).write(to: URL(fileURLWithPath: full))
        }
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }
}
