// What the custom-layer editor completes: the fields of a package definition, and catalog entries as starting
// definitions in an empty editor. The catalog tab's forms stay the checked way to add those layers; these are the
// same definitions in YAML, to change what a form cannot (the server checks the result like any custom layer).
import type { YamlCompletion } from "../yaml-editor";

export const PACKAGE_KEYS: NonNullable<YamlCompletion["keys"]> = [
  { label: "category", detail: "required", info: "The first half of the package id, e.g. layer in layer/htop." },
  { label: "name", detail: "required", info: "a-z, 0-9 and '-'; the second half of the package id." },
  { label: "version", detail: "required", info: "Text, e.g. \"1\"; change it to rebuild the layer." },
  { label: "description", info: "One line on what the layer adds." },
  { label: "requires", info: "Base packages or earlier layers this layer builds on, e.g. [system/base]." },
  { label: "steps", info: "Shell commands run as root, in order." },
  { label: "files", info: "Overlay files: - { path: /etc/motd, mode: \"0644\", content: \"…\" }" },
  { label: "includes", info: "RE2 patterns: only matching paths are kept." },
  { label: "excludes", info: "RE2 patterns on the paths the layer adds, e.g. ^/var/cache/." },
];

const APT = `category: layer
name: apt-packages
version: "1"
description: "Extra Debian packages: htop"
requires: [system/base]
steps:
  - apt-get update
  - DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends htop
  - apt-get clean
  - rm -rf /var/lib/apt/lists/*
excludes:
  - ^/var/cache/apt/
  - ^/var/lib/apt/lists/
  - ^/var/log/
`;

const UNITS = `category: layer
name: units
version: "1"
description: "Enabled systemd units: fstrim.timer"
requires: [system/systemd]
steps:
  - systemctl enable fstrim.timer
`;

const USER = `category: layer
name: users
version: "1"
description: "Users: kiosk"
requires: [system/base]
steps:
  - id -u kiosk >/dev/null 2>&1 || useradd -m -s /bin/bash -p '*' kiosk
  - cp -a /etc/skel/. /home/kiosk/
  - chown -R kiosk:kiosk /home/kiosk
`;

/** Catalog entries whose layer reads well as YAML; the others (hostname, kernel line, agent) write files a form fills in. */
const TEMPLATES: Record<string, string> = { "debian-packages": APT, "systemd-units": UNITS, users: USER };

export function catalogTemplates(entries: Array<{ id: string; title: string; description: string }>): NonNullable<YamlCompletion["templates"]> {
  return entries.filter((e) => TEMPLATES[e.id]).map((e) => ({ label: e.title, detail: "catalog", info: e.description, yaml: TEMPLATES[e.id] }));
}
