import { Readable } from "node:stream";
import type Dockerode from "dockerode";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { debianPackageKey, licenseFromCopyright, parseDpkgStatus, readImageDebianPackages } from "./dpkg";

// An excerpt of a bookworm /var/lib/dpkg/status, fields as dpkg writes them (order, Conffiles, Description).
const STATUS = `Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12987
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: i386
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Depends: libgcc-s1
Conffiles:
 /etc/ld.so.conf.d/i386-linux-gnu.conf 0b5e3f7f6a4a1e1f2d9d6c3b8a7e4f10
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
Homepage: https://www.gnu.org/software/libc/libc.html

Package: bash
Essential: yes
Status: install ok installed
Priority: required
Section: shells
Installed-Size: 7163
Maintainer: Matthias Klose <doko@debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 5.2.15-2+b2
Replaces: bash-completion (<< 20060301-0), bash-doc (<= 2.05-1)
Depends: base-files (>= 2.1.12), debianutils (>= 5.6-0.1)
Pre-Depends: libc6 (>= 2.36), libtinfo6 (>= 6)
Recommends: bash-completion (>= 20060301-0)
Conffiles:
 /etc/bash.bashrc 89269e1298235f1b12b4c16e4065ad0d
 /etc/skel/.bash_logout 22bfb8c1dd94b5f3813a2b25da67463f
Description: GNU Bourne Again SHell
 Bash is an sh-compatible command language interpreter that executes
 commands read from the standard input or from a file.
 .
 Homepage: this line is part of the description, not a field
Homepage: http://tiswww.case.edu/php/chet/bash/bashtop.html
Source: bash (5.2.15-2)

Package: libgcc-s1
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 140
Maintainer: Debian GCC Maintainers <debian-gcc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
Provides: libgcc1 (= 1:12.2.0-14)
Depends: gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)
Description: GCC support library
 Shared version of the GCC support library, a library of internal
 subroutines that is used by GCC to ensure compatibility.

Package: vim-tiny
Status: deinstall ok config-files
Priority: important
Section: editors
Installed-Size: 1718
Maintainer: Debian Vim Maintainers <team+vim@tracker.debian.org>
Architecture: amd64
Source: vim
Version: 2:9.0.1378-2
Config-Version: 2:9.0.1378-2
Conffiles:
 /etc/vim/vimrc.tiny 1d2d5c0c3a8d7c5e2bbd8d0f3e0c5b0e
Description: Vi IMproved - enhanced vi editor - compact version

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.
Homepage: https://www.gnu.org/software/libc/libc.html

Package: hello
Status: hold ok installed
Architecture: amd64
Version: 2.10-3
Description: example package based on GNU hello
`;

const DEP5_HEADER = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: bash
Source: https://ftp.gnu.org/gnu/bash/
`;

describe("parseDpkgStatus", () => {
  const packages = parseDpkgStatus(STATUS);

  it("keeps installed packages only, sorted by name then architecture", () => {
    expect(packages.map((p) => `${p.name}:${p.architecture}`)).toEqual([
      "bash:amd64",
      "hello:amd64",
      "libc6:amd64",
      "libc6:i386",
      "libgcc-s1:amd64",
    ]);
  });

  it("reads version, source and homepage, and ignores field-like lines inside a description", () => {
    expect(packages.find((p) => p.name === "bash")).toEqual({
      name: "bash",
      version: "5.2.15-2+b2",
      architecture: "amd64",
      // A binNMU: the source has the package's name but another version, so both are kept.
      source: "bash",
      sourceVersion: "5.2.15-2",
      homepage: "http://tiswww.case.edu/php/chet/bash/bashtop.html",
    });
    expect(packages.find((p) => p.name === "libgcc-s1")).toMatchObject({ source: "gcc-12", sourceVersion: "12.2.0-14" });
    expect(packages.find((p) => p.name === "libc6" && p.architecture === "i386")).toEqual({
      name: "libc6",
      version: "2.36-9+deb12u4",
      architecture: "i386",
      source: "glibc",
      homepage: "https://www.gnu.org/software/libc/libc.html",
    });
    expect(packages.find((p) => p.name === "hello")).toEqual({ name: "hello", version: "2.10-3", architecture: "amd64" });
  });

  it("omits a source that only repeats the package name, and reads CRLF files", () => {
    const [pkg] = parseDpkgStatus("Package: zlib1g\r\nStatus: install ok installed\r\nArchitecture: amd64\r\nSource: zlib1g\r\nVersion: 1:1.2.13\r\n");
    expect(pkg).toEqual({ name: "zlib1g", version: "1:1.2.13", architecture: "amd64" });
  });

  it("gives nothing for an empty database", () => {
    expect(parseDpkgStatus("")).toEqual([]);
  });
});

describe("licenseFromCopyright", () => {
  it("takes the License short name of the Files: * paragraph", () => {
    const text = `${DEP5_HEADER}
