/// The differential corpus: small build contexts covering every way a Dockerfile reads its
/// context (COPY and ADD forms, globs, `.dockerignore` with re-includes, symlinks, modes,
/// multi-stage targets, ARG and ENV in sources, bind mounts). Each is built by strata and by
/// `docker build --no-cache`; the images' files must be the same.
struct CorpusCase: Sendable, CustomStringConvertible {
    var name: String
    var dockerfile: String
    /// Relative path → text.
    var files: [String: String] = [:]
    /// Shell run in the context folder after the files are written (symlinks, modes, tars).
    var setup: String = ""
    var target: String?
    var args: [String: String] = [:]
    /// A corpus case this one is built `FROM` (`ARG PARENT=<case>` then `FROM ${PARENT}`):
    /// strata links the fleet image; `docker build` gets `--build-arg PARENT=<its docker tag>`.
    var parent: String?
    /// Over a tar body strata refuses this build (the Dockerfile it must carry in the context
    /// would be copied into the image) instead of building an image `docker build` would not.
    var refusedOverTar = false

    var description: String { name }
}

enum Corpus {
    static let base = "FROM strata-busybox:1\n"

    static let cases: [CorpusCase] = [
        CorpusCase(name: "copy-file", dockerfile: base + "COPY a.txt /d/\n", files: ["a.txt": "a\n", "b.txt": "b\n"]),
        CorpusCase(name: "copy-file-renamed", dockerfile: base + "COPY a.txt /d/renamed.txt\n", files: ["a.txt": "a\n"]),
        CorpusCase(name: "copy-dir", dockerfile: base + "COPY src /d/\n",
                   files: ["src/a.py": "a\n", "src/sub/b.py": "b\n", "other.txt": "o\n"]),
        CorpusCase(name: "copy-dir-slash", dockerfile: base + "COPY src/ /d/\n", files: ["src/a.py": "a\n", "src/sub/b.py": "b\n"]),
        CorpusCase(name: "copy-subdir", dockerfile: base + "COPY src/sub /d/sub\n",
                   files: ["src/a.py": "a\n", "src/sub/b.py": "b\n", "src/sub/c/d.py": "d\n"]),
        CorpusCase(name: "copy-glob-root", dockerfile: base + "COPY *.txt /d/\n",
                   files: ["a.txt": "a\n", "b.txt": "b\n", "c.md": "c\n", "sub/d.txt": "d\n"]),
        CorpusCase(name: "copy-glob-subdir", dockerfile: base + "COPY conf/*.conf /etc/app/\n",
                   files: ["conf/a.conf": "a\n", "conf/b.conf": "b\n", "conf/c.ini": "c\n", "d.conf": "d\n"]),
        CorpusCase(name: "copy-glob-class", dockerfile: base + "COPY [ab].md /d/\n",
                   files: ["a.md": "a\n", "b.md": "b\n", "c.md": "c\n"]),
        CorpusCase(name: "copy-glob-question", dockerfile: base + "COPY file?.log /d/\n",
                   files: ["file1.log": "1\n", "file2.log": "2\n", "file10.log": "10\n"]),
        CorpusCase(name: "copy-glob-directories", dockerfile: base + "COPY pkg/*/ /d/\n",
                   files: ["pkg/a/x.py": "x\n", "pkg/b/y.py": "y\n", "pkg/top.py": "t\n"]),
        CorpusCase(name: "copy-glob-in-dir-name", dockerfile: base + "COPY svc-*/main.py /d/\n",
                   files: ["svc-a/main.py": "a\n", "svc-b/main.py": "b\n", "svc-b/other.py": "o\n"]),
        CorpusCase(name: "copy-several", dockerfile: base + "COPY a.txt b.txt conf /d/\n",
                   files: ["a.txt": "a\n", "b.txt": "b\n", "conf/x.conf": "x\n", "c.txt": "c\n"]),
        CorpusCase(name: "copy-json-form-space", dockerfile: base + "COPY [\"with space.txt\", \"/d/\"]\n",
                   files: ["with space.txt": "s\n", "other.txt": "o\n"]),
        CorpusCase(name: "copy-unicode-name", dockerfile: base + "COPY ü.txt /d/\n", files: ["ü.txt": "u\n", "u.txt": "x\n"]),
        CorpusCase(name: "copy-dot", dockerfile: base + "COPY . /app/\n",
                   files: ["a.txt": "a\n", ".hidden": "h\n", "src/m.py": "m\n"]),
        CorpusCase(name: "workdir-relative", dockerfile: base + "WORKDIR /w\nCOPY a.txt .\nCOPY src ./src\n",
                   files: ["a.txt": "a\n", "src/m.py": "m\n"]),
        CorpusCase(name: "ignore-glob", dockerfile: base + "COPY . /app/\n",
                   files: [".dockerignore": "*.tmp\n", "a.txt": "a\n", "b.tmp": "b\n", "sub/c.tmp": "c\n"]),
        CorpusCase(name: "ignore-reinclude", dockerfile: base + "COPY . /app/\n",
                   files: [".dockerignore": "*.md\n!README.md\n", "README.md": "r\n", "NOTES.md": "n\n", "a.txt": "a\n"]),
        CorpusCase(name: "ignore-dir-reinclude", dockerfile: base + "COPY . /app/\n",
                   files: [".dockerignore": "docs\n!docs/keep.txt\n", "docs/keep.txt": "k\n", "docs/drop.txt": "d\n", "a.txt": "a\n"]),
        CorpusCase(name: "ignore-doublestar", dockerfile: base + "COPY . /app/\n",
                   files: [".dockerignore": "**/*.log\n", "a.log": "a\n", "x/y/b.log": "b\n", "x/y/c.txt": "c\n"]),
        CorpusCase(name: "ignore-reinclude-deep", dockerfile: base + "COPY src /app/src\n",
                   files: [".dockerignore": "src\n!src/keep/**\n", "src/drop.py": "d\n", "src/keep/a/b.py": "b\n"]),
        CorpusCase(name: "ignore-with-glob-copy", dockerfile: base + "COPY *.txt /d/\n",
                   files: [".dockerignore": "b.txt\n", "a.txt": "a\n", "b.txt": "b\n"]),
        CorpusCase(name: "ignore-dockerfile-itself", dockerfile: base + "COPY . /app/\n",
                   files: [".dockerignore": "Dockerfile\n.dockerignore\n", "a.txt": "a\n"], refusedOverTar: true),
        CorpusCase(name: "mode-executable", dockerfile: base + "COPY run.sh /usr/local/bin/\n",
                   files: ["run.sh": "#!/bin/sh\necho hi\n"], setup: "chmod 755 run.sh"),
        CorpusCase(name: "mode-private-and-readonly", dockerfile: base + "COPY . /app/\n",
                   files: ["secret.txt": "s\n", "ro.txt": "r\n", "dir/x": "x\n"],
                   setup: "chmod 600 secret.txt; chmod 444 ro.txt; chmod 700 dir"),
        CorpusCase(name: "copy-chown", dockerfile: base + "COPY --chown=1000:1000 a.txt src /home/app/\n",
                   files: ["a.txt": "a\n", "src/b.txt": "b\n"]),
        CorpusCase(name: "symlink-file-source", dockerfile: base + "COPY link.txt /d/\n",
                   files: ["a.txt": "a\n"], setup: "ln -s a.txt link.txt"),
        CorpusCase(name: "symlink-inside-copied-dir", dockerfile: base + "COPY src /d/\n",
                   files: ["src/a.txt": "a\n"], setup: "ln -s a.txt src/link; ln -s ../outside src/dangling"),
        CorpusCase(name: "symlink-dir-source", dockerfile: base + "COPY current /d/\n",
                   files: ["releases/v1/a.txt": "1\n", "releases/v2/a.txt": "2\n"], setup: "ln -s releases/v2 current"),
        CorpusCase(name: "empty-directory", dockerfile: base + "COPY src /d/\n", files: ["src/a.txt": "a\n"],
                   setup: "mkdir -p src/empty/deeper"),
        CorpusCase(name: "binary-file", dockerfile: base + "COPY blob.bin /d/\n", files: [:],
                   setup: "head -c 300000 /dev/urandom > blob.bin"),
        CorpusCase(name: "add-file", dockerfile: base + "ADD a.txt /d/\n", files: ["a.txt": "a\n"]),
        CorpusCase(name: "add-local-tar", dockerfile: base + "ADD bundle.tar /d/\n", files: ["in/x.txt": "x\n", "in/y/z.txt": "z\n"],
                   setup: "tar -cf bundle.tar in && rm -r in"),
        CorpusCase(name: "arg-in-source", dockerfile: base + "ARG FILE=a.txt\nCOPY ${FILE} /d/\n",
                   files: ["a.txt": "a\n", "b.txt": "b\n"]),
        CorpusCase(name: "arg-value-from-manifest", dockerfile: base + "ARG FILE=a.txt\nCOPY ${FILE} /d/\n",
                   files: ["a.txt": "a\n", "b.txt": "b\n"], args: ["FILE": "b.txt"]),
        CorpusCase(name: "env-in-source", dockerfile: base + "ENV DIR=conf\nCOPY ${DIR}/x.conf /d/\n",
                   files: ["conf/x.conf": "x\n", "conf/y.conf": "y\n"]),
        CorpusCase(name: "env-from-earlier-stage", dockerfile: base.replacingOccurrences(of: "\n", with: " AS env\n")
                   + "ENV SRC=conf\nFROM env\nCOPY ${SRC} /d/\n",
                   files: ["conf/x.conf": "x\n", "other/y": "y\n"]),
        CorpusCase(name: "multistage-target", dockerfile: base.replacingOccurrences(of: "\n", with: " AS build\n")
                   + "COPY a.txt /a\n" + base.replacingOccurrences(of: "\n", with: " AS final\n") + "COPY b.txt /b\n",
                   files: ["a.txt": "a\n", "b.txt": "b\n"], target: "build"),
        CorpusCase(name: "multistage-copy-from", dockerfile: base.replacingOccurrences(of: "\n", with: " AS stage\n")
                   + "COPY src /src\nRUN cat /src/*.txt > /joined\n" + base + "COPY --from=stage /joined /src/a.txt /out/\n",
                   files: ["src/a.txt": "a\n", "src/b.txt": "b\n"]),
        CorpusCase(name: "multistage-copy-from-glob", dockerfile: base.replacingOccurrences(of: "\n", with: " AS stage\n")
                   + "COPY *.txt /x/\n" + base + "COPY --from=stage /x/*.txt /d/\n",
                   files: ["a.txt": "a\n", "b.txt": "b\n", "c.md": "c\n"]),
        CorpusCase(name: "run-bind-mount", dockerfile: base + "RUN --mount=type=bind,source=data,target=/m cp -r /m /copied\n",
                   files: ["data/a.txt": "a\n", "data/sub/b.txt": "b\n", "other.txt": "o\n"]),
        CorpusCase(name: "onbuild-parent", dockerfile: base + "ONBUILD COPY trigger.txt /t/\nCOPY a.txt /p/\n",
                   files: ["a.txt": "p\n", "trigger.txt": "not this one\n"]),
        CorpusCase(name: "onbuild-child", dockerfile: "ARG PARENT=onbuild-parent\nFROM ${PARENT}\nCOPY a.txt /d/\n",
                   files: ["a.txt": "a\n", "trigger.txt": "t\n", "other.txt": "o\n"], parent: "onbuild-parent",
                   refusedOverTar: true),
        CorpusCase(name: "fleet-parent-copy-file", dockerfile: "ARG PARENT=copy-file\nFROM ${PARENT}\nCOPY b.txt /e/\n",
                   files: ["b.txt": "b\n"], parent: "copy-file"),
        CorpusCase(name: "run-writes-files", dockerfile: base + "COPY a.txt /a.txt\nRUN mkdir /out && cp /a.txt /out/ && chmod 640 /out/a.txt\n",
                   files: ["a.txt": "a\n"]),
    ]
}