Files: *
Copyright: 1987-2022 Free Software Foundation, Inc.
License: GPL-3+
 This program is free software; you can redistribute it and/or modify
 it under the terms of the GNU General Public License as published by
 the Free Software Foundation; either version 3 of the License, or
 (at your option) any later version.

Files: lib/readline/*
Copyright: 1987-2022 Free Software Foundation, Inc.
License: GPL-2+

License: GPL-2+
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in '/usr/share/common-licenses/GPL-2'.
`;
    expect(licenseFromCopyright(text)).toBe("GPL-3+");
  });

  it("joins the distinct licences of the Files paragraphs when there is no Files: *", () => {
    const text = `${DEP5_HEADER}
Files: src/*
Copyright: 2001 Someone
License: LGPL-2.1+

Files: compat/* tools/*
Copyright: 1990 The Regents of the University of California
License: BSD-3-clause

Files: perl/*
Copyright: 2010 Someone Else
License: Artistic or GPL-1+

Files: debian/*
Copyright: 2020 A Maintainer
License: LGPL-2.1+
`;
    expect(licenseFromCopyright(text)).toBe("LGPL-2.1+ AND BSD-3-clause AND (Artistic or GPL-1+)");
  });

  it("accepts the http form of the Format URL", () => {
    const text = "Format: http://www.debian.org/doc/packaging-manuals/copyright-format/1.0\n\nFiles: *\nCopyright: x\nLicense: Expat\n";
    expect(licenseFromCopyright(text)).toBe("Expat");
  });

  it("gives undefined for a free-text copyright file", () => {
    const text = `This is the Debian GNU/Linux prepackaged version of the GNU hello program.
It was downloaded from https://ftp.gnu.org/gnu/hello/

License: GPL-3+

Copyright (C) 1992-2022 Free Software Foundation, Inc.
`;
    expect(licenseFromCopyright(text)).toBeUndefined();
  });
});

/** A dockerode stand-in with the calls readImageDebianPackages may make; anything else fails the test. */
function fakeDocker(archives: Record<string, Array<{ name: string; type?: "file" | "directory" | "symlink"; content?: string; linkname?: string }> | Error>) {
  const calls: { created?: Record<string, unknown>; removed: boolean; archivePaths: string[] } = { removed: false, archivePaths: [] };
  const container = {
    id: "c0ffee",
    async getArchive({ path }: { path: string }) {
      calls.archivePaths.push(path);
      const archive = archives[path];
      if (!archive) throw Object.assign(new Error("Could not find the file"), { statusCode: 404 });
      if (archive instanceof Error) throw archive;
      const pack = tar.pack();
      for (const e of archive) {
        const type = e.type ?? "file";
        if (type === "file") pack.entry({ name: e.name, type }, e.content ?? "");
        else pack.entry({ name: e.name, type, linkname: e.linkname });
      }
      pack.finalize();
      return Readable.from(pack as AsyncIterable<Uint8Array>);
    },
    async remove(opts: { force?: boolean }) {
      expect(opts.force).toBe(true);
      calls.removed = true;
    },
  };
  const docker = {
    async createContainer(spec: Record<string, unknown>) {
      calls.created = spec;
      return container;
    },
  };
  return { docker: docker as unknown as Dockerode, calls };
}

const dep5 = (license: string) => `${DEP5_HEADER}\nFiles: *\nCopyright: someone\nLicense: ${license}\n`;

describe("readImageDebianPackages", () => {
  it("reads packages and their licences from a created, never started container, then removes it", async () => {
    const longLicence = `${DEP5_HEADER}\nFiles: *\nCopyright: someone\nLicense: GPL-2+\n${" x\n".repeat(200_000)}`;
    const { docker, calls } = fakeDocker({
      "/var/lib/dpkg/status": [{ name: "status", content: STATUS }],
      "/usr/share/doc": [
        { name: "doc/", type: "directory" },
        { name: "doc/libc6/", type: "directory" },
        { name: "doc/libc6/copyright", content: dep5("LGPL-2.1+") },
        { name: "doc/libc6/changelog.Debian.gz", content: "not read" },
        { name: "doc/bash/", type: "directory" },
        { name: "doc/bash/copyright", content: longLicence },
        // Packages built from one source often point their doc directory at a sibling's.
        { name: "doc/libgcc-s1", type: "symlink", linkname: "gcc-12-base" },
        { name: "doc/gcc-12-base/", type: "directory" },
        { name: "doc/gcc-12-base/copyright", content: dep5("GPL-3+ with GCC exception") },
        { name: "doc/hello/", type: "directory" },
        { name: "doc/hello/copyright", content: "Free text, not DEP-5.\n" },
      ],
    });
    const packages = await readImageDebianPackages(docker, "sha256:image");
    expect(calls.created).toMatchObject({ Image: "sha256:image", Cmd: ["/bin/true"], Labels: { "strata.purpose": "dpkg-read" } });
    expect(calls.removed).toBe(true);
    expect(packages.map((p) => [p.name, p.architecture, p.license])).toEqual([
      ["bash", "amd64", "GPL-2+"],
      ["hello", "amd64", undefined],
      ["libc6", "amd64", "LGPL-2.1+"],
      ["libc6", "i386", "LGPL-2.1+"],
      ["libgcc-s1", "amd64", "GPL-3+ with GCC exception"],
    ]);
  });

  it("takes known licences as they are and reads only the unknown packages' copyright files, one by one", async () => {
    const { docker, calls } = fakeDocker({
      "/var/lib/dpkg/status": [{ name: "status", content: STATUS }],
      "/usr/share/doc/hello/copyright": [{ name: "copyright", content: dep5("GPL-3+") }],
    });
    const asked: string[][] = [];
    const packages = await readImageDebianPackages(docker, "sha256:image", {
      knownLicenses: async (pkgs) => {
        asked.push(pkgs.map(debianPackageKey));
        // Everything but hello is known; bash is known to have no machine-readable licence.
        return new Map(pkgs.filter((p) => p.name !== "hello").map((p) => [debianPackageKey(p), p.name === "bash" ? null : "KNOWN"]));
      },
    });
    expect(asked[0]).toHaveLength(5);
    expect(calls.archivePaths).toEqual(["/var/lib/dpkg/status", "/usr/share/doc/hello/copyright"]);
    expect(packages.map((p) => [p.name, p.license])).toEqual([
      ["bash", undefined],
      ["hello", "GPL-3+"],
      ["libc6", "KNOWN"],
      ["libc6", "KNOWN"],
      ["libgcc-s1", "KNOWN"],
    ]);
    expect(calls.removed).toBe(true);
  });

  it("gives [] for an image without a dpkg database and does not look for docs", async () => {
    const { docker, calls } = fakeDocker({});
    await expect(readImageDebianPackages(docker, "sha256:scratch")).resolves.toEqual([]);
    expect(calls.archivePaths).toEqual(["/var/lib/dpkg/status"]);
    expect(calls.removed).toBe(true);
  });

  it("gives packages without licences when /usr/share/doc is missing", async () => {
    const { docker } = fakeDocker({ "/var/lib/dpkg/status": [{ name: "status", content: STATUS }] });
    const packages = await readImageDebianPackages(docker, "sha256:nodoc");
    expect(packages).toHaveLength(5);
    expect(packages.some((p) => p.license)).toBe(false);
  });

  it("removes the container when the engine fails", async () => {
    const { docker, calls } = fakeDocker({
      "/var/lib/dpkg/status": Object.assign(new Error("server error"), { statusCode: 500 }),
    });
    await expect(readImageDebianPackages(docker, "sha256:broken")).rejects.toThrow(/get archive .*server error/);
    expect(calls.removed).toBe(true);
  });
});
